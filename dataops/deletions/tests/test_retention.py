"""Retention: holdings past their period are deleted everywhere (R12)."""

import datetime as dt

import pytest
from django.core.management import call_command

from dataops.deletions.models import DeletionRequest
from dataops.deletions.retention import retention_due, retention_enforce
from dataops.registry.models import Holding
from tests import factories

pytestmark = pytest.mark.django_db


def test_past_retention_opens_exactly_one_deletion_once(subject, other_subject, system):
    expired = factories.holding(subject, system)
    factories.holding(other_subject, system)
    Holding.objects.filter(pk=expired.pk).update(retention_until=dt.date(2026, 3, 1))
    frozen = dt.date(2026, 3, 2)  # the clock the day after the retention ended
    assert retention_enforce(today=frozen) == 1
    assert retention_enforce(today=frozen) == 0
    deletion = DeletionRequest.objects.get(trigger="retention_expired")
    assert deletion.subject == subject
    assert list(deletion.propagations.values_list("system_id", flat=True)) == [system.pk]


def test_the_last_day_of_retention_is_kept(subject, system):
    holding = factories.holding(subject, system)
    assert retention_enforce(today=holding.retention_until) == 0


def test_the_dry_run_shows_what_would_be_opened_and_opens_nothing(subject, system, capsys):
    holding = factories.holding(subject, system)
    Holding.objects.filter(pk=holding.pk).update(retention_until=dt.date(2020, 1, 1))
    [due] = retention_due()
    assert (due.system, due.holdings) == (system, 1)
    call_command("retention_sweep", "--dry-run")
    assert "1 holdings past retention" in capsys.readouterr().out
    assert not DeletionRequest.objects.filter(trigger="retention_expired").exists()
