from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("rules/<int:system_id>/", views.processing_rules, name="processing_rules"),
    path("me/", views.dashboard, name="dashboard"),
    path("consents/<int:consent_id>/withdraw/", views.consent_withdraw_confirm, name="consent_withdraw_confirm"),
    path("consents/<int:consent_id>/withdraw/confirm/", views.consent_withdraw, name="consent_withdraw"),
    path("requests/<str:reference>/", views.deletion_status, name="deletion_status"),
    path("requests/<str:reference>/status.json", views.deletion_status_json, name="deletion_status_json"),
    path("requests/<str:reference>/certificate.pdf", views.deletion_certificate, name="deletion_certificate"),
    path("vendor/deletions/<str:token>/", views.vendor_confirm, name="vendor_confirm"),
]
