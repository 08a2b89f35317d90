from django.urls import path

from .views import consent, outreach, public

app_name = "compliance"

urlpatterns = [
    path("security/", public.security_page, name="security"),
    path("privacy/", public.privacy_page, name="privacy"),
    path("subprocessors/", public.sub_processors, name="sub-processors"),
    path(".well-known/security.txt", public.security_txt, name="security-txt"),
    path("campaigns/", outreach.campaign_list, name="campaign-list"),
    path("campaigns/new/", outreach.campaign_create, name="campaign-create"),
    path("campaigns/<int:pk>/", outreach.campaign_detail, name="campaign-detail"),
    path(
        "campaigns/<int:pk>/recipients/",
        outreach.campaign_recipients,
        name="campaign-recipients",
    ),
    path("campaigns/<int:pk>/start/", outreach.campaign_start, name="campaign-start"),
    path(
        "campaigns/<int:pk>/progress/",
        outreach.campaign_progress,
        name="campaign-progress",
    ),
    path("unsubscribe/<str:token>/", outreach.unsubscribe, name="unsubscribe"),
    path(
        "consent/<str:kind>/<int:pk>/grant/",
        consent.record_grant,
        name="consent-grant",
    ),
]
