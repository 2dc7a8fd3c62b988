"""Every portal URL that names an object, tried by everyone who is not its owner.

The list of URLs comes from the resolver: a new portal route that names an
object fails this test until it is added here.
"""

import datetime as dt

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from consent.linking import deceased_claim_approve, deceased_claim_submit
from consent.services import Provenance, guardianship_record, notice_current, subject_link_user
from consent.written import (
    Signature,
    Where,
    written_consent_body,
    written_consent_fingerprint,
    written_consent_sign,
)
from dataops.copies.services import export_build, export_request
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import propagation_confirm
from dataops.requests.services import request_submit
from tests import factories

pytestmark = pytest.mark.django_db

# Routes whose objects belong to someone: name -> how to build its arguments from the world.
OWNED = {
    "consent_withdraw_confirm": lambda w: [w["holding"].consent.pk],
    "consent_withdraw": lambda w: [w["holding"].consent.pk],
    "deletion_status": lambda w: [w["deletion"].reference],
    "deletion_status_json": lambda w: [w["deletion"].reference],
    "deletion_certificate": lambda w: [w["deletion"].reference],
    "request_detail": lambda w: [w["request"].reference],
    "copy_status": lambda w: [w["export"].pk],
    "copy_download": lambda w: [w["export"].pk],
    "ward_dashboard": lambda w: [w["child"].uuid],
    "ward_consent_history": lambda w: [w["child"].uuid],
    "ward_consent_give": lambda w: [w["child"].uuid, w["system"].pk, w["system"].purposes.first().code],
    "ward_consents_withdraw_all": lambda w: [w["child"].uuid],
    "ward_requests": lambda w: [w["child"].uuid],
    "ward_request_new": lambda w: [w["child"].uuid],
    "ward_copy_request": lambda w: [w["child"].uuid],
    "consent_notice": lambda w: [w["holding"].consent.pk],
    "consent_receipt": lambda w: [w["holding"].consent.pk, "json"],
    "consent_signed_record": lambda w: [w["signed"].pk],
    "deceased_request": lambda w: [w["deceased"].uuid],
}
# Routes with arguments that are public or protected by their own secret.
# "notice": a sent notice is public and names no one (dataops/incidents/tests/test_notices.py).
PUBLIC_WITH_ARGS = {
    "consent_session",  # the random address is the credential; dataops/tests/test_consent_sessions.py
    "consent_session_receipt",  # the same address, for its receipt; consent/tests/test_receipts.py
    "consent_session_receipt_send",  # the same address; portal/tests/test_receipt_links.py
    "consent_session_guardian",  # the same address, and a code to a verified guardian's phone; test_consent_sessions.py
    "receipt_link",  # a signed link that withdraws only with the phone's code; portal/tests/test_receipt_links.py
    "receipt_link_download",
    "receipt_link_signed_record",  # the same link; portal/tests/test_written_consent.py
    "consent_session_signed_record",  # the page's address; dataops/tests/test_consent_sessions.py
    "processing_rules",
    "consent_give",
    "vendor_confirm",
    "vendor_digest",
    "vendor_digest_keys",
    "notice",
}
# The regulator's routes belong to a province: dataops/tests/test_filings.py tries them as the
# regulator of the province, of another province, and as a data subject.
PROVINCE_SCOPED = {
    "regulator_filing",
    "regulator_evidence",
    "regulator_acknowledge",
    "regulator_document",
    "regulator_pack",
    "regulator_attachment",
}
POST_ONLY = {"consent_withdraw", "ward_copy_request"}


def _signed_in(client, user):
    if user.is_staff:
        factories.staff_login(client, user)
        return
    client.force_login(user)
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [{"method": "code", "at": timezone.now().timestamp()}]
    session.save()


@pytest.fixture
def world(entity, purpose):
    system = factories.active_system(entity=entity, purpose=purpose)
    owner_subject = factories.subject(phone="13811110000", date_of_birth=dt.date(1980, 1, 1))
    owner = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=owner_subject, user=owner)
    child = factories.subject(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 8))
    guardianship_record(actor="t", ward=child, guardian=owner_subject, relationship="parent", verified=True)
    holding = factories.holding(owner_subject, system)
    other_system = factories.active_system(entity=entity, purpose=purpose)
    factories.holding(owner_subject, other_system)
    deletion = deletion_request_open(
        actor="t", subject=owner_subject, trigger="subject_request", systems=[other_system]
    )
    propagation_confirm(actor="t", propagation=deletion.propagations.get(), outcome="deleted", evidence={"n": 1})
    request = request_submit(actor="t", subject=owner_subject, type="access")
    # A deceased parent the owner was approved to act for (PIPL Art 49).
    deceased = factories.subject(phone="13844440000", date_of_birth=dt.date(1940, 1, 1))
    claim = deceased_claim_submit(
        actor="t",
        relative=owner_subject,
        relationship="child",
        proof=b"%PDF-1.4",
        content_type="application/pdf",
        note="x",
    )
    deceased_claim_approve(actor="t", claim=claim, deceased=deceased)
    export = export_request(actor="t", user=owner, subject=owner_subject, language="zh-hans")
    export_build(export_id=export.pk)

    other_subject = factories.subject(phone="13822220000", date_of_birth=dt.date(1985, 1, 1))
    other = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=other_subject, user=other)
    guardian_of_another = factories.user_with_role("guardian")
    guardian_subject = factories.subject(phone="13833330000", date_of_birth=dt.date(1975, 1, 1))
    subject_link_user(actor="t", subject=guardian_subject, user=guardian_of_another)
    another_child = factories.subject(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 7))
    guardianship_record(actor="t", ward=another_child, guardian=guardian_subject, relationship="parent", verified=True)
    staff = factories.user_with_role("operator", is_staff=True)
    # A written consent the owner signed (R4), for its signed record.
    notary = factories.active_system(entity=entity, purpose=purpose, requires_written_consent=True)
    notice = notice_current(notary)
    body = written_consent_body(system=notary, purpose=purpose, notice=notice, language="zh-hans")
    signed = written_consent_sign(
        actor="t",
        subject=owner_subject,
        system=notary,
        purpose=purpose,
        notice=notice,
        provenance=Provenance(channel="portal"),
        signature=Signature(name="王小明", shown_sha256=written_consent_fingerprint(body), language="zh-hans"),
        where=Where.PORTAL,
    )
    return {
        "signed": signed,
        "system": system,
        "holding": holding,
        "deletion": deletion,
        "request": request,
        "export": export,
        "child": child,
        "deceased": deceased,
        "owner": owner,
        "intruders": {"another subject": other, "a guardian of another child": guardian_of_another, "staff": staff},
    }


def _portal_routes():
    resolver = get_resolver()
    portal = next(p for p in resolver.url_patterns if getattr(p, "namespace", None) == "portal")
    return [(p.name, p.pattern.converters) for p in portal.url_patterns]


def test_every_portal_route_with_arguments_is_in_the_matrix():
    named = {name for name, converters in _portal_routes() if converters}
    assert named - set(OWNED) - PUBLIC_WITH_ARGS - PROVINCE_SCOPED == set()


@pytest.mark.parametrize("name", sorted(OWNED))
def test_only_the_owner_gets_it(client, world, name):
    url = reverse(f"portal:{name}", args=OWNED[name](world))
    method = client.post if name in POST_ONLY else client.get
    for who, user in world["intruders"].items():
        _signed_in(client, user)
        assert method(url).status_code in (403, 404), f"{who} reached {name}"
    client.logout()
    response = method(url)
    assert response.status_code == 302 and reverse("account_login") in response["Location"], "anonymous"
    _signed_in(client, world["owner"])
    assert method(url).status_code in (200, 302), "the owner"


def test_personal_pages_are_never_cached_and_scripts_come_only_from_the_site(client, world):
    _signed_in(client, world["owner"])
    response = client.get(reverse("portal:dashboard"))
    assert "no-store" in response["Cache-Control"]
    csp = response["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert script_src.strip() == "script-src 'self'"
    assert "frame-ancestors 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"]
    body = response.content.decode()
    assert "<script>" not in body and " onclick=" not in body
    assert "http://" not in body.replace("http://testserver", "") and "https://" not in body
