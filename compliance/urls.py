from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("request/<slug:slug>/", views.public_request, name="request-form"),
    path(
        "request/<slug:slug>/confirm/<str:token>/",
        views.confirm_request,
        name="request-confirm",
    ),
    path("exports/<uuid:public_id>/", views.export_download, name="export-download"),
]
