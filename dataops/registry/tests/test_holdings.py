"""Holdings: who is held where, under which key and consent."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from dataops.registry.holdings import holding_record
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
