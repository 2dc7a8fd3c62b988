"""Who may reach what: every route, every persona, every method.

The routes come from the URL resolver (portal, admin, allauth, the API, the operator's
endpoints) and the operations from the OpenAPI document the portal serves; each one must
be classified in ROUTES (or, for the admin's model pages, by ADMIN_MODEL_VIEWS). A route
or operation that is not fails test_every_route_and_operation_is_in_the_matrix, naming it.

Each route is then requested by every persona with GET, HEAD, POST, PUT, PATCH and DELETE
(an unsafe method as if its CSRF token were valid, and, for the API, with a body the
operation accepts, so that the request gets as far as the check being tested). A persona
the route is not for must be refused (401, 403, 404, 405, 410, or sent to sign in) and no
answer may carry someone else's identifying marks: their references, keys, phone, email,
name, a filing's number, and never a token or secret. The owner's own request must
succeed and show their marks, so that the test can fail. Without a CSRF token, unsafe
requests are refused with 403 on every route that uses the session, even from its owner.

Requests are rolled back after they are answered, so each one meets the same world.
docs/reliability.md, "Ownership matrix", has the figures and the command.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from fido2.cose import ES256
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    RegistrationResponse,
)
from PIL import Image

from consent.linking import identity_check_submit
from consent.receipt_links import receipt_link_token
from consent.services import Provenance, guardianship_record, notice_current, subject_link_user
from consent.sessions import consent_session_answer, consent_session_open
from dataops.copies.services import export_build, export_request
from dataops.deletions.delivery.manual import confirmation_token, digest_token
from dataops.deletions.delivery.signing import sign_headers
from dataops.deletions.models import VendorDigest
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import propagation_confirm
from dataops.desk.models import DeskClerk
from dataops.desk.services import desk_find, desk_identity_document
from dataops.filings.documents import filing_build
from dataops.filings.services import (
    filing_agent_set,
    filing_attach,
    filing_create,
    filing_generate,
    filing_review,
    filing_submit,
)
from dataops.models import ProcessingSystem, RegulatorAccount
from dataops.registry.credentials import credential_issue
from dataops.requests.services import request_submit
from dataops.workbench.records import record_export_build, record_export_request
from tests import factories

PERSONAS = (
    "anonymous",
    "subject_1",
    "subject_2",
    "guardian",
    "dpo",
    "operator",
    "auditor",
    "regulator_31",
    "regulator_44",
    "desk_1",  # a front-desk clerk of the world's company
    "device_other",  # the device token of another system, sent as a bearer token
)
# Personas that only ever act as the owner of their own routes.
OWNER_ONLY = ("device_x", "push_signer", "metrics_scraper", "superuser")
STAFF = ("dpo", "operator", "auditor", "superuser")
SIGNED_IN = (
    "subject_1",
    "subject_2",
    "guardian",
    "dpo",
    "operator",
    "auditor",
    "regulator_31",
    "regulator_44",
    "desk_1",
)
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
REFUSED = {401, 403, 404, 405, 410}


# --- The matrix -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """How a route is reached and who it is for.

    kind:
      public         anyone; no one else's marks in the answer
      self           anyone signed in, about themselves; the others are sent to sign in
      account        allauth's signing-in flow: public (its account pages are "self")
      owner          only `owners`; every other persona is refused
      regulators     any regulator, each about its own province
      token-link     whoever holds the signed link (the link is the credential)
      staff          the admin, for staff holding `perm` (any staff when it is empty)
      api-system     a device token of the system in the path
      api-token      any device token, each about its own system
      api-signed     a request signed with the push system's webhook secret
    """

    kind: str
    url: Callable | str
    owners: tuple[str, ...] = ()
    perm: Callable | None = None  # for kind "staff": user -> bool
    body: Callable | None = None  # for the API: a body the operation accepts
    owner_sees: Callable | None = None  # marks the first owner's GET (or POST) must show
    owner_method: str = "GET"
    owner_status: tuple[int, ...] = (200,)
    csrf_exempt: bool = False


def _has(*perms):
    return lambda user: any(user.has_perm(p) for p in perms)


def _staff(**kwargs) -> Route:
    return Route("staff", **kwargs)


ROUTES: dict[str, Route] = {
    # Operators' endpoints
    "healthz": Route("public", "/healthz"),
    "readyz": Route("public", "/readyz"),
    "metrics": Route("owner", "/metrics", owners=("metrics_scraper",), owner_sees=lambda w: ["facerights_"]),
    "set_language": Route("public", "/i18n/setlang/"),
    # The data subject's portal
    "portal:home": Route("public", "/"),
    "portal:processing_rules": Route("public", lambda w: reverse("portal:processing_rules", args=[w.z.pk])),
    "portal:children_rules": Route("public", "/rules/children/"),
    "portal:contact": Route("public", "/contact/"),
    "portal:announcements": Route("public", "/notices/"),
    # A notice's page holds no one's data (tests/incidents test what it shows); here, one that does not exist.
    "portal:notice": Route("public", "/notices/NOSUCHNOTICE/", owner_status=(404,)),
    "portal:verify": Route("public", "/verify/"),
    "portal:lookup": Route("public", "/lookup/"),
    "portal:complaint": Route("public", "/complaint/"),
    "portal:privacy": Route("public", "/privacy/"),
    # The front desk: its clerk's own visit (of subject_2, identity checked), nobody else's.
    "desk:home": Route("owner", "/desk/", owners=("desk_1",)),
    "desk:visit": Route(
        "owner",
        lambda w: reverse("desk:visit", args=[w.desk_visit.pk]),
        owners=("desk_1",),
        owner_sees=lambda w: ["Matrix Other Two"],
    ),
    "desk:identity": Route(
        "owner",
        lambda w: reverse("desk:identity", args=[w.desk_visit.pk]),
        owners=("desk_1",),
        owner_method="POST",
        owner_status=(302,),
    ),
    "desk:withdraw": Route(
        "owner",
        lambda w: reverse("desk:withdraw", args=[w.desk_visit.pk, w.s2_consent.pk]),
        owners=("desk_1",),
        owner_method="POST",
        owner_status=(302,),
    ),
    "desk:request": Route(
        "owner",
        lambda w: reverse("desk:request", args=[w.desk_visit.pk]),
        owners=("desk_1",),
        owner_method="POST",
        owner_status=(302,),
    ),
    "desk:receipt": Route(
        "owner",
        lambda w: reverse("desk:receipt", args=[w.desk_visit.pk]),
        owners=("desk_1",),
        owner_method="POST",
        owner_status=(302,),  # nothing asked yet: back to the visit, with why
    ),
    "desk:end": Route(
        "owner",
        lambda w: reverse("desk:end", args=[w.desk_visit.pk]),
        owners=("desk_1",),
        owner_method="POST",
        owner_status=(302,),
    ),
    "portal:verify_keys": Route("public", "/verify/keys.json"),
    "portal:dashboard": Route(
        "self", "/me/", owners=("subject_1",), owner_sees=lambda w: [w.d_done.reference, w.r1.reference]
    ),
    "portal:link": Route("self", "/me/link/"),
    "portal:identity_check": Route("self", "/me/link/identity-check/"),
    "portal:consent_history": Route("self", "/me/consents/", owners=("subject_1",), owner_sees=lambda w: [w.z.name_zh]),
    "portal:my_notices": Route("self", "/me/notices/"),
    "portal:consents_withdraw_all": Route("self", "/me/consents/withdraw-all/"),
    # A deceased relative's claims, and acting for them once approved (portal/tests/test_deceased.py): in this
    # world nobody was approved to act for subject_3, so everyone is refused.
    "portal:deceased_claims": Route("self", "/me/deceased/"),
    "portal:deceased_request": Route(
        "owner", lambda w: reverse("portal:deceased_request", args=[w.s3.uuid]), owners=()
    ),
    # The notice as the person consented to it: theirs (and their guardian's, for a child) alone.
    "portal:consent_notice": Route(
        "owner", lambda w: reverse("portal:consent_notice", args=[w.s1_consent.pk]), owners=("subject_1",)
    ),
    "portal:consent_receipt": Route(
        "owner",
        lambda w: reverse("portal:consent_receipt", args=[w.s1_consent.pk, "json"]),
        owners=("subject_1",),
        owner_sees=lambda w: [str(w.s1_consent.subject.uuid)],
    ),
    # A written consent's signed record: s1's consent is a separate one, so even its owner gets 404 here;
    # portal/tests/test_written_consent.py has the person download theirs and everyone else refused.
    "portal:consent_signed_record": Route(
        "owner",
        lambda w: reverse("portal:consent_signed_record", args=[w.s1_consent.pk]),
        owners=("subject_1",),
        owner_status=(404,),
    ),
    # Closing one's account: the people's accounts only (portal/tests/test_closing.py closes real ones).
    "portal:account_close": Route("owner", "/me/close/", owners=("subject_1", "subject_2", "guardian")),
    "portal:requests": Route("self", "/me/requests/", owners=("subject_1",), owner_sees=lambda w: [w.r1.reference]),
    "portal:request_new": Route("self", "/me/requests/new/"),
    "portal:copy_request": Route("self", "/me/copy/", owners=("subject_1",), owner_method="POST", owner_status=(302,)),
    "portal:sign_in_again": Route("account", "/me/sign-in-again/"),  # part of signing in: a POST signs out
    "portal:consent_give": Route(
        "self", lambda w: reverse("portal:consent_give", args=[w.z.pk, w.purpose.code]), owners=("subject_1",)
    ),
    "portal:request_detail": Route(
        "owner",
        lambda w: reverse("portal:request_detail", args=[w.r1.reference]),
        owners=("subject_1",),
        owner_sees=lambda w: [w.r1.reference],
    ),
    "portal:copy_status": Route(
        "owner", lambda w: reverse("portal:copy_status", args=[w.export.pk]), owners=("subject_1",)
    ),
    "portal:copy_download": Route(
        "owner", lambda w: reverse("portal:copy_download", args=[w.export.pk]), owners=("subject_1",)
    ),
    "portal:consent_withdraw_confirm": Route(
        "owner",
        lambda w: reverse("portal:consent_withdraw_confirm", args=[w.s1_consent.pk]),
        owners=("subject_1",),
        owner_sees=lambda w: [w.z.name_zh],
    ),
    "portal:consent_withdraw": Route(
        "owner",
        lambda w: reverse("portal:consent_withdraw", args=[w.s1_consent.pk]),
        owners=("subject_1",),
        owner_method="POST",
        owner_status=(302,),
    ),
    "portal:deletion_status": Route(
        "owner",
        lambda w: reverse("portal:deletion_status", args=[w.d_done.reference]),
        owners=("subject_1",),
        owner_sees=lambda w: [w.d_done.reference],
    ),
    "portal:deletion_status_json": Route(
        "owner",
        lambda w: reverse("portal:deletion_status_json", args=[w.d_done.reference]),
        owners=("subject_1",),
        owner_sees=lambda w: [w.d_done.reference],
    ),
    "portal:deletion_certificate": Route(
        "owner", lambda w: reverse("portal:deletion_certificate", args=[w.d_done.reference]), owners=("subject_1",)
    ),
    "portal:ward_dashboard": Route(
        "owner",
        lambda w: reverse("portal:ward_dashboard", args=[w.ward.uuid]),
        owners=("guardian",),
        owner_sees=lambda w: [w.d_ward.reference],
    ),
    "portal:ward_consent_history": Route(
        "owner",
        lambda w: reverse("portal:ward_consent_history", args=[w.ward.uuid]),
        owners=("guardian",),
        owner_sees=lambda w: [w.z.name_zh],
    ),
    "portal:ward_consent_give": Route(
        "owner",
        lambda w: reverse("portal:ward_consent_give", args=[w.ward.uuid, w.z.pk, w.purpose.code]),
        owners=("guardian",),
    ),
    "portal:ward_consents_withdraw_all": Route(
        "owner", lambda w: reverse("portal:ward_consents_withdraw_all", args=[w.ward.uuid]), owners=("guardian",)
    ),
    "portal:ward_requests": Route(
        "owner",
        lambda w: reverse("portal:ward_requests", args=[w.ward.uuid]),
        owners=("guardian",),
        owner_sees=lambda w: ["Matrix Ward"],
    ),
    "portal:ward_request_new": Route(
        "owner", lambda w: reverse("portal:ward_request_new", args=[w.ward.uuid]), owners=("guardian",)
    ),
    "portal:ward_copy_request": Route(
        "owner",
        lambda w: reverse("portal:ward_copy_request", args=[w.ward.uuid]),
        owners=("guardian",),
        owner_method="POST",
        owner_status=(302,),
    ),
    "portal:vendor_confirm": Route(
        "token-link", lambda w: reverse("portal:vendor_confirm", args=[w.vendor_token]), owner_sees=lambda w: ["S3-KEY"]
    ),
    # A consent asked at capture: the page's random address is the credential, as a vendor's link is.
    "portal:consent_session": Route(
        "token-link",
        lambda w: reverse("portal:consent_session", args=[w.capture_token]),
        owner_sees=lambda w: [w.x.name_zh],
    ),
    "portal:consent_session_receipt": Route(
        "token-link",
        lambda w: reverse("portal:consent_session_receipt", args=[w.capture_done_token, "json"]),
        owner_sees=lambda w: [str(w.capture_done.subject.uuid)],
    ),
    # The same address, for a written consent's signed record (none here: 404; test_consent_sessions.py signs one).
    "portal:consent_session_signed_record": Route(
        "token-link",
        lambda w: reverse("portal:consent_session_signed_record", args=[w.capture_done_token]),
        owner_status=(404,),
    ),
    # A child's page: the guardian confirms with a code (here the page is a consented one: sent back to it).
    "portal:consent_session_guardian": Route(
        "token-link",
        lambda w: reverse("portal:consent_session_guardian", args=[w.capture_done_token]),
        owner_method="POST",
        owner_status=(302,),
    ),
    "portal:consent_session_receipt_send": Route(
        "token-link",
        lambda w: reverse("portal:consent_session_receipt_send", args=[w.capture_done_token]),
        owner_method="POST",
        owner_status=(302,),
    ),
    # A receipt's signed link: the receipt, and withdrawal only with the code texted to the phone given.
    "portal:receipt_link": Route(
        "token-link",
        lambda w: reverse("portal:receipt_link", args=[receipt_link_token(w.capture_done.record)]),
        owner_sees=lambda w: [w.x.name_zh],
    ),
    "portal:receipt_link_download": Route(
        "token-link",
        lambda w: reverse("portal:receipt_link_download", args=[receipt_link_token(w.capture_done.record), "json"]),
        owner_sees=lambda w: [str(w.capture_done.subject.uuid)],
    ),
    "portal:receipt_link_signed_record": Route(
        "token-link",
        lambda w: reverse("portal:receipt_link_signed_record", args=[receipt_link_token(w.capture_done.record)]),
        owner_status=(404,),
    ),
    "portal:vendor_digest": Route(
        "token-link", lambda w: reverse("portal:vendor_digest", args=[w.digest_token]), owner_sees=lambda w: ["S3-KEY"]
    ),
    "portal:vendor_digest_keys": Route(
        "token-link",
        lambda w: reverse("portal:vendor_digest_keys", args=[w.digest_token]),
        owner_sees=lambda w: ["S3-KEY"],
    ),
    "portal:regulator_home": Route(
        "regulators", "/regulator/", owners=("regulator_31",), owner_sees=lambda w: [w.filing.number]
    ),
    "portal:regulator_filing": Route(
        "owner",
        lambda w: reverse("portal:regulator_filing", args=[w.filing.number]),
        owners=("regulator_31",),
        owner_sees=lambda w: [w.filing.number],
    ),
    "portal:regulator_evidence": Route(
        "owner",
        lambda w: reverse("portal:regulator_evidence", args=[w.filing.number]),
        owners=("regulator_31",),
        owner_sees=lambda w: [w.filing.number],
    ),
    "portal:regulator_acknowledge": Route(
        "owner",
        lambda w: reverse("portal:regulator_acknowledge", args=[w.filing.number]),
        owners=("regulator_31",),
        owner_method="POST",
        owner_status=(302,),
    ),
    "portal:regulator_document": Route(
        "owner",
        lambda w: reverse("portal:regulator_document", args=[w.filing.number, "application_form", "zh"]),
        owners=("regulator_31",),
    ),
    "portal:regulator_pack": Route(
        "owner", lambda w: reverse("portal:regulator_pack", args=[w.filing.number]), owners=("regulator_31",)
    ),
    "portal:regulator_attachment": Route(
        "owner",
        lambda w: reverse("portal:regulator_attachment", args=[w.filing.number, w.filing.attachments.first().pk]),
        owners=("regulator_31",),
    ),
    # The admin, apart from its model pages (ADMIN_MODEL_VIEWS)
    "admin:index": _staff(url="/admin/", owners=STAFF, owner_sees=lambda w: ["/admin/dataops/"]),
    "admin:login": Route("public", "/admin/login/"),
    "admin:logout": _staff(url="/admin/logout/"),
    "admin:password_change": _staff(url="/admin/password_change/"),
    "admin:password_change_done": _staff(url="/admin/password_change/done/"),
    "admin:autocomplete": _staff(url="/admin/autocomplete/"),
    "admin:jsi18n": _staff(url="/admin/jsi18n/"),
    "admin:view_on_site": _staff(
        url=lambda w: reverse("admin:view_on_site", args=[ContentType.objects.get_for_model(w.filing).pk, w.filing.pk])
    ),
    "admin:app_list": _staff(url="/admin/dataops/", perm=lambda user: user.has_module_perms("dataops")),
    "admin/(?P<url>.*)$": _staff(url="/admin/no-such-page/"),
    "admin_compliance_matrix": _staff(
        url="/admin/compliance/", perm=_has("facerights.view_auditevent"), owners=("auditor",)
    ),
    "admin:auth_user_password_change": _staff(
        url=lambda w: reverse("admin:auth_user_password_change", args=[w.users["subject_1"].pk]),
        perm=_has("facerights.change_user"),
        owners=("superuser",),
    ),
    "admin:consent_deceasedrepresentation_proof": _staff(
        url="/admin/consent/deceasedrepresentation/999999/proof/",
        perm=_has("consent.review_identitycheck"),
        owners=("dpo",),
        owner_status=(404,),
    ),
    "admin:consent_identitycheck_scan": _staff(
        url=lambda w: reverse("admin:consent_identitycheck_scan", args=[w.identity_check.pk]),
        perm=_has("consent.review_identitycheck"),
        owners=("dpo",),
    ),
    "admin:consent_guardianship_record": _staff(
        url="/admin/consent/guardianship/record/", perm=_has("consent.change_guardianship"), owners=("dpo",)
    ),
    "admin:facerights_calendaryear_enter": _staff(
        url="/admin/facerights/calendaryear/enter/", perm=_has("facerights.add_calendaryear"), owners=("dpo",)
    ),
    "admin:dataops_filing_pack": _staff(
        url=lambda w: reverse("admin:dataops_filing_pack", args=[w.filing.pk]),
        perm=_has("dataops.view_filing", "dataops.change_filing"),
        owners=("auditor",),
    ),
    # An incident report's PDF (dataops/incidents/tests/test_reports.py reads a real one); here, one that does not exist.
    "admin:dataops_incidentreport_pdf": _staff(
        url="/admin/dataops/incidentreport/999999/pdf/",
        perm=_has("dataops.view_incidentreport"),
        owners=("auditor",),
        owner_status=(404,),
    ),
    # Applying a correction the person asked for, the DPO's (dataops/requests/tests/test_corrections.py applies real ones).
    "admin:dataops_request_correct": _staff(
        url="/admin/dataops/request/999999/correct/",
        perm=_has("dataops.refuse_request"),
        owners=("dpo",),
        owner_status=(404,),
    ),
    # Recording a request that came by phone or letter (dataops/desk/tests/test_assisted.py records real ones).
    "admin:dataops_request_record": _staff(
        url="/admin/dataops/request/record/", perm=_has("dataops.change_request"), owners=("operator",)
    ),
    # The upload of a vendor's affected keys (dataops/incidents/tests/test_consequences.py uploads real ones).
    "admin:dataops_incident_keys": _staff(
        url="/admin/dataops/incident/999999/keys/",
        perm=_has("dataops.change_incident"),
        owners=("operator",),
        owner_status=(404,),
    ),
    "admin:dataops_filing_evidence": _staff(
        url=lambda w: reverse("admin:dataops_filing_evidence", args=[w.filing.pk]),
        perm=_has("dataops.view_filing", "dataops.change_filing"),
        owners=("auditor",),
        owner_sees=lambda w: [w.filing.number],
    ),
    # An evidence export is its requester's alone, whatever else the role may see.
    "admin:dataops_evidenceexport_download": Route(
        "owner",
        lambda w: reverse("admin:dataops_evidenceexport_download", args=[w.evidence_export.pk]),
        owners=("dpo",),
    ),
    # allauth: signing in, accounts, second factors
    "account_login": Route("account", "/accounts/login/"),
    "account_logout": Route("account", "/accounts/logout/"),
    "account_inactive": Route("account", "/accounts/inactive/"),
    "account_signup": Route("account", "/accounts/signup/"),
    "account_reauthenticate": Route("self", "/accounts/reauthenticate/"),
    "account_email": Route(
        "self", "/accounts/email/", owners=("subject_1",), owner_sees=lambda w: [w.marks["s1_email"]]
    ),
    "account_email_verification_sent": Route("account", "/accounts/confirm-email/"),
    "account_change_password": Route("self", "/accounts/password/change/"),
    "account_set_password": Route("self", "/accounts/password/set/"),
    "account_reset_password": Route("account", "/accounts/password/reset/"),
    "account_confirm_login_code": Route("account", "/accounts/login/code/confirm/"),
    "account_verify_phone": Route("account", "/accounts/phone/verify/"),
    "account_change_phone": Route("self", "/accounts/phone/change/"),
    "account_reset_password_from_key_done": Route("account", "/accounts/password/reset/key/done/"),
    "account_reset_password_from_key": Route("account", "/accounts/password/reset/key/1-not-a-key/"),
    "account_reset_password_done": Route("account", "/accounts/password/reset/done/"),
    "account_request_login_code": Route("account", "/accounts/login/code/"),
    "mfa_index": Route("self", "/accounts/2fa/"),
    "mfa_authenticate": Route("account", "/accounts/2fa/authenticate/"),
    "mfa_reauthenticate": Route("self", "/accounts/2fa/reauthenticate/"),
    "mfa_activate_totp": Route("self", "/accounts/2fa/totp/activate/"),
    "mfa_deactivate_totp": Route("self", "/accounts/2fa/totp/deactivate/"),
    "mfa_view_recovery_codes": Route("self", "/accounts/2fa/recovery-codes/"),
    "mfa_generate_recovery_codes": Route("self", "/accounts/2fa/recovery-codes/generate/"),
    "mfa_download_recovery_codes": Route("self", "/accounts/2fa/recovery-codes/download/"),
    "mfa_list_webauthn": Route(
        "self", "/accounts/2fa/webauthn/", owners=("subject_1",), owner_sees=lambda w: [w.marks["s1_passkey"]]
    ),
    "mfa_add_webauthn": Route("self", "/accounts/2fa/webauthn/add/"),
    "mfa_reauthenticate_webauthn": Route("self", "/accounts/2fa/webauthn/reauthenticate/"),
    "mfa_login_webauthn": Route("account", "/accounts/2fa/webauthn/login/"),
    "mfa_remove_webauthn": Route(
        "owner", lambda w: reverse("mfa_remove_webauthn", args=[w.passkey.pk]), owners=("subject_1",)
    ),
    "mfa_edit_webauthn": Route(
        "owner",
        lambda w: reverse("mfa_edit_webauthn", args=[w.passkey.pk]),
        owners=("subject_1",),
        owner_sees=lambda w: [w.marks["s1_passkey"]],
    ),
    # The API and its document
    "api:openapi-json": Route("public", "/api/openapi.json", csrf_exempt=True),
    "api:openapi-view": Route("public", "/api/docs", csrf_exempt=True),
    "api:api-root": Route("public", "/api/", csrf_exempt=True),
    "api:feed": Route(
        "api-system",
        lambda w: f"/api/v1/systems/{w.x.pk}/deletions",
        owners=("device_x",),
        owner_sees=lambda w: [w.marks["x_key"]],
        csrf_exempt=True,
    ),
    "api:ack": Route(
        "api-system",
        lambda w: f"/api/v1/systems/{w.x.pk}/deletions/{w.x_instruction}/ack",
        owners=("device_x",),
        body=lambda w: {"status": "deleted", "evidence": {"n": 1}},
        owner_method="POST",
        csrf_exempt=True,
    ),
    "api:ack_many": Route(
        "api-system",
        lambda w: f"/api/v1/systems/{w.x.pk}/deletions/ack",
        owners=("device_x",),
        body=lambda w: {"acks": [{"id": w.x_instruction, "status": "deleted"}]},
        owner_method="POST",
        owner_sees=lambda w: [w.x_instruction],
        csrf_exempt=True,
    ),
    "api:reconcile": Route(
        "api-system",
        lambda w: f"/api/v1/systems/{w.x.pk}/reconcile",
        owners=("device_x",),
        body=lambda w: {"subject_keys": [w.marks["x_key"]], "held_count": 1, "complete": True},
        owner_method="POST",
        csrf_exempt=True,
    ),
    "api:holdings": Route(
        "api-token",
        "/api/v1/holdings",
        owners=("device_x",),
        body=lambda w: _enrolment(w, "MATRIX-NEW-1"),
        owner_method="POST",
        owner_status=(201,),
        csrf_exempt=True,
    ),
    "api:holdings_batch": Route(
        "api-token",
        "/api/v1/holdings/batch",
        owners=("device_x",),
        body=lambda w: {"holdings": [_enrolment(w, "MATRIX-NEW-2")]},
        owner_method="POST",
        csrf_exempt=True,
    ),
    "api:consent_check_view": Route(
        "api-token",
        "/api/v1/consent-check",
        owners=("device_x",),
        body=lambda w: {"subject_key": w.marks["x_key_live"], "purpose": w.purpose.code},
        owner_method="POST",
        owner_sees=lambda w: ['"allowed": true'],
        csrf_exempt=True,
    ),
    "api:consent_session_open_view": Route(
        "api-token",
        "/api/v1/consent-sessions",
        owners=("device_x",),
        body=lambda w: {"subject_key": "MATRIX-CAPTURE-NEW", "purpose": w.purpose.code},
        owner_method="POST",
        owner_status=(201,),
        owner_sees=lambda w: ["/c/"],
        csrf_exempt=True,
    ),
    "api:consent_session_view": Route(
        "api-token",
        lambda w: f"/api/v1/consent-sessions/{w.capture_session.public_id}",
        owners=("device_x",),
        owner_sees=lambda w: ['"state": "open"'],
    ),
    "api:consent_prompt_view": Route(
        "api-token",
        "/api/v1/consent-prompt",
        owners=("device_x",),
        body=lambda w: {"subject_key": "MATRIX-CAPTURE", "purpose": w.purpose.code},
        owner_method="POST",
        owner_sees=lambda w: ['"allowed": true'],
        csrf_exempt=True,
    ),
    "api:callback": Route(
        "api-signed",
        lambda w: f"/api/v1/systems/{w.p.pk}/callbacks",
        owners=("push_signer",),
        body=lambda w: {"results": [{"id": w.p_instruction, "status": "deleted"}]},
        owner_method="POST",
        owner_sees=lambda w: [w.p_instruction],
        csrf_exempt=True,
    ),
}

# The admin's pages for each registered model, by the view's suffix: the permission that
# opens it. A model added to the admin is covered without editing this file.
ADMIN_MODEL_VIEWS = {
    "changelist": ("view", "change"),
    "change": ("view", "change"),
    "history": ("view", "change"),
    "redirect": (),  # <object_id>/ sends any staff member on to the change page, which checks
    "add": ("add",),
    "delete": ("delete",),
}
# Where a ModelAdmin opens a page on another permission than its own (read in its code).
ADMIN_PERMISSION_EXCEPTIONS = {
    ("dataops", "evidenceexport", "add"): ("view",),  # asking for an export of evidence is reading it
}
# Models whose rows the admin shows only to the user in this field (EvidenceExportAdmin.get_queryset).
ADMIN_OWN_ROWS = {"dataops.evidenceexport": "requested_by"}

# The OpenAPI operations, each with the route that serves it.
API_OPERATIONS = {
    ("GET", "/api/v1/systems/{system_id}/deletions"): "api:feed",
    ("POST", "/api/v1/systems/{system_id}/deletions/{instruction_id}/ack"): "api:ack",
    ("POST", "/api/v1/systems/{system_id}/deletions/ack"): "api:ack_many",
    ("POST", "/api/v1/systems/{system_id}/reconcile"): "api:reconcile",
    ("POST", "/api/v1/holdings"): "api:holdings",
    ("POST", "/api/v1/holdings/batch"): "api:holdings_batch",
    ("POST", "/api/v1/consent-check"): "api:consent_check_view",
    ("POST", "/api/v1/consent-sessions"): "api:consent_session_open_view",
    ("GET", "/api/v1/consent-sessions/{session_id}"): "api:consent_session_view",
    ("POST", "/api/v1/consent-prompt"): "api:consent_prompt_view",
    ("POST", "/api/v1/systems/{system_id}/callbacks"): "api:callback",
}


def _enrolment(w, key: str) -> dict:
    return {
        "subject_key": key,
        "data_kind": "template",
        "enrolled_at": "2026-11-20T10:00:00+08:00",
        "identifiers": {"phone": "13600000000"},
        "date_of_birth": "1990-05-17",
        "consent": {"purpose": w.purpose.code, "notice_version": 1, "given_at": "2026-11-20T09:59:00+08:00"},
    }


# --- Reading the resolver ---------------------------------------------------------------------------


def _walk(patterns, prefix="", namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from _walk(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            yield name or prefix + str(p.pattern), prefix + str(p.pattern)


def resolver_routes() -> list[tuple[str, str]]:
    """(key, pattern) for every URL pattern: its name, namespaced, or its pattern when it has none."""
    return list(_walk(get_resolver().url_patterns))


def _admin_models() -> dict[tuple[str, str], type]:
    return {(m._meta.app_label, m._meta.model_name): m for m in admin.site._registry}


def admin_model_route(key: str, pattern: str) -> tuple[type, str] | None:
    """The model and view of an admin model page, or None."""
    for (app, model_name), model in _admin_models().items():
        if key == f"admin/{app}/{model_name}/<path:object_id>/":
            return model, "redirect"
        for view in ADMIN_MODEL_VIEWS:
            if key == f"admin:{app}_{model_name}_{view}":
                return model, view
    return None


def classified(key: str, pattern: str) -> bool:
    return key in ROUTES or admin_model_route(key, pattern) is not None


# --- The world --------------------------------------------------------------------------------------


@dataclass
class World:
    purpose: object = None
    x: object = None  # a pull device: device_x's system
    y: object = None  # another pull device: device_other's system
    p: object = None  # a push system: push_signer's
    z: object = None  # a device whose consents the subjects hold
    users: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    marks: dict = field(default_factory=dict)  # name -> text; OWN_MARKS says whose
    tallies: Counter = field(default_factory=Counter)
    # One client of each kind, its cookies reset for every request (a new client loads the middleware again).
    clients: dict = field(default_factory=lambda: {csrf: Client(enforce_csrf_checks=csrf) for csrf in (False, True)})

    def url(self, route: Route) -> str:
        return route.url(self) if callable(route.url) else route.url


# Which marks a persona may see: its own. Everyone else's, and every secret, must never show.
OWN_MARKS = {
    "subject_1": {"s1_phone", "s1_email", "s1_name", "s1_deletion", "s1_deletion_open", "s1_request", "s1_passkey"},
    "subject_2": {"s2_phone", "s2_name"},
    "guardian": {"ward_deletion", "ward_key"},
    "regulator_31": {"filing"},
    "desk_1": {"s2_name"},  # the person at the counter, during their visit
    "device_x": {"x_key", "x_key_live", "s1_deletion_open"},  # its feed names the deletion it carries out
}
SECRETS = {"token_x", "token_y", "push_secret", "metrics_token"}

# Server errors the matrix found outside the files of this change, reported to be fixed;
# strict, so the test fails as soon as one is fixed and the entry must go.
KNOWN_DEFECTS: dict[str, str] = {}  # route key -> why it fails today (a strict xfail, so a fix shows)


def _signed_in(user, *, staff: bool) -> str:
    """A session as allauth leaves it after signing in (and re-authenticating) just now."""
    client = Client()
    if staff:
        factories.staff_login(client, user)
    else:
        client.force_login(user)
    session = client.session
    now = timezone.now().timestamp()
    session["account_authentication_methods_user"] = str(user.pk)
    records = session.get("account_authentication_methods", [{"method": "code", "at": now}])
    session["account_authentication_methods"] = [*records, {"method": "password", "at": now, "reauthenticated": True}]
    session.save()
    return session.session_key


def _png() -> bytes:

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _passkey_credential() -> dict:
    """A WebAuthn registration as a browser sends it, made in software (no real key can use it)."""

    credential_id = os.urandom(16)
    public_key = ES256.from_cryptography_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    data = AuthenticatorData.create(
        hashlib.sha256(b"localhost").digest(),
        AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT,
        0,
        AttestedCredentialData.create(Aaguid.NONE, credential_id, public_key),
    )
    client_data = CollectedClientData.create(
        type="webauthn.create", challenge=os.urandom(16), origin="http://localhost"
    )
    response = AuthenticatorAttestationResponse(
        client_data=client_data, attestation_object=AttestationObject.create("none", data, {})
    )
    return json.loads(json.dumps(dict(RegistrationResponse(raw_id=credential_id, response=response))))


# One row for each admin model the rest of the world leaves empty, so that every change,
# history and delete page names a real object (a missing one only redirects to the index).
ADMIN_ROWS = {
    "facerights.calendaryear": lambda m: m.objects.create(year=2099, is_complete=False),
    "facerights.calendarday": lambda m: m.objects.create(date=dt.date(2099, 1, 1), kind="holiday", name="matrix"),
    "dataops.entitygroup": lambda m: m.objects.create(name_zh="矩阵集团"),
    "dataops.reconcilehold": lambda m: m.objects.create(
        system=ProcessingSystem.objects.first(), inventory_sha256="0" * 64, inventory_size=0, open_count=1
    ),
    "dataops.devicegroup": lambda m: m.objects.create(
        system=ProcessingSystem.objects.first(), kind="gate", count=1, location="矩阵"
    ),
    "dataops.incident": lambda m: m.objects.create(
        entity=m._meta.get_field("entity").related_model.objects.first(),
        summary="matrix",
        discovered_at=timezone.now(),
        report_due_at=timezone.now(),
        grade="general",
        data_kinds=["unknown"],
        scope_unknown=True,
    ),
    "dataops.incidentreport": lambda m: m.objects.create(
        incident=m._meta.get_field("incident").related_model.objects.first(),
        kind="initial",
        version=1,
        facts={},
        fingerprint="0" * 64,
        signature="matrix",
        pdf=b"%PDF-1.4",
        generated_by="matrix",
    ),
    "consent.deceasedrepresentation": lambda m: m.objects.create(
        relative=m._meta.get_field("relative").related_model.objects.order_by("pk").first(),
        relationship="child",
        proof_content_type="image/png",
        proof_sha256="0" * 64,
    ),
    "dataops.contractreview": lambda m: m.objects.create(
        incident=m._meta.get_field("incident").related_model.objects.first()
        or ADMIN_ROWS["dataops.incident"](m._meta.get_field("incident").related_model),
        system=m._meta.get_field("system").related_model.objects.first(),
    ),
    "dataops.incidentnotice": lambda m: m.objects.create(
        incident=m._meta.get_field("incident").related_model.objects.first()
    ),
    "dataops.responsetimepolicy": lambda m: m.objects.create(request_type="access", working_days=15),
    "dataops.bulkjob": lambda m: m.objects.create(operation="matrix", actor="t"),
    "dataops.filingobligation": lambda m: m.objects.create(
        entity=m._meta.get_field("entity").related_model.objects.first(),
        kind="audit",
        triggered_on=dt.date(2026, 1, 5),
        due_on=dt.date(2028, 1, 5),
        due_earliest=dt.date(2028, 1, 5),
    ),
    "dataops.changereview": lambda m: m.objects.create(
        entity=m._meta.get_field("entity").related_model.objects.first(),
        detected_on=dt.date(2026, 9, 24),
        due_on=dt.date(2026, 11, 12),
        due_earliest=dt.date(2026, 11, 12),
        changes=[{"field": "storage_location", "before": "device", "after": "cloud"}],
        changes_sha256="0" * 64,
    ),
    "dataops.processingday": lambda m: m.objects.create(
        system=m._meta.get_field("system").related_model.objects.first(), purpose="matrix", day=dt.date(2026, 12, 1)
    ),
    "dataops.processingrefusal": lambda m: m.objects.create(
        system=m._meta.get_field("system").related_model.objects.first(),
        purpose="matrix",
        subject_key="MATRIX-NOBODY",
        reason="unknown_subject",
        at=timezone.now(),
    ),
    "dataops.systemtransfer": lambda m: m.objects.create(
        system=m._meta.get_field("system").related_model.objects.first(),
        from_entity=m._meta.get_field("from_entity").related_model.objects.first(),
        to_entity=m._meta.get_field("to_entity").related_model.objects.last(),
        kind="group",
        effective_on=dt.date(2026, 12, 1),
        recipient_contact="matrix",
        actor="t",
    ),
    "consent.subjectmatchreview": lambda m: m.objects.create(
        subject=m._meta.get_field("subject").related_model.objects.order_by("pk").last(),
        matched=m._meta.get_field("matched").related_model.objects.order_by("pk").first(),
        reason="date_of_birth",
        source="system:matrix",
    ),
    "django_celery_beat.intervalschedule": lambda m: m.objects.create(every=1, period="days"),
    "django_celery_beat.crontabschedule": lambda m: m.objects.create(minute="0", hour="3"),
    "django_celery_beat.solarschedule": lambda m: m.objects.create(event="sunrise", latitude=31.23, longitude=121.47),
    "django_celery_beat.clockedschedule": lambda m: m.objects.create(clocked_time=timezone.now()),
    "django_celery_beat.periodictask": lambda m: m.objects.create(
        name="matrix", task="matrix.task", interval=m._meta.get_field("interval").related_model.objects.first()
    ),
}


def _admin_rows() -> None:
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label_lower):
        if not model._default_manager.exists():
            build = ADMIN_ROWS.get(model._meta.label_lower)
            assert build, f"{model._meta.label_lower} has no row: add one to ADMIN_ROWS in tests/test_route_matrix.py"
            build(model)


def _build_world() -> World:

    w = World()
    entity = factories.entity(province="31", security_measures="设备端加密存储；访问控制；安全审计。")
    factories.site(entity)
    w.purpose = factories.purpose()
    w.x, token_x = factories.pull_system(entity=entity, purpose=w.purpose)
    w.y, token_y = factories.pull_system(entity=entity, purpose=w.purpose)
    w.p = factories.active_system(entity=entity, purpose=w.purpose, integration="push")
    w.push_secret = credential_issue(actor="t", system=w.p, kind="webhook_secret")
    w.z = factories.active_system(entity=entity, purpose=w.purpose)
    manual = factories.active_system(entity=entity, purpose=w.purpose, integration="manual", webhook_url="")

    def account(role, subject=None, **kwargs):
        user = factories.user_with_role(role, **kwargs)
        if subject is not None:
            subject_link_user(actor="t", subject=subject, user=user)
        return user

    # subject_1: held by X, P and Z; one deletion done (P), one open (X); a request; a copy; a passkey.
    s1 = factories.subject(phone="13811110001", email="s1-owner@example.test", name="Matrix Owner One")
    w.users["subject_1"] = account("data_subject", s1)
    EmailAddress.objects.create(user=w.users["subject_1"], email="s1-owner@example.test", verified=True, primary=True)
    factories.holding(s1, w.x, key="MATRIX-X-S1")
    factories.holding(s1, w.p, key="MATRIX-P-S1")
    w.s1_consent = factories.holding(s1, w.z, key="MATRIX-Z-S1").consent
    w.d_done = deletion_request_open(actor="t", subject=s1, trigger="subject_request", systems=[w.p])
    propagation_confirm(actor="t", propagation=w.d_done.propagations.get(), outcome="deleted", evidence={"n": 1})
    w.d_open = deletion_request_open(actor="t", subject=s1, trigger="subject_request", systems=[w.x])
    w.x_instruction = w.d_open.propagations.get().idempotency_key
    w.r1 = request_submit(actor="t", subject=s1, type="access")
    w.export = export_request(actor="t", user=w.users["subject_1"], subject=s1, language="zh-hans")
    export_build(export_id=w.export.pk)
    w.passkey = Authenticator.objects.create(
        user=w.users["subject_1"],
        type=Authenticator.Type.WEBAUTHN,
        data={"name": "s1-passkey-7Q2", "credential": _passkey_credential()},
    )
    # The push system's open instruction, for another person: its callback confirms it.
    s4 = factories.subject(phone="13844440004")
    factories.holding(s4, w.p, key="MATRIX-P-S4")
    w.p_instruction = (
        deletion_request_open(actor="t", subject=s4, trigger="subject_request").propagations.get().idempotency_key
    )

    s2 = factories.subject(phone="13822220002", name="Matrix Other Two")
    w.users["subject_2"] = account("data_subject", s2)
    w.s2_consent = factories.holding(s2, w.z, key="MATRIX-Z-S2").consent
    factories.holding(s2, w.x, key="MATRIX-X-S2")

    # The guardian, and the child only they act for.
    g = factories.subject(phone="13833330003", date_of_birth=dt.date(1980, 1, 1))
    w.users["guardian"] = account("guardian", g)
    w.ward = factories.subject(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 8), name="Matrix Ward")
    guardianship_record(actor="t", ward=w.ward, guardian=g, relationship="parent", verified=True)
    for system, key in ((w.z, "MATRIX-Z-WARD"), (w.p, "MATRIX-P-WARD")):
        consent = factories.consent(w.ward, system, method="guardian", guardian=g)
        factories.holding(w.ward, system, key=key, consent=consent)
    w.d_ward = deletion_request_open(actor="t", subject=w.ward, trigger="subject_request", systems=[w.p])

    for role in ("dpo", "operator", "auditor"):
        w.users[role] = account(role, is_staff=True)
    # A front-desk clerk of the company, serving subject_2 at the counter (identity checked).
    w.users["desk_1"] = account("desk")
    clerk = DeskClerk.objects.create(user=w.users["desk_1"], entity=entity)
    w.desk_visit = desk_find(clerk=clerk, found_by="phone", phone="13822220002")
    desk_identity_document(visit=w.desk_visit, document_type="passport", last4="4321")
    w.users["superuser"] = get_user_model().objects.create_superuser("matrix-root", password="correct horse 42")
    for province in ("31", "44"):
        user = account("regulator")
        RegulatorAccount.objects.create(user=user, province=province, authority_name=f"网信办 {province}")
        w.users[f"regulator_{province}"] = user

    # A submitted filing of province 31.
    filing = filing_create(actor="t", entity=entity, kind="initial")
    filing_agent_set(
        actor="t", filing=filing, name="赵六", phone="", email="", id_type="passport", id_number="E98765432"
    )
    for kind in ("credit_code_certificate", "legal_rep_id", "agent_id", "power_of_attorney", "commitment"):
        filing_attach(
            actor="t", filing=filing, kind=kind, content=b"%PDF-1.4 " + kind.encode(), content_type="application/pdf"
        )
    filing_generate(actor="t", filing=filing)
    filing_build(filing_id=filing.pk)
    filing_review(actor="dpo", filing=filing)
    w.filing = filing_submit(actor="dpo", filing=filing, receipt_number="备-2026-0001")

    # A vendor's single-use link, for a third person held by a system without an API.
    s3 = w.s3 = factories.subject(phone="13855550005", name="Matrix Vendor Three")
    factories.holding(s3, manual, key="S3-KEY")
    vendor_deletion = deletion_request_open(actor="t", subject=s3, trigger="contract_ended")
    w.vendor_token = confirmation_token(vendor_deletion.propagations.get())
    # The same vendor's digest of many instructions (here the one), with its single-use link.
    digest = VendorDigest.objects.create(system=manual, nonce="matrix-digest-nonce")
    vendor_deletion.propagations.update(digest=digest)
    w.digest_token = digest_token(digest)

    # A consent session the device x opened, not yet answered.
    w.capture_session, w.capture_token = consent_session_open(
        actor="t", system=w.x, purpose=w.purpose, subject_key="MATRIX-CAPTURE"
    )

    # And one a guest answered with a consent: its page's address gives the receipt.
    done, w.capture_done_token = consent_session_open(
        actor="t", system=w.x, purpose=w.purpose, subject_key="MATRIX-CAPTURE-DONE"
    )
    w.capture_done = consent_session_answer(
        session=done,
        answer="consent",
        date_of_birth=dt.date(1980, 1, 1),
        notice_version=notice_current(w.x).version,
        provenance=Provenance(channel="device"),
    )

    w.identity_check = identity_check_submit(
        actor="t", user=w.users["subject_2"], scan=_png(), content_type="image/png", note="matrix"
    )
    w.evidence_export = record_export_request(
        actor="t", user=w.users["dpo"], kind="deletions", date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31)
    )
    record_export_build(export_id=w.evidence_export.pk)
    _admin_rows()

    for persona in SIGNED_IN + ("superuser",):
        # Staff and regulators sign in with their second factor.
        second_factor = persona in STAFF or persona.startswith(("regulator", "desk"))
        w.sessions[persona] = _signed_in(w.users[persona], staff=second_factor)
    w.headers = {
        "device_x": {"HTTP_AUTHORIZATION": f"Bearer {token_x}"},
        "device_other": {"HTTP_AUTHORIZATION": f"Bearer {token_y}"},
        "metrics_scraper": {"HTTP_AUTHORIZATION": "Bearer matrix-metrics-token"},
    }
    w.marks = {
        "s1_phone": "13811110001",
        "s1_email": "s1-owner@example.test",
        "s1_name": "Matrix Owner One",
        "s1_deletion": w.d_done.reference,
        "s1_deletion_open": w.d_open.reference,
        "s1_request": w.r1.reference,
        "s1_passkey": "s1-passkey-7Q2",
        "x_key": "MATRIX-X-S1",
        "x_key_live": "MATRIX-X-S2",
        "ward_deletion": w.d_ward.reference,
        "ward_key": "MATRIX-Z-WARD",
        "filing": w.filing.number,
        "s2_phone": "13822220002",
        "s2_name": "Matrix Other Two",
        "s3_phone": "13855550005",
        "s3_name": "Matrix Vendor Three",
        "token_x": token_x,
        "token_y": token_y,
        "push_secret": w.push_secret,
        "metrics_token": "matrix-metrics-token",
    }
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module, in a transaction rolled back at its end; each test runs in a savepoint of it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            w = _build_world()
            yield w
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
    tallies = {k: v for k, v in sorted(w.tallies.items()) if not k.startswith("csrf:")}
    print(f"\nownership matrix: {tallies}")


# --- Requests and verdicts --------------------------------------------------------------------------


def _request(w: World, persona: str, method: str, url: str, route: Route, *, csrf: bool, savepoint: bool = True):
    client = w.clients[csrf]
    client.cookies.clear()
    if persona in w.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = w.sessions[persona]
    extra = dict(w.headers.get(persona, {}))
    if route.body is not None and method in UNSAFE:
        payload = json.dumps(route.body(w)).encode()
        content_type = "application/json"
        if persona == "push_signer":
            for name, value in sign_headers([w.push_secret], "msg_matrix", payload).items():
                extra[f"HTTP_{name.upper().replace('-', '_')}"] = value
    else:
        payload, content_type = b"", "application/x-www-form-urlencoded"
    if not savepoint:
        return client.generic(method, url, payload, content_type, **extra)
    sid = transaction.savepoint()
    try:
        return client.generic(method, url, payload, content_type, **extra)
    finally:
        transaction.savepoint_rollback(sid)


# Redirects that refuse: to sign in, to re-authenticate, or (the admin, to someone it does not
# serve, or for an object that does not exist) to its index, which asks for staff sign-in.
REFUSING_REDIRECTS = ("/accounts/login/", "/admin/login/", "/accounts/reauthenticate/", "/accounts/2fa/reauthenticate/")


def _refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    if response.status_code in (301, 302, 303, 307):
        location = response["Location"]
        return location.startswith(REFUSING_REDIRECTS) or location == "/admin/"
    return False


def _text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="ignore")


def _forbidden_marks(w: World, persona: str, url: str, allowed: bool) -> dict[str, str]:
    """Every mark that is not the persona's own; in the admin, for staff it is open to, only the secrets."""
    own = OWN_MARKS.get(persona, set())
    if allowed and persona in STAFF and url.startswith("/admin/"):
        own = set(w.marks)  # the admin shows whatever the role may see
    return {name: text for name, text in w.marks.items() if name not in own or name in SECRETS}


def _allowed(w: World, route: Route, persona: str) -> bool:
    """Whether the route is for this persona (its answer is then not checked for a refusal)."""
    kind = route.kind
    if kind in ("public", "token-link", "account"):
        return True
    if kind == "self":
        return persona in SIGNED_IN
    if kind == "regulators":
        return persona.startswith("regulator_")
    if kind == "staff":
        return persona in STAFF and (route.perm is None or route.perm(w.users[persona]))
    if kind in ("owner", "api-system", "api-signed"):
        return persona in route.owners
    if kind == "api-token":
        return persona in ("device_x", "device_other")
    raise AssertionError(kind)


def check_route(
    w: World, key: str, route: Route, *, url: str | None = None, lean: bool = False
) -> tuple[list[str], dict]:
    """Request the route as everyone, with every method; return what went wrong, and what each got.

    Every persona the route is not for is refused, whatever the method. Of those it is for,
    the first is sent every method and the others GET and POST (HEAD, PUT, PATCH and DELETE
    render the same page again), or, `lean` (the admin's model pages), GET only. A persona
    that is refused changes nothing, so its requests share one savepoint; anyone else's
    request is rolled back on its own.
    """
    url = url or w.url(route)
    problems = []
    statuses = {}
    extra = tuple(p for p in OWNER_ONLY if p in route.owners or (route.kind == "staff" and p in STAFF))
    first_allowed = True
    for persona in PERSONAS + extra:
        allowed = _allowed(w, route, persona)
        forbidden = _forbidden_marks(w, persona, url, allowed)
        methods = METHODS
        if allowed and not first_allowed:
            methods = ("GET",) if lean else ("GET", "POST")
        first_allowed = first_allowed and not allowed
        group = None if allowed else transaction.savepoint()
        for method in methods:
            response = _request(w, persona, method, url, route, csrf=False, savepoint=allowed)
            statuses[persona, method] = response.status_code
            where = f"{key} {method} {url} as {persona}"
            w.tallies["requests"] += 1
            w.tallies["allowed" if allowed else "refusals checked"] += 1
            if response.status_code >= 500:
                problems.append(f"{where}: server error {response.status_code}")
                continue
            if not allowed and not _refused(response):
                problems.append(f"{where}: answered {response.status_code}, expected a refusal")
            body = _text(response)
            for name, text in forbidden.items():
                if text in body:
                    problems.append(f"{where}: the answer shows {name} ({text!r})")
                    w.tallies["leaks"] += 1
        if group is not None:
            transaction.savepoint_rollback(group)
        # Without a CSRF token, an unsafe request is refused even from someone the route is for:
        # every unsafe method from the first signed-in persona it is for, POST from its owners.
        if allowed and persona in SIGNED_IN + ("superuser",) and not route.csrf_exempt:
            first = not w.tallies[f"csrf:{key}"]
            w.tallies[f"csrf:{key}"] = 1
            for method in UNSAFE if first else ("POST",) if persona in route.owners else ():
                response = _request(w, persona, method, url, route, csrf=True)
                w.tallies["requests"] += 1
                w.tallies["csrf refusals checked"] += 1
                if response.status_code != 403:
                    problems.append(f"{key} {method} {url} as {persona} without a CSRF token: {response.status_code}")
    return problems + _owner_check(w, key, route, url), statuses


def _owner_check(w: World, key: str, route: Route, url: str) -> list[str]:
    """The route's owner gets it (and sees their marks): without this, refusing everyone would pass."""
    if not route.owners:
        return []
    owner = route.owners[0]
    response = _request(w, owner, route.owner_method, url, route, csrf=False)
    w.tallies["owner checks"] += 1
    where = f"{key} {route.owner_method} {url} as its owner {owner}"
    if response.status_code not in route.owner_status:
        return [f"{where}: answered {response.status_code}, expected {route.owner_status}"]
    if response.status_code == 302 and _refused(response):
        return [f"{where}: sent to {response['Location']}"]
    body = _text(response)
    marks = route.owner_sees(w) if route.owner_sees else []
    return [f"{where}: does not show {mark!r}" for mark in marks if mark not in body]


# --- Tests ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _metrics_on(settings):
    settings.METRICS_TOKEN = "matrix-metrics-token"


@pytest.fixture(autouse=True, scope="module")
def _quiet():
    """Twenty thousand requests would log twenty thousand lines (and take a third longer)."""

    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def test_every_route_and_operation_is_in_the_matrix(client, db):
    unclassified = [f"{key}  ({pattern})" for key, pattern in resolver_routes() if not classified(key, pattern)]
    assert not unclassified, "routes missing from tests/test_route_matrix.py ROUTES:\n" + "\n".join(unclassified)
    keys = {key for key, _pattern in resolver_routes()}
    assert not set(ROUTES) - keys, f"ROUTES names routes that no longer exist: {sorted(set(ROUTES) - keys)}"
    document = client.get("/api/openapi.json").json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == set(API_OPERATIONS), (
        f"operations missing from API_OPERATIONS: {sorted(operations - set(API_OPERATIONS))}; "
        f"no longer in the document: {sorted(set(API_OPERATIONS) - operations)}"
    )
    for (method, path), key in API_OPERATIONS.items():
        assert ROUTES[key].kind.startswith("api-"), key
        served_by = resolve(path.replace("{system_id}", "1").replace("{instruction_id}", "i")).view_name
        assert served_by == key, f"{method} {path} is served by {served_by}, not {key}"


def _route_params():
    for key in sorted(ROUTES):
        if key in KNOWN_DEFECTS:
            yield pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[key]))
        else:
            yield key


@pytest.mark.parametrize("key", list(_route_params()))
def test_only_those_a_route_is_for_get_it(world, key, db):
    problems, _statuses = check_route(world, key, ROUTES[key])
    assert not problems, "\n".join(problems)


def test_another_systems_token_learns_nothing_about_this_systems_people(world, db):
    """The consent check answers another system as if the person were unknown: no oracle."""
    route = ROUTES["api:consent_check_view"]

    def ask(persona, key):
        body = {"subject_key": key, "purpose": world.purpose.code}
        response = Client().post(route.url, body, content_type="application/json", **world.headers[persona])
        return response.json()

    assert ask("device_x", world.marks["x_key_live"]) == {"allowed": True, "reason": "consent_active"}
    assert ask("device_other", world.marks["x_key_live"]) == ask("device_other", "NOBODY-HAS-THIS-KEY")


def _admin_model_params():
    for key, pattern in resolver_routes():
        if admin_model_route(key, pattern):
            yield pytest.param(key, pattern, id=key)


@pytest.mark.parametrize(("key", "pattern"), list(_admin_model_params()))
def test_admin_model_pages_follow_the_role_permissions(world, key, pattern, db):
    model, view = admin_model_route(key, pattern)
    meta = model._meta
    actions = ADMIN_PERMISSION_EXCEPTIONS.get((meta.app_label, meta.model_name, view), ADMIN_MODEL_VIEWS[view])
    perm = _has(*(f"{meta.app_label}.{action}_{meta.model_name}" for action in actions)) if actions else None
    object_id = quote(model._default_manager.order_by("pk").first().pk)
    if view == "redirect":
        url = f"/admin/{meta.app_label}/{meta.model_name}/{object_id}/"
    elif view in ("changelist", "add"):
        url = reverse(key)
    else:
        url = reverse(key, args=[object_id])
    route = _staff(url=url, perm=perm)
    problems, statuses = check_route(world, key, route, lean=True)
    # Those the role opens it to get it (add and delete pages also answer to the object's state).
    if view in ("changelist", "change", "history"):
        row = model._default_manager.order_by("pk").first()
        own = ADMIN_OWN_ROWS.get(meta.label_lower)
        for persona in STAFF:
            if perm(world.users[persona]) and (
                view == "changelist" or not own or getattr(row, own) == world.users[persona]
            ):
                status = statuses[persona, "GET"]
                world.tallies["owner checks"] += 1
                if status != 200:
                    problems.append(f"{key} GET {url} as {persona}, whose role may see it: {status}")
    assert not problems, "\n".join(problems)
