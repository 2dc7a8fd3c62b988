"""Notices to the people an incident affects (PIPL Art 57): contents, approval, who is told, delivery once, drills."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from consent.models import DataSubject
from consent.services import guardianship_record
from dataops.incidents.models import Incident, IncidentNotice, NoticeDelivery
from dataops.incidents.notices import (
    ITEMS,
    deliveries_claim,
    notice_approve,
    notice_draft,
    notice_publish,
    notice_save,
    notice_sections,
    notice_send,
    notices_deliver,
)
from dataops.incidents.services import incident_save
from facerights.sms import MemorySmsBackend
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(entity, system, purpose):
    """An adult (email and phone), a child whose guardian has an email, a person of unknown age (phone only),
    a child with no guardian, and a bystander held by another system."""
    before = timezone.now() - dt.timedelta(days=10)
    adult = factories.subject(phone="13700000001", email="adult@example.com")
    child, orphan = factories.subject(phone=None, name="王小宝"), factories.subject(name="李小宝")
    unknown = factories.subject(phone="13700000003")
    for person in (adult, child, orphan, unknown):
        factories.holding(person, system, enrolled_at=before)
    eight = timezone.localdate() - dt.timedelta(days=365 * 8)
    DataSubject.objects.filter(pk__in=[child.pk, orphan.pk]).update(date_of_birth=eight)
    DataSubject.objects.filter(pk=unknown.pk).update(date_of_birth=None)
    guardian = factories.subject(email="parent@example.com")
    guardianship_record(actor="test", ward=child, guardian=guardian, relationship="parent", verified=True)
    bystander = factories.subject(email="bystander@example.com")
    factories.holding(bystander, factories.active_system(entity=entity, purpose=purpose), enrolled_at=before)
    return {"adult": adult, "child": child, "guardian": guardian, "unknown": unknown, "bystander": bystander}


def _incident(entity, system, *, grade="larger", drill=False) -> Incident:
    return incident_save(
        actor="test",
        incident=Incident(
            entity=entity,
            summary="Templates copied from the gate server.",
            discovered_at=timezone.now() - dt.timedelta(minutes=5),
            grade=grade,
            data_kinds=["templates", "identifiers"],
            cause="运维笔记本电脑丢失，存有未加密的导出文件。",
            measures="已远程擦除并吊销凭据。",
            is_drill=drill,
        ),
        systems=[system],
    )


def _ready(incident) -> IncidentNotice:
    notice = notice_draft(actor="test", incident=incident)
    notice.cause_en = "A maintenance laptop holding an unencrypted export was lost."
    notice.remedies_en = "It was wiped remotely and its credentials revoked."
    return notice_save(actor="test", notice=notice)


def _sent(entity, system, **kwargs) -> IncidentNotice:
    notice = _ready(_incident(entity, system, **kwargs))
    notice_approve(actor="dpo:1", notice=notice)
    if notice.incident.is_severe:
        notice_approve(actor="dpo:2", notice=notice)
    notice_send(actor="dpo:1", notice=notice)
    notice.refresh_from_db()
    return notice


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("item", [item for item, _label in ITEMS])
def test_the_email_and_the_portal_give_every_art57_item_in_both_languages(
    client, world, entity, system, item, language
):
    notice = _sent(entity, system)
    notices_deliver()
    sections = dict(zip([name for name, _label in ITEMS], notice_sections(notice, language), strict=True))
    label, text = sections[item]
    assert text.strip()
    body = next(m.body for m in mail.outbox if m.to == ["adult@example.com"])
    assert f"{label}: {text}" in body
    factories.subject_login(client, world["adult"])
    page = client.get(
        reverse("portal:my_notices"), headers={"Accept-Language": "zh-hans" if language == "zh" else "en"}
    )
    assert label in page.content.decode() and text.split("。")[0].split(".")[0] in page.content.decode()


def test_approval_needs_every_item_and_a_second_person_for_a_major_incident(world, entity, system):
    notice = notice_draft(actor="test", incident=_incident(entity, system, grade="major"))
    with pytest.raises(ValidationError, match="The cause \\(en\\)"):
        notice_approve(actor="dpo:1", notice=notice)
    notice.cause_en, notice.remedies_en = "A laptop was lost.", "Wiped."
    notice_save(actor="test", notice=notice)
    notice = notice_approve(actor="dpo:1", notice=notice)
    assert notice.state == IncidentNotice.State.DRAFT
    with pytest.raises(ValidationError, match="second person"):
        notice_approve(actor="dpo:1", notice=notice)
    with pytest.raises(ValidationError, match="approved"):
        notice_send(actor="dpo:1", notice=notice)
    notice = notice_approve(actor="dpo:2", notice=notice)
    assert notice.state == IncidentNotice.State.APPROVED
    notice.advice_en += " Call us."
    notice = notice_save(actor="test", notice=notice)  # a change asks for the approvals again
    assert notice.state == IncidentNotice.State.DRAFT and not notice.approved_by


def test_each_person_affected_is_told_once_a_childs_guardian_in_their_place_and_no_bystander(world, entity, system):
    notice = _sent(entity, system)
    rows = {(r.recipient_id, r.channel, r.as_guardian) for r in notice.deliveries.all()}
    adult, guardian, unknown = world["adult"].pk, world["guardian"].pk, world["unknown"].pk
    assert rows == {
        (adult, "portal", False),
        (adult, "email", False),
        (adult, "sms", False),
        (guardian, "portal", True),
        (guardian, "email", True),
        (unknown, "portal", False),
        (unknown, "sms", False),
    }
    assert notices_deliver() == 4
    assert notices_deliver() == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["adult@example.com", "parent@example.com"]
    assert "孩子" in next(m.body for m in mail.outbox if m.to == ["parent@example.com"])
    assert sorted(phone for phone, _t in MemorySmsBackend.outbox) == ["+8613700000001", "+8613700000003"]
    assert all(notice.reference in text for _p, text in MemorySmsBackend.outbox)  # the link to the full notice


def test_a_killed_worker_leaves_no_one_missed_or_told_twice(world, entity, system, settings):
    notice = _sent(entity, system)
    claimed = deliveries_claim()  # a worker claims its batch, then dies before sending
    assert len(claimed) == 4
    assert notices_deliver() == 0  # still under the dead worker's lease
    later = timezone.now() + dt.timedelta(seconds=settings.FACERIGHTS_CLAIM_LEASE_SECONDS + 1)
    assert notices_deliver(now=later) == 4
    assert notices_deliver(now=later + dt.timedelta(hours=1)) == 0
    assert len(mail.outbox) == 2 and len(MemorySmsBackend.outbox) == 2
    assert set(notice.deliveries.values_list("state", flat=True)) == {"sent"}


def test_a_failed_send_is_retried_and_at_last_left_for_the_dpo_never_dropped(world, entity, system, monkeypatch):
    notice = _sent(entity, system)

    def refuse(*args, **kwargs):
        raise OSError("gateway down")

    monkeypatch.setattr("dataops.incidents.notices.sms_send", refuse)
    notices_deliver()
    sms = notice.deliveries.filter(channel="sms")
    assert set(sms.values_list("state", flat=True)) == {"pending"}
    assert all(row.next_attempt_at > timezone.now() and "gateway down" in row.last_error for row in sms)
    far = timezone.now()
    for _attempt in range(10):
        far += dt.timedelta(hours=7)
        notices_deliver(now=far)
    assert set(sms.values_list("state", flat=True)) == {"failed"}
    monkeypatch.undo()
    assert set(notice.deliveries.filter(channel="email").values_list("state", flat=True)) == {"sent"}


def test_a_drill_tells_no_one(client, world, entity, system):
    notice = _sent(entity, system, drill=True)
    assert notices_deliver() == 0
    assert mail.outbox == [] and MemorySmsBackend.outbox == []
    assert set(notice.deliveries.values_list("state", flat=True)) == {NoticeDelivery.State.REHEARSED}
    factories.subject_login(client, world["adult"])
    assert "安全事件" not in client.get(reverse("portal:dashboard")).content.decode()
    assert client.get(reverse("portal:notice", args=[notice.reference])).status_code == 404
    with pytest.raises(ValidationError):
        notice_publish(actor="dpo:1", notice=notice)


def test_the_person_sees_a_banner_and_a_bystander_sees_nothing(client, world, entity, system):
    notice = _sent(entity, system)
    factories.subject_login(client, world["adult"])
    page = client.get(reverse("portal:dashboard"), headers={"Accept-Language": "en"}).content.decode()
    assert "1 security incident may have involved your information." in page
    client.logout()
    factories.subject_login(client, world["bystander"])
    assert (
        "security incident"
        not in client.get(reverse("portal:dashboard"), headers={"Accept-Language": "en"}).content.decode()
    )
    assert (
        "No security incident has concerned you."
        in client.get(reverse("portal:my_notices"), headers={"Accept-Language": "en"}).content.decode()
    )
    client.logout()
    public = client.get(reverse("portal:notice", args=[notice.reference]), headers={"Accept-Language": "en"})
    assert public.status_code == 200 and "What you can do to reduce the harm" in public.content.decode()
    assert notice.reference not in client.get(reverse("portal:announcements")).content.decode()
    notice_publish(actor="dpo:1", notice=notice)
    assert notice.reference in client.get(reverse("portal:announcements")).content.decode()


def test_a_draft_has_no_public_page(client, world, entity, system):
    notice = _ready(_incident(entity, system))
    assert client.get(reverse("portal:notice", args=[notice.reference])).status_code == 404


def test_a_person_told_of_an_incident_can_make_a_request_about_it_and_nobody_else_can_name_it(
    client, world, entity, system
):
    notice = _sent(entity, system)
    factories.subject_login(client, world["adult"])
    form = client.get(reverse("portal:request_new"), headers={"Accept-Language": "en"}).content.decode()
    assert notice.incident.reference in form
    response = client.post(
        reverse("portal:request_new"),
        {"type": "complaint", "details": "Why was my template exported?", "incident": notice.incident.pk},
    )
    assert response.status_code == 302
    request = world["adult"].requests.get()
    assert request.incident == notice.incident
    assert notice.incident.reference in client.get(response["Location"]).content.decode()
    client.logout()
    factories.subject_login(client, world["bystander"])
    response = client.post(
        reverse("portal:request_new"),
        {"type": "complaint", "details": "Tell me about it.", "incident": notice.incident.pk},
    )
    assert response.status_code == 302  # the field is not offered: the request is made, about no incident
    assert world["bystander"].requests.get().incident is None


def test_the_dpo_drafts_a_notice_from_the_incident_in_the_admin(dpo_client, world, entity, system):
    incident = _incident(entity, system)
    response = dpo_client.post(reverse("admin:dataops_incidentnotice_add"), {"incident": incident.pk})
    notice = IncidentNotice.objects.get(incident=incident)
    assert response["Location"] == reverse("admin:dataops_incidentnotice_change", args=[notice.pk])
    assert notice.cause_zh == incident.cause and notice.contact_en and notice.harm_en
    page = dpo_client.get(response["Location"], headers={"Accept-Language": "en"}).content.decode()
    assert "The cause (en)" in page  # what is still missing before it can be approved


def test_the_dpo_sees_who_can_be_told_only_on_the_portal(dpo_client, world, entity, system):
    nobody_to_write_to = factories.subject(name="赵六")
    factories.holding(nobody_to_write_to, system, enrolled_at=timezone.now() - dt.timedelta(days=10))
    notice = _sent(entity, system)
    page = dpo_client.get(
        reverse("admin:dataops_incidentnotice_change", args=[notice.pk]), headers={"Accept-Language": "en"}
    ).content.decode()
    assert "1 people have no email or phone on record" in page
    assert "<p>Email: " in page or "<p>email: " in page  # the per-channel counts stay markup, not escaped text
