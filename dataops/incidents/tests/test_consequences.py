"""What an incident sets off: the vendor's list of the keys exposed, and a review of each processor's contract."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from dataops.incidents.affected import affected_count
from dataops.incidents.keys import affected_keys_upload
from dataops.incidents.models import AffectedKeyList, ContractReview, CorrectiveAction, Incident, NoticeDelivery
from dataops.incidents.notices import notice_approve, notice_draft, notice_save, notice_send
from dataops.incidents.services import (
    contract_review_decide,
    corrective_action_save,
    incident_close,
    incident_report_record,
    incident_save,
)
from dataops.incidents.timeline import event_text
from tests import factories

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}


def _open(entity, systems, *, drill=False, discovered=None) -> Incident:
    return incident_save(
        actor="test",
        incident=Incident(
            entity=entity,
            summary="An export of the gate's templates was found on a vendor's share.",
            discovered_at=discovered or timezone.now() - dt.timedelta(minutes=5),
            grade="larger",
            data_kinds=["templates"],
            is_drill=drill,
        ),
        systems=systems,
    )


@pytest.fixture
def held(system):
    """Three people held by the system at discovery, under keys G-1, G-2, G-3."""
    people = [factories.subject(email=f"guest{n}@example.com") for n in (1, 2, 3)]
    enrolled = timezone.now() - dt.timedelta(days=10)
    for n, person in enumerate(people, start=1):
        factories.holding(person, system, key=f"G-{n}", enrolled_at=enrolled)
    return people


def _upload(client, incident, system, content: bytes, name="keys.csv"):
    return client.post(
        reverse("admin:dataops_incident_keys", args=[incident.pk]),
        {"system": system.pk, "upload": SimpleUploadedFile(name, content, content_type="text/csv")},
        headers=EN,
    )


def test_the_vendors_list_of_keys_narrows_who_is_affected_and_who_is_told(operator_client, entity, system, held):
    incident = _open(entity, [system])
    assert affected_count(incident).total == 3
    page = operator_client.get(reverse("admin:dataops_incident_change", args=[incident.pk]), headers=EN)
    assert reverse("admin:dataops_incident_keys", args=[incident.pk]) in page.content.decode()

    # A CSV export from the vendor: a header, the key in the first column, one key the registry does not know.
    response = _upload(operator_client, incident, system, b"subject_key,exported\nG-1,2026-11-30\nG-3,x\nZ-9,x\n")
    assert response.status_code == 302
    assert affected_count(incident).total == 2
    with translation.override("en"):
        text = event_text(incident.events.get(kind="keys"))
    assert "3 keys" in text and "2 match people on record" in text and "1 key matches no one on record" in text
    page = operator_client.get(reverse("admin:dataops_incident_change", args=[incident.pk]), headers=EN)
    assert "only the 3 keys of the vendor&#x27;s list" in page.content.decode()

    # The notice goes to exactly those two people.
    notice = notice_draft(actor="test", incident=incident)
    for field in ("cause", "harm", "remedies", "advice", "contact"):
        setattr(notice, f"{field}_zh", "内容")
        setattr(notice, f"{field}_en", "Text")
    notice_save(actor="test", notice=notice)
    notice_approve(actor="dpo:1", notice=notice)
    notice_send(actor="dpo:1", notice=notice)
    told = set(NoticeDelivery.objects.filter(notice=notice, channel="email").values_list("recipient_id", flat=True))
    assert told == {held[0].pk, held[2].pk}


def test_a_later_list_replaces_the_earlier_which_stays_on_record(entity, system, held):
    incident = _open(entity, [system])
    affected_keys_upload(actor="test", incident=incident, system=system, content=b"G-1\n")
    affected_keys_upload(actor="test", incident=incident, system=system, content=b"G-1\nG-2\n\n")
    assert affected_count(incident).total == 2
    assert AffectedKeyList.objects.filter(incident=incident).count() == 2
    assert incident.events.filter(kind="keys").count() == 2


def test_a_bad_file_is_explained_by_line_and_nothing_is_kept(operator_client, entity, system, held):
    incident = _open(entity, [system])
    too_long = "G-1\n" + "X" * 200 + "\nG-2\n"
    response = _upload(operator_client, incident, system, too_long.encode())
    assert response.status_code == 200
    assert "line 2: longer than 128 characters" in response.content.decode()
    response = _upload(operator_client, incident, system, "G-1\n".encode("utf-16"))
    assert "not a text file" in response.content.decode() or "not UTF-8" in response.content.decode()
    response = _upload(operator_client, incident, system, b"\n\n")
    assert "holds no keys" in response.content.decode()
    assert not AffectedKeyList.objects.exists()
    assert affected_count(incident).total == 3


def test_a_list_is_only_for_a_system_of_the_incident(entity, system, held, purpose):
    other = factories.active_system(entity=entity, purpose=purpose)
    incident = _open(entity, [system])
    with pytest.raises(ValidationError):
        affected_keys_upload(actor="test", incident=incident, system=other, content=b"G-1\n")
    assert not AffectedKeyList.objects.exists()


def _processor(entity, purpose):
    return factories.active_system(
        entity=entity, purpose=purpose, kind="processor", name_zh="云识别受托方", contract_reference="HT-9"
    )


def test_an_incident_involving_a_processor_opens_a_contract_review_and_cannot_close_until_decided(
    entity, system, purpose
):
    processor = _processor(entity, purpose)
    incident = _open(entity, [system, processor])
    [review] = incident.contract_reviews.all()
    assert review.system == processor and review.outcome == ""
    with translation.override("en"):
        assert "云识别受托方" in event_text(incident.events.get(kind="contract_review"))
    incident_report_record(actor="test", incident=incident, reported_at=timezone.now(), channel="12387")
    corrective_action_save(
        actor="test",
        action=CorrectiveAction(incident=incident, action="Rotate keys", owner="IT", due_on=timezone.localdate()),
    )
    with pytest.raises(ValidationError, match="contract reviews"):
        incident_close(actor="test", incident=incident, root_cause="Share left open", review="Closed the share")
    contract_review_decide(actor="dpo", review=review, outcome="suspended", findings="No encryption at rest.")
    processor.refresh_from_db()
    assert processor.enrolments_paused  # suspended until remedied
    incident_close(actor="test", incident=incident, root_cause="Share left open", review="Closed the share")
    assert Incident.objects.get(pk=incident.pk).state == "closed"


def test_a_processor_added_later_opens_its_review_once_and_a_drill_opens_none(entity, system, purpose):
    processor = _processor(entity, purpose)
    incident = _open(entity, [system])
    assert not incident.contract_reviews.exists()
    incident.summary += " The vendor's cloud copy too."
    incident_save(actor="test", incident=incident, systems=[system, processor])
    incident_save(actor="test", incident=incident, systems=[system, processor])
    assert incident.contract_reviews.count() == 1
    drill = _open(entity, [processor], drill=True)
    assert not drill.contract_reviews.exists()


def test_only_the_dpo_decides_a_contract_review_with_findings(operator_client, entity, system, purpose, dpo):
    processor = _processor(entity, purpose)
    incident = _open(entity, [processor])
    review = incident.contract_reviews.get()
    url = reverse("admin:dataops_contractreview_change", args=[review.pk])
    assert operator_client.post(url, {"outcome": "kept", "findings": "Fine."}, headers=EN).status_code == 403
    review.refresh_from_db()
    assert review.outcome == ""

    dpo_client = Client()
    factories.staff_login(dpo_client, dpo)
    response = dpo_client.post(url, {"outcome": "amended", "findings": ""}, headers=EN)
    assert "Give the findings" in response.content.decode()
    dpo_client.post(url, {"outcome": "amended", "findings": "Encryption at rest added to the contract."}, headers=EN)
    review.refresh_from_db()
    assert review.outcome == ContractReview.Outcome.AMENDED and review.decided_by.startswith("user:")
    page = dpo_client.get(reverse("admin:dataops_incident_change", args=[incident.pk]), headers=EN).content.decode()
    assert "contract amended" in page
    review_page = dpo_client.get(url, headers=EN).content.decode()
    assert "(data-protection officer)" in review_page and f"user:{dpo.pk}" not in review_page
