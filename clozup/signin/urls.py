from django.urls import path

from clozup.signin import views

app_name = "signin"

urlpatterns = [
    path("mfa-required/", views.mfa_required, name="mfa-required"),
    path("sessions/", views.session_list, name="session-list"),
    path("sessions/<int:pk>/end/", views.end_session, name="session-end"),
    path("sessions/end-others/", views.end_other_sessions, name="session-end-others"),
    path("login/link/<str:code>/", views.magic_link, name="magic-link"),
    path("sso/", views.sso_start, name="sso-start"),
]
