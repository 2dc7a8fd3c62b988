"""Holdings: who is held where, under which key and consent."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.services import notice_current
from dataops.registry.holdings import ConsentReport, consent_check, holding_record, holding_report
from dataops.registry.models import Holding
from dataops.registry.services import system_enrolments_pause, system_suspend
from facerights.models import AuditEvent
from tests import factories

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


def _report(system, *, key="K-REPORTED", date_of_birth=None):
    return holding_report(
        system=system,
        subject_key=key,
        data_kind="template",
        enrolled_at=timezone.now(),
        identifiers={"phone": "13800138000"},
        date_of_birth=date_of_birth,
        consent=ConsentReport(
            purpose=system.purposes.first().code,
            notice_version=notice_current(system).version,
            given_at=timezone.now(),
            method="separate",
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
