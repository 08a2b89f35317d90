from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from clozup import views
from clozup.signin.clerk import views as clerk_views

urlpatterns = [
    path("", include("crm.urls")),
    path("assist/", include("assist.urls")),
    path("", include("compliance.urls")),
    path(
        "organizations/switch/", views.switch_organization, name="switch-organization"
    ),
    path("invitations/<str:token>/", views.accept_invitation, name="accept-invitation"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for it on pages that name no icon (the sign-in pages).
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("clozup/img/favicon.svg"), permanent=True),
    ),
    path("readyz", views.readyz, name="readyz"),
    path("clerk/webhooks/", clerk_views.webhook, name="clerk-webhook"),
    path("accounts/", include("clozup.signin.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "clozup.views.server_error"
