from django.urls import path

from assist import views

app_name = "assist"

SUBJECT = "<str:plural>/<int:pk>"

urlpatterns = [
    path(f"{SUBJECT}/", views.panel, name="panel"),
    path(f"{SUBJECT}/ask/", views.ask, name="ask"),
    path(f"{SUBJECT}/email-draft/", views.email_draft, name="email-draft"),
    path(f"{SUBJECT}/save/", views.save, name="save"),
]
