import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent.messaging import came_of_age_send
from consent.models import ConsentEvent, ConsentRecord, Guardianship
from consent.rules import needs_guardian_consent
from consent.services import (
    AgeAttestation,
    ConsentError,
    Provenance,
    consent_grant,
    consent_withdraw,
    guardian_consents_come_of_age,
    guardianship_record,
    notice_current,
    subject_identifier_add,
)
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.mark.parametrize(
    ("born", "on", "needs_guardian"),
    [
        (D(2012, 6, 15), D(2026, 6, 14), True),  # the day before the 14th birthday
        (D(2012, 6, 15), D(2026, 6, 15), True),  # the 14th birthday itself: 周岁 count from the day after
        (D(2012, 6, 15), D(2026, 6, 16), False),
        (D(2012, 2, 29), D(2026, 2, 28), True),  # 29 February: a common year's birthday is 1 March
        (D(2012, 2, 29), D(2026, 3, 1), True),
        (D(2012, 2, 29), D(2026, 3, 2), False),
        (D(2008, 2, 29), D(2022, 3, 1), True),
        (D(2008, 2, 29), D(2022, 3, 2), False),
        (D(1990, 1, 1), D(2026, 1, 1), False),
    ],
)
def test_who_needs_a_guardian_on_a_given_day(born, on, needs_guardian):
    assert needs_guardian_consent(born, on) is needs_guardian


def test_an_unknown_date_of_birth_does_not_trigger_the_guardian_rule():
    assert needs_guardian_consent(None, D(2026, 1, 1)) is False


@pytest.mark.parametrize(
    "attestation",
    [None, AgeAttestation(by="  ", role="staff"), AgeAttestation(by="闸机 3 号", role="device")],
    ids=["none", "nameless", "a-device"],
)
def test_a_consent_without_a_date_of_birth_needs_a_named_attestation(system, attestation):
    # Used to pass: an unknown age was treated as an adult's.
    unknown = factories.subject(phone="13700137000", date_of_birth=None)
    with pytest.raises(ConsentError) as info:
        factories.consent(unknown, system, age_attestation=attestation)
    assert info.value.code == "age_unknown"
    assert not ConsentRecord.objects.exists()


def test_a_named_attestation_is_kept_with_the_consent(system):
    unknown = factories.subject(phone="13700137000", date_of_birth=None)
    record = factories.consent(unknown, system, age_attestation=AgeAttestation(by="张前台", role="staff"))
    assert (record.age_attested_by, record.age_attested_role) == ("张前台", "staff")


def test_consent_is_recorded_with_its_evidence_and_audited(subject, system):
    record = factories.consent(subject, system)
    assert record.state == ConsentRecord.State.ACTIVE
    assert record.notice == notice_current(system)
    assert (record.channel, record.ip_prefix) == ("portal", "203.0.113.0/24")
    assert [e.kind for e in record.events.all()] == [ConsentEvent.Kind.GIVEN]
    assert AuditEvent.objects.filter(chain=subject.audit_chain, action="consent.given").count() == 1


def test_giving_the_same_consent_twice_is_safe(subject, system):
    assert factories.consent(subject, system).pk == factories.consent(subject, system).pk
    assert ConsentRecord.objects.count() == 1


def test_withdrawal_is_an_event_never_a_deletion_and_is_idempotent(subject, system):
    record = factories.consent(subject, system)
    withdrawn = consent_withdraw(actor="t", record=record, provenance=Provenance())
    again = consent_withdraw(actor="t", record=record, provenance=Provenance())
    assert withdrawn.state == again.state == ConsentRecord.State.WITHDRAWN
    assert again.withdrawn_at == withdrawn.withdrawn_at
    assert [e.kind for e in record.events.all()] == ["given", "withdrawn"]
    assert AuditEvent.objects.filter(action="consent.withdrawn").count() == 1
    assert ConsentRecord.objects.filter(pk=record.pk).exists()


def test_consent_again_after_withdrawal_is_a_new_record(subject, system):
    first = factories.consent(subject, system)
    consent_withdraw(actor="t", record=first, provenance=Provenance())
    second = factories.consent(subject, system)
    assert second.pk != first.pk
    assert list(ConsentRecord.objects.order_by("pk").values_list("state", flat=True)) == ["withdrawn", "active"]


def test_a_new_notice_version_replaces_the_old_consent(subject, system):
    first = factories.consent(subject, system)
    factories.published_notice(system, purpose_zh="v2")
    second = factories.consent(subject, system)
    first.refresh_from_db()
    assert first.state == ConsentRecord.State.SUPERSEDED
    assert second.notice.version == 2


def test_consent_to_a_replaced_notice_is_refused(subject, system):
    old = notice_current(system)
    factories.published_notice(system, purpose_zh="v2")
    with pytest.raises(ConsentError) as info:
        factories.consent(subject, system, notice=old)
    assert info.value.code == "notice_outdated"


def test_consent_for_a_purpose_the_system_does_not_have_is_refused(subject, system):
    with pytest.raises(ConsentError):
        factories.consent(subject, system, purpose=factories.purpose())


def test_a_child_under_14_cannot_consent_alone(system):
    child = factories.subject(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 10))
    with pytest.raises(ConsentError) as info:
        factories.consent(child, system)
    assert info.value.code == "guardian_required"
    assert not ConsentRecord.objects.exists()


def test_only_a_verified_guardian_consents_for_a_child(system, subject):
    child = factories.subject(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 10))
    guardianship = guardianship_record(actor="t", ward=child, guardian=subject, relationship="parent")
    with pytest.raises(ConsentError) as info:
        factories.consent(child, system, method=ConsentRecord.Method.GUARDIAN, guardian=subject)
    assert info.value.code == "guardian_unverified"
    guardianship_record(actor="t", ward=child, guardian=subject, relationship="parent", verified=True)
    guardianship.refresh_from_db()
    assert guardianship.is_active
    record = factories.consent(child, system, method=ConsentRecord.Method.GUARDIAN, guardian=subject)
    assert record.guardian == subject


def test_guardian_consent_is_not_for_adults(system, subject, other_subject):
    with pytest.raises(ConsentError) as info:
        factories.consent(subject, system, method=ConsentRecord.Method.GUARDIAN, guardian=other_subject)
    assert info.value.code == "guardian_not_needed"


def test_written_consent_needs_the_signed_record(entity, site, purpose, subject):
    system = factories.active_system(entity=entity, site=site, purpose=purpose, requires_written_consent=True)
    with pytest.raises(ConsentError) as info:
        factories.consent(subject, system)
    assert info.value.code == "written"
    record = factories.consent(subject, system, method=ConsentRecord.Method.WRITTEN, artifact_sha256="a" * 64)
    assert record.artifact_sha256 == "a" * 64


def test_a_failed_consent_leaves_no_audit_event(system):
    child = factories.subject(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 5))
    before = AuditEvent.objects.count()
    with pytest.raises(ConsentError):
        consent_grant(
            actor="t",
            subject=child,
            system=system,
            purpose=system.purposes.first(),
            notice=notice_current(system),
            provenance=Provenance(),
        )
    assert AuditEvent.objects.count() == before


def test_a_guardians_consent_awaits_the_young_persons_own_from_the_day_after_the_14th_birthday(system, subject):
    today = timezone.localdate()
    fourteenth_yesterday = today.replace(year=today.year - 14) - dt.timedelta(days=1)
    fourteenth_today = today.replace(year=today.year - 14) if (today.month, today.day) != (2, 29) else None
    grown = factories.ward_of(subject, name="王大宝", date_of_birth=fourteenth_yesterday)
    subject_identifier_add(actor="t", subject=grown, kind="email", value="dabao@example.com")
    record = factories.consent(
        grown, system, method=ConsentRecord.Method.GUARDIAN, guardian=subject, at=timezone.now() - dt.timedelta(days=2)
    )
    if fourteenth_today:
        still_child = factories.ward_of(subject, name="王二宝", date_of_birth=fourteenth_today)
        kept = factories.consent(still_child, system, method=ConsentRecord.Method.GUARDIAN, guardian=subject)

    flagged = guardian_consents_come_of_age(today=today)
    assert [r.pk for r in flagged] == [record.pk]
    record.refresh_from_db()
    assert record.state == ConsentRecord.State.NEEDS_RECONSENT
    assert [e.kind for e in record.events.all()] == ["given", "reconsent_required"]
    if fourteenth_today:
        kept.refresh_from_db()
        assert kept.state == ConsentRecord.State.ACTIVE  # the 14th birthday itself: still the guardian's
    assert guardian_consents_come_of_age(today=today) == []  # safe to repeat

    assert came_of_age_send(flagged) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["dabao@example.com", "wang@example.com"]


def test_the_dpo_records_a_guardianship_after_checking_the_proof(dpo_client, subject):
    child = factories.subject(name="王小宝", date_of_birth=dt.date(2018, 3, 3))
    subject_identifier_add(actor="t", subject=child, kind="external", value="MEMBER-0042")
    url = reverse("admin:consent_guardianship_record")
    form = {"guardian": "wang@example.com", "child": "MEMBER-0042", "relationship": "parent", "proof": "户口簿 …1234"}

    refused = dpo_client.post(url, {**form, "child": "MEMBER-9999"})
    assert "没有使用此标识的记录" in refused.content.decode()
    factories.subject(phone="13700137000")  # an adult
    refused = dpo_client.post(url, {**form, "child": "13700137000"})
    assert "不满十四周岁" in refused.content.decode()
    assert not Guardianship.objects.exists()

    assert dpo_client.post(url, form).status_code == 302
    guardianship = Guardianship.objects.get(ward=child, guardian=subject)
    assert guardianship.is_active and guardianship.verified_by.startswith("user:")
    event = AuditEvent.objects.get(action="guardianship.verified")
    assert event.data["proof"] == "户口簿 …1234"
