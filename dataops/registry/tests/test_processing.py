"""Records of processing: every consent check counted per system, purpose and day; every refusal kept (R25)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dataops.registry.models import ProcessingDay, ProcessingRefusal
from dataops.registry.processing import consent_check_recorded, processing_records_expire, processing_summary
from tests import factories

pytestmark = pytest.mark.django_db


def test_every_check_is_counted_and_every_refusal_kept(subject, system):
    holding = factories.holding(subject, system, key="GATE-1")
    purpose = system.purposes.first().code
    for _ in range(3):
        assert consent_check_recorded(system=system, subject_key=holding.subject_key, purpose=purpose)[0]
    assert consent_check_recorded(system=system, subject_key="NOBODY", purpose=purpose) == (False, "unknown_subject")

    day = ProcessingDay.objects.get(system=system, purpose=purpose)
    assert (day.day, day.allowed, day.refused) == (timezone.localdate(), 3, 1)
    refusal = ProcessingRefusal.objects.get()
    assert (refusal.subject_key, refusal.reason) == ("NOBODY", "unknown_subject")
    summary = processing_summary(system, until=timezone.localdate())
    assert (summary.allowed, summary.refused) == (3, 1)


def test_the_dpo_reads_the_records_and_finds_a_refusal_by_key(dpo_client, subject, system):
    purpose = system.purposes.first().code
    consent_check_recorded(system=system, subject_key="NOBODY-7", purpose=purpose)
    page = dpo_client.get(reverse("admin:dataops_processingday_changelist")).content.decode()
    assert system.name_zh in page
    found = dpo_client.get(reverse("admin:dataops_processingrefusal_changelist"), {"q": "NOBODY-7"})
    assert "系统从未报送的编号" in found.content.decode()  # the reason in words, not its code


def test_records_are_kept_three_years_and_then_go(system):
    today = dt.date(2026, 12, 3)
    for day in (dt.date(2023, 12, 2), dt.date(2023, 12, 3)):
        ProcessingDay.objects.create(system=system, purpose="p", day=day, allowed=1)
    assert processing_records_expire(today=today) == 1
    assert list(ProcessingDay.objects.values_list("day", flat=True)) == [dt.date(2023, 12, 3)]
