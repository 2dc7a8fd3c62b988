"""Requests: received, acknowledged, made for someone else."""

import pytest
from django.core.exceptions import ValidationError

from dataops.requests.models import Request
from dataops.requests.services import request_acknowledge, request_submit
from facerights.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_submitting_is_audited_and_sends_the_acknowledgement_after_commit(subject, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        request = request_submit(actor="user:1", subject=subject, type=Request.Type.ACCESS)
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action="request.received")
    assert (event.chain, event.actor, event.data["type"]) == (subject.audit_chain, "user:1", "access")
    assert len(request.reference) == 10


def test_acknowledging_twice_is_safe(subject):
    request = request_submit(actor="t", subject=subject, type=Request.Type.ACCESS)
    first = request_acknowledge(request_id=request.pk).acknowledged_at
    second = request_acknowledge(request_id=request.pk).acknowledged_at
    assert first == second
    assert AuditEvent.objects.filter(action="request.acknowledged").count() == 1


def test_acknowledging_a_missing_request_does_nothing():
    assert request_acknowledge(request_id=999_999) is None


def test_a_request_for_someone_else_names_who_made_it(subject):

    with pytest.raises(ValidationError):
        request_submit(actor="t", subject=subject, type=Request.Type.DELETION, acted_by=Request.ActedBy.GUARDIAN)
