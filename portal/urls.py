from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("rules/<int:system_id>/", views.processing_rules, name="processing_rules"),
    path("me/", views.dashboard, name="dashboard"),
]
