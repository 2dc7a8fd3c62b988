from django.urls import path

from . import views
from .auth import sign_in_again

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("rules/<int:system_id>/", views.processing_rules, name="processing_rules"),
    path("rules/children/", views.children_rules, name="children_rules"),
    path("contact/", views.contact, name="contact"),
    path("privacy/", views.privacy, name="privacy"),
    path("lookup/", views.lookup, name="lookup"),
    path("complaint/", views.complaint, name="complaint"),
    path("verify/", views.verify, name="verify"),
    path("verify/keys.json", views.verify_keys, name="verify_keys"),
    path("me/", views.dashboard, name="dashboard"),
    path("me/link/", views.link, name="link"),
    path("me/sign-in-again/", sign_in_again, name="sign_in_again"),
    path("me/link/identity-check/", views.identity_check, name="identity_check"),
    path("me/consents/", views.consent_history, name="consent_history"),
    path("me/notices/", views.my_notices, name="my_notices"),
    path("notices/", views.announcements, name="announcements"),
    path("notices/<str:reference>/", views.notice_page, name="notice"),
    path("me/consents/withdraw-all/", views.consents_withdraw_all, name="consents_withdraw_all"),
    path("me/close/", views.account_close_view, name="account_close"),
    path("me/deceased/", views.deceased_claims, name="deceased_claims"),
    path("deceased/<uuid:deceased_uuid>/requests/new/", views.deceased_request, name="deceased_request"),
    path("me/requests/", views.requests_list, name="requests"),
    path("me/requests/new/", views.request_new, name="request_new"),
    path("me/requests/<str:reference>/", views.request_detail, name="request_detail"),
    path("me/copy/", views.copy_request, name="copy_request"),
    path("me/copy/<int:export_id>/", views.copy_status, name="copy_status"),
    path("me/copy/<int:export_id>/download/", views.copy_download, name="copy_download"),
    path("wards/<uuid:ward_uuid>/", views.dashboard, name="ward_dashboard"),
    path("wards/<uuid:ward_uuid>/consents/", views.consent_history, name="ward_consent_history"),
    path(
        "wards/<uuid:ward_uuid>/consents/withdraw-all/", views.consents_withdraw_all, name="ward_consents_withdraw_all"
    ),
    path("wards/<uuid:ward_uuid>/requests/", views.requests_list, name="ward_requests"),
    path("wards/<uuid:ward_uuid>/requests/new/", views.request_new, name="ward_request_new"),
    path("wards/<uuid:ward_uuid>/copy/", views.copy_request, name="ward_copy_request"),
    path(
        "wards/<uuid:ward_uuid>/systems/<int:system_id>/consent/<slug:purpose_code>/",
        views.consent_give,
        name="ward_consent_give",
    ),
    path("systems/<int:system_id>/consent/<slug:purpose_code>/", views.consent_give, name="consent_give"),
    path("consents/<int:consent_id>/notice/", views.consent_notice, name="consent_notice"),
    path("consents/<int:consent_id>/withdraw/", views.consent_withdraw_confirm, name="consent_withdraw_confirm"),
    path("consents/<int:consent_id>/withdraw/confirm/", views.consent_withdraw, name="consent_withdraw"),
    path("requests/<str:reference>/", views.deletion_status, name="deletion_status"),
    path("requests/<str:reference>/status.json", views.deletion_status_json, name="deletion_status_json"),
    path("requests/<str:reference>/certificate.pdf", views.deletion_certificate, name="deletion_certificate"),
    path("vendor/deletions/<str:token>/", views.vendor_confirm, name="vendor_confirm"),
    path("vendor/digests/<str:token>/", views.vendor_digest, name="vendor_digest"),
    path("vendor/digests/<str:token>/keys.csv", views.vendor_digest_keys, name="vendor_digest_keys"),
    path("regulator/", views.regulator_home, name="regulator_home"),
    path("regulator/filings/<str:number>/", views.regulator_filing, name="regulator_filing"),
    path("regulator/filings/<str:number>/evidence.json", views.regulator_evidence, name="regulator_evidence"),
    path("regulator/filings/<str:number>/acknowledge/", views.regulator_acknowledge, name="regulator_acknowledge"),
    path("regulator/filings/<str:number>/pack.zip", views.regulator_pack, name="regulator_pack"),
    path(
        "regulator/filings/<str:number>/attachments/<int:attachment_id>/",
        views.regulator_attachment,
        name="regulator_attachment",
    ),
    path(
        "regulator/filings/<str:number>/<slug:kind>/<slug:language>.pdf",
        views.regulator_document,
        name="regulator_document",
    ),
]
