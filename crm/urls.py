from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("", views.home, name="home"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
]
