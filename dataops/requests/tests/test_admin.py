"""The request queue in the admin."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dataops.requests.models import Request
from dataops.requests.services import request_submit

pytestmark = pytest.mark.django_db


def test_the_queue_puts_open_and_overdue_first_with_working_days_left(dpo_client, subject):
    late = request_submit(actor="t", subject=subject, type="access", received_at=timezone.now() - dt.timedelta(days=40))
    Request.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=3))
    done = request_submit(actor="t", subject=subject, type="copy", received_at=timezone.now() - dt.timedelta(days=60))
    Request.objects.filter(pk=done.pk).update(state="completed", due_on=timezone.localdate() - dt.timedelta(days=30))
    fresh = request_submit(actor="t", subject=subject, type="deletion")
    page = dpo_client.get(reverse("admin:dataops_request_changelist")).content.decode()
    assert page.index(late.reference) < page.index(fresh.reference) < page.index(done.reference)
    assert "overdue by" in page or "逾期" in page
    overdue_only = dpo_client.get(reverse("admin:dataops_request_changelist") + "?overdue=yes").content.decode()
    assert late.reference in overdue_only and fresh.reference not in overdue_only
    assert str(subject.uuid) not in page  # the person is masked
