"""The consent receipt (ISO/IEC TS 27560): what a person keeps of a consent, true, signed, and printable."""

import datetime as dt
import json

import jsonschema_rs
import pytest
from django.test import Client
from django.urls import reverse

from consent.receipts import receipt_fingerprint, receipt_schema
from consent.services import Provenance, consent_withdraw, consents_renewal_require
from consent.sessions import consent_session_answer, consent_session_open
from dataops.registry.models import ProcessingSystem
from facerights import signing
from facerights.models import AuditEvent
from tests import factories
from tests.reading import pdf_text

pytestmark = pytest.mark.django_db


def _receipt(client, record, extension="json", language="en"):
    response = client.get(reverse("portal:consent_receipt", args=[record.pk, extension]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response.content[:300]
    return response


def test_the_receipt_follows_the_27560_schema_and_its_fingerprint_and_signature_verify(subject_client, subject, system):
    record = factories.consent(subject, system)
    response = _receipt(subject_client, record)
    receipt = json.loads(response.content)
    validator = jsonschema_rs.validator_for(receipt_schema())
    validator.validate(receipt)
    with pytest.raises(jsonschema_rs.ValidationError):  # strict: a field the schema does not document is refused
        validator.validate({**receipt, "face_template": "..."})
    assert receipt["pii_principal_id"] == str(subject.uuid)
    assert receipt["pii_controllers"][0]["party_id"] == system.entity.credit_code
    assert receipt["privacy_notice"]["version"] == record.notice.version
    assert receipt["privacy_notice"]["sha256"] == record.notice.digest
    assert receipt["privacy_notice"]["text"] == record.notice.snapshot["en"]  # the notice as shown, in English
    assert [e["event_state"] for e in receipt["events"]] == ["given"] and receipt["state"] == "active"
    # Anyone can check it: the fingerprint recomputes, and the deployment's key signed it as a consent receipt.
    assert receipt_fingerprint(receipt) == receipt["proof"]["sha256"] == response["X-Receipt-Fingerprint"]
    verified = signing.verify(receipt["proof"]["sha256"], receipt["proof"]["signature"])
    assert verified is not None and verified.kind == "consent_receipt"
    # Nothing that names or reaches the person: the pseudonymous id only.
    assert "13800138000" not in response.content.decode() and "wang@example.com" not in response.content.decode()
    # The same consent in the same state gives the same receipt, byte for byte.
    assert _receipt(subject_client, record).content == response.content


def test_a_withdrawn_consents_receipt_says_so_in_order_and_is_a_new_fingerprint(subject_client, subject, system):
    record = factories.consent(subject, system)
    before = json.loads(_receipt(subject_client, record).content)
    consent_withdraw(actor="t", record=record, provenance=Provenance(channel="portal"))
    after = json.loads(_receipt(subject_client, record).content)
    assert [e["event_state"] for e in after["events"]] == ["given", "withdrawn"] and after["state"] == "withdrawn"
    assert after["receipt_id"] == before["receipt_id"] and after["proof"]["sha256"] != before["proof"]["sha256"]


def test_an_unknown_fact_is_stated_as_unknown_never_as_a_comforting_default(subject_client, subject, system):
    ProcessingSystem.objects.filter(pk=system.pk).update(cross_border=None)
    record = factories.consent(subject, system)
    receipt = json.loads(_receipt(subject_client, record).content)
    assert receipt["processing_locations"] is None
    text = pdf_text(_receipt(subject_client, record, "pdf").content)
    assert "not yet stated by the company" in text and "mainland China only" not in text
    ProcessingSystem.objects.filter(pk=system.pk).update(cross_border=False)
    assert json.loads(_receipt(subject_client, record).content)["processing_locations"] == ["CN"]


def test_the_printable_receipt_reads_in_the_persons_language_with_the_notice_and_how_to_withdraw(
    subject_client, subject, system
):
    record = factories.consent(subject, system)
    response = _receipt(subject_client, record, "pdf", language="zh-hans")
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content, layout=False)
    assert "同意回执" in text and system.name_zh in text
    assert record.notice.snapshot["zh"]["purpose"].split("\n")[0][:10] in text  # the notice itself, as shown
    assert "/r/" in text.replace("\n", "")  # how to withdraw: the receipt's link
    assert response["X-Receipt-Fingerprint"] in text.replace("\n", "")


def test_only_the_person_or_their_guardian_gets_a_receipt(subject_client, subject, other_subject, system):
    theirs = factories.consent(other_subject, system)
    for extension in ("json", "pdf"):
        response = subject_client.get(reverse("portal:consent_receipt", args=[theirs.pk, extension]))
        assert response.status_code == 404
    assert Client().get(reverse("portal:consent_receipt", args=[theirs.pk, "json"])).status_code == 302  # sign in
    mine = factories.consent(subject, system)
    assert subject_client.get(reverse("portal:consent_receipt", args=[mine.pk, "xml"])).status_code == 404


def test_the_consent_history_offers_each_receipt(subject_client, subject, system):
    record = factories.consent(subject, system)
    page = subject_client.get(reverse("portal:consent_history"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("portal:consent_receipt", args=[record.pk, "pdf"]) in page
    assert reverse("portal:consent_receipt", args=[record.pk, "json"]) in page


def test_a_person_who_consented_at_a_device_downloads_the_receipt_from_the_page_they_answered_on(
    client, system, purpose
):
    session, token = consent_session_open(actor="t", system=system, purpose=purpose, subject_key="ROOM-1")
    consent_session_answer(
        session=session,
        answer="consent",
        date_of_birth=dt.date(1980, 1, 1),
        notice_version=system.notices.get().version,
        provenance=Provenance(channel="device"),
    )
    page = client.get(reverse("portal:consent_session", args=[token]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("portal:consent_session_receipt", args=[token, "pdf"]) in page
    response = client.get(reverse("portal:consent_session_receipt", args=[token, "json"]))
    receipt = json.loads(response.content)
    jsonschema_rs.validator_for(receipt_schema()).validate(receipt)
    assert receipt["collection_method"] == "device" and receipt["events"][0]["channel"] == "device"
    assert client.get(reverse("portal:consent_session_receipt", args=[token, "pdf"]))["Content-Type"] == (
        "application/pdf"
    )


def test_no_receipt_where_nothing_was_consented_or_the_address_is_unknown(client, system, purpose):
    session, token = consent_session_open(actor="t", system=system, purpose=purpose, subject_key="ROOM-2")
    assert client.get(reverse("portal:consent_session_receipt", args=[token, "json"])).status_code == 404  # open
    consent_session_answer(
        session=session,
        answer="decline",
        date_of_birth=None,
        notice_version=system.notices.get().version,
        provenance=Provenance(channel="device"),
    )
    assert client.get(reverse("portal:consent_session_receipt", args=[token, "json"])).status_code == 404
    assert client.get(reverse("portal:consent_session_receipt", args=["not-a-token", "json"])).status_code == 404


def test_the_dpo_exports_many_peoples_receipts_at_once_each_valid_and_the_export_is_audited(
    dpo_client, subject, other_subject, system
):
    factories.consent(subject, system)
    factories.consent(other_subject, system)
    response = dpo_client.post(
        reverse("admin:consent_datasubject_changelist"),
        {"action": "consent_receipts", "_selected_action": [subject.pk, other_subject.pk]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    document = json.loads(response.content)
    assert document["receipt_schema"] == receipt_schema()["$id"] and document["people"] == 2
    validator = jsonschema_rs.validator_for(receipt_schema())
    for receipt in document["receipts"]:
        validator.validate(receipt)
        assert receipt_fingerprint(receipt) == receipt["proof"]["sha256"]
    assert {r["pii_principal_id"] for r in document["receipts"]} == {str(subject.uuid), str(other_subject.uuid)}
    assert AuditEvent.objects.filter(action="consent.receipts_exported").count() == 2


def test_the_verify_page_names_a_receipts_signature(client, subject_client, subject, system):
    receipt = json.loads(_receipt(subject_client, factories.consent(subject, system)).content)
    page = Client().post(
        reverse("portal:verify"),
        {"fingerprint": receipt["proof"]["sha256"], "signature": receipt["proof"]["signature"]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "issued a consent receipt with this fingerprint" in page.content.decode()


def test_a_guardians_consent_cites_pipl_art_31_and_each_event_names_who_acted(guardian_client, subject, ward, system):
    record = factories.consent(ward, system, method="guardian", guardian=subject)
    consents_renewal_require(actor="t", system_id=system.pk, reason="method changed")  # the company's act
    receipt = json.loads(_receipt(guardian_client, record).content)
    jsonschema_rs.validator_for(receipt_schema()).validate(receipt)
    assert receipt["purposes"][0]["lawful_basis"].startswith("PIPL Art 31")
    given, renewal = receipt["events"]
    assert (given["event_state"], given["entity_role"], given["entity_id"]) == ("given", "guardian", str(subject.uuid))
    assert (renewal["event_state"], renewal["entity_role"], renewal["channel"]) == (
        "renewal_required",
        "controller",
        None,
    )
    assert renewal["entity_id"] == system.entity.credit_code
