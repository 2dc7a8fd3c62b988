"""Holdings: who is held where, under which key and consent."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import ConsentRecord, Guardianship, Purpose, SubjectMatchReview
from consent.services import AgeAttestation, Provenance, consent_withdraw, notice_current, subject_find
from dataops.registry.holdings import ConsentReport, GuardianCheck, consent_check, holding_record, holding_report
from dataops.registry.models import Holding, ImpactAssessment
from dataops.registry.services import (
    impact_assessment_approve,
    impact_assessment_submit,
    system_enrolments_pause,
    system_save,
    system_suspend,
)
from facerights.models import AuditEvent
from tests import factories
from tests.factories import ADULT

pytestmark = pytest.mark.django_db


def test_retention_ends_the_systems_retention_period_after_enrolment(subject, system):
    enrolled = dt.datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    holding = factories.holding(subject, system, enrolled_at=enrolled)
    assert system.retention_days == 30
    assert holding.retention_until == dt.date(2026, 3, 31)  # counted in Beijing time, not UTC


def test_recording_a_holding_twice_is_safe(subject, system):
    first = factories.holding(subject, system, key="KEY-1")
    again = holding_record(
        actor="t", subject=subject, system=system, subject_key="KEY-1", data_kind="template", consent=first.consent
    )
    assert again.pk == first.pk
    assert AuditEvent.objects.filter(action="holding.recorded").count() == 1


def test_a_systems_key_never_points_at_two_people(subject, other_subject, system):
    factories.holding(subject, system, key="KEY-1")
    with pytest.raises(ValidationError):
        holding_record(
            actor="t", subject=other_subject, system=system, subject_key="KEY-1", data_kind="template", consent=None
        )


def test_a_holding_rests_on_the_subjects_own_consent(subject, other_subject, system):
    someone_elses = factories.consent(other_subject, system)
    with pytest.raises(ValidationError):
        holding_record(
            actor="t", subject=subject, system=system, subject_key="K", data_kind="template", consent=someone_elses
        )


def _report(system, *, key="K-REPORTED", date_of_birth=None, phone="13800138000", **consent):
    return holding_report(
        system=system,
        subject_key=key,
        data_kind="template",
        enrolled_at=timezone.now(),
        identifiers={"phone": phone},
        date_of_birth=date_of_birth,
        consent=ConsentReport(
            purpose=system.purposes.exclude(code=Purpose.TRANSMISSION).order_by("pk").first().code,
            notice_version=notice_current(system).version,
            given_at=timezone.now(),
            **{"method": "separate", **consent},
        ),
    )


def test_a_system_whose_enrolments_are_paused_enrols_no_one_but_still_answers_for_those_it_holds(subject, system):
    held = factories.holding(subject, system)
    system = system_enrolments_pause(actor="dpo", system=system, paused=True)
    with pytest.raises(ValidationError) as info:
        _report(system, key="K-NEW")
    assert info.value.code == "enrolments_paused"
    assert not Holding.objects.filter(subject_key="K-NEW").exists()
    assert consent_check(system=system, subject_key=held.subject_key, purpose=system.purposes.first().code) == (
        True,
        "consent_active",
    )


def test_a_suspended_system_may_process_no_one(subject, system):
    held = factories.holding(subject, system)
    system = system_suspend(actor="dpo", system=system)
    assert consent_check(system=system, subject_key=held.subject_key, purpose=system.purposes.first().code) == (
        False,
        "system_not_active",
    )


def test_a_date_of_birth_a_report_brings_is_recorded_with_its_event(subject, system):
    subject.date_of_birth = None
    subject.save(update_fields=["date_of_birth"])
    _report(system, date_of_birth=dt.date(1990, 5, 17))
    subject.refresh_from_db()
    assert subject.date_of_birth == dt.date(1990, 5, 17)
    assert AuditEvent.objects.filter(action="subject.date_of_birth_set", chain=subject.audit_chain).count() == 1


def test_a_system_whose_processing_changed_enrols_no_one_new_until_reassessed(subject, other_subject, system):
    # Used to pass: a change flagged the assessment, and the system went on enrolling as if nothing had changed.
    held = factories.holding(subject, system)
    purpose = system.purposes.first().code
    system = system_save(actor="dpo", system=system, purposes=[*system.purposes.all(), factories.purpose()])
    assert system.reassessment_since is not None

    with pytest.raises(ValidationError) as info:
        _report(system, key="K-NEW")
    assert info.value.code == "reassessment"
    assert not Holding.objects.filter(subject_key="K-NEW").exists()
    # Someone who reached the system some other way since the change is not processed either...
    late = factories.holding(other_subject, system, key="K-LATE")
    assert consent_check(system=system, subject_key=late.subject_key, purpose=purpose) == (
        False,
        "reassessment_pending",
    )
    # ...while the people it held before keep their answer (and, tested with delivery, their deletions).
    assert consent_check(system=system, subject_key=held.subject_key, purpose=purpose) == (True, "consent_active")

    assessment = system.assessments.get()
    assert assessment.state == ImpactAssessment.State.NEEDS_REASSESSMENT
    impact_assessment_approve(actor="dpo", assessment=impact_assessment_submit(actor="dpo", assessment=assessment))
    system.refresh_from_db()
    assert system.reassessment_since is None
    assert _report(system, key="K-NEW", phone="13700137000", date_of_birth=ADULT).status == Holding.Status.ACTIVE
    assert consent_check(system=system, subject_key=late.subject_key, purpose=purpose) == (True, "consent_active")


def test_a_system_that_transmits_needs_the_persons_separate_consent_to_that(subject, entity, purpose):
    # Used to pass: one consent to the purpose let a system send faces over the internet.
    transmission = Purpose.objects.get(code=Purpose.TRANSMISSION)
    system = factories.active_system(entity=entity, purpose=purpose, transmits=True)
    with pytest.raises(ValidationError) as info:
        _report(system, key="K-NO")
    assert info.value.code == "transmission_consent"
    assert not Holding.objects.filter(subject_key="K-NO").exists()

    holding = _report(system, key="K-YES", transmission=True)
    assert consent_check(system=system, subject_key="K-YES", purpose=purpose.code) == (True, "consent_active")
    given = ConsentRecord.objects.get(subject=holding.subject, system=system, purpose=transmission)
    consent_withdraw(actor="t", record=given, provenance=Provenance(channel="portal"))
    assert consent_check(system=system, subject_key="K-YES", purpose=purpose.code) == (False, "no_transmission_consent")


def test_a_second_key_for_someone_already_held_is_refused_with_a_clear_error(subject, system):
    factories.holding(subject, system, key="K-FIRST")
    with pytest.raises(ValidationError) as info:
        _report(system, key="K-SECOND")  # the same phone: the same person
    assert info.value.code == "already_held"
    assert list(Holding.objects.filter(subject=subject, system=system).values_list("subject_key", flat=True)) == [
        "K-FIRST"
    ]


# --- Children and shared identifiers ----------------------------------------------------------


def test_a_report_about_someone_whose_age_is_unknown_needs_a_named_attestation(system):
    # Used to pass: no date of birth meant an adult, so a child could be enrolled on a device's word.
    with pytest.raises(ValidationError) as info:
        _report(system, key="K-NOBODY", phone="13700137000")
    assert info.value.code == "age_unknown"
    assert not Holding.objects.filter(subject_key="K-NOBODY").exists()
    assert subject_find(kind="phone", value="13700137000") is None  # nothing was written

    holding = _report(
        system, key="K-NOBODY", phone="13700137000", age_attestation=AgeAttestation(by="张前台", role="staff")
    )
    record = holding.consent
    assert (record.age_attested_by, record.age_attested_role) == ("张前台", "staff")


def test_a_shared_phone_never_merges_two_people(subject, system):
    # Used to pass: a report with someone else's phone was filed under that person.
    holding = _report(system, key="K-OTHER", date_of_birth=dt.date(1985, 1, 2))  # subject's phone, another birthday
    assert holding.subject != subject
    review = SubjectMatchReview.objects.get()
    assert (review.subject, review.matched, review.reason) == (holding.subject, subject, "date_of_birth")
    assert subject_find(kind="phone", value="13800138000") == subject
    # The system's key names the new person from now on: a second report is about them, with no new review.
    assert _report(system, key="K-OTHER", date_of_birth=dt.date(1985, 1, 2)).subject == holding.subject
    assert SubjectMatchReview.objects.count() == 1


def test_a_child_enrolled_with_a_parents_phone_is_a_person_of_their_own_with_a_checked_guardian(subject, system):
    child_report = {
        "key": "K-CHILD",
        "date_of_birth": dt.date(2018, 3, 3),
        "method": "guardian",
        "guardian_identifiers": {"phone": "13800138000"},
    }
    with pytest.raises(ValidationError) as info:  # nobody checked that the phone's owner is the child's parent
        _report(system, **child_report)
    assert info.value.code == "guardian"  # the same answer as for a phone nobody has
    assert not Holding.objects.filter(subject_key="K-CHILD").exists()

    holding = _report(system, **child_report, guardian_check=GuardianCheck(relationship="parent", checked_by="李老师"))
    child = holding.subject
    assert child != subject and child.date_of_birth == dt.date(2018, 3, 3)
    assert (holding.consent.method, holding.consent.guardian) == ("guardian", subject)
    guardianship = Guardianship.objects.get(ward=child, guardian=subject)
    assert guardianship.is_active and guardianship.verified_by == "李老师"
    assert SubjectMatchReview.objects.get().reason == "guardian"
    assert subject.holdings.count() == 0  # the parent holds nothing of the child's
