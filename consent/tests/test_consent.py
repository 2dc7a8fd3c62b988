import datetime as dt

import pytest
from django.utils import timezone

from consent.models import ConsentEvent, ConsentRecord
from consent.rules import needs_guardian_consent
from consent.services import (
    ConsentError,
    Provenance,
    consent_grant,
    consent_withdraw,
    guardianship_record,
    notice_current,
)
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.mark.parametrize(
    ("born", "on", "needs_guardian"),
    [
        (D(2012, 6, 15), D(2026, 6, 14), True),  # the day before the 14th birthday
        (D(2012, 6, 15), D(2026, 6, 15), False),  # the 14th birthday itself
        (D(2012, 6, 15), D(2026, 6, 16), False),
        (D(2012, 2, 29), D(2026, 2, 28), True),  # 29 February: a common year's birthday is 1 March
        (D(2012, 2, 29), D(2026, 3, 1), False),
        (D(2012, 2, 29), D(2026, 2, 27), True),
        (D(2008, 2, 29), D(2022, 2, 28), True),
        (D(2008, 2, 29), D(2022, 3, 1), False),
        (D(1990, 1, 1), D(2026, 1, 1), False),
    ],
)
def test_who_needs_a_guardian_on_a_given_day(born, on, needs_guardian):
    assert needs_guardian_consent(born, on) is needs_guardian


def test_an_unknown_date_of_birth_does_not_trigger_the_guardian_rule():
    assert needs_guardian_consent(None, D(2026, 1, 1)) is False


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
