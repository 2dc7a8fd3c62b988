"""Requests by phone and by letter, recorded by staff: the clock from receipt, acting only once identity is checked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import DataSubject
from dataops.deletions.models import DeletionRequest
from dataops.registry.holdings import consent_check
from dataops.requests.clocks import request_due
from dataops.requests.models import Request
from tests import factories
from tests.reading import pdf_text

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _post(client, entity, *, received: dt.datetime, **fields):
    local = received.astimezone(BEIJING)
    data = {
        "entity": entity.pk,
        "channel": "phone",
        "received_at_0": local.strftime("%Y-%m-%d"),
        "received_at_1": local.strftime("%H:%M:%S"),
        "type": "deletion",
        **fields,
    }
    return client.post(reverse("admin:dataops_request_record"), data, headers=EN)


@pytest.fixture
def caller(system):
    person = factories.subject(phone="13600136000")
    factories.holding(person, system)
    return person


def test_a_phoned_deletion_counts_from_the_call_and_deletes_once_identity_is_checked(
    operator_client, entity, system, caller, purpose
):
    elsewhere = factories.active_system(entity=factories.entity(), purpose=purpose)
    factories.holding(caller, elsewhere)
    called = timezone.now() - dt.timedelta(days=1)
    response = _post(operator_client, entity, received=called, phone="13600136000", identity_checked="on")
    assert response.status_code == 302
    request = Request.objects.get(subject=caller)
    assert (request.channel, request.acted_by, request.entity) == ("phone", "staff", entity)
    assert abs(request.received_at - called) < dt.timedelta(seconds=1)
    # The legal clock runs from the call, not from when it was typed in.
    assert request.due_on == request_due(timezone.localdate(called), request.response_working_days).on
    deletion = DeletionRequest.objects.get(request=request)
    assert set(deletion.propagations.values_list("system_id", flat=True)) == {system.pk}  # this company's only


def test_an_unchecked_caller_gets_a_request_that_waits_for_the_dpo(operator_client, entity, caller):
    _post(operator_client, entity, received=timezone.now(), phone="13600136000")
    request = Request.objects.get(subject=caller)
    assert request.type == "deletion" and not DeletionRequest.objects.filter(request=request).exists()


def test_a_letter_from_someone_not_on_record_is_recorded_with_their_name_and_contact(operator_client, entity):
    before = DataSubject.objects.count()
    response = _post(
        operator_client,
        entity,
        received=timezone.now() - dt.timedelta(hours=3),
        channel="letter",
        type="complaint",
        email="writer@example.com",
        details="The camera at the gate records the street.",
    )
    assert "No one is on record with this contact" in response.content.decode()
    assert DataSubject.objects.count() == before and not Request.objects.exists()
    _post(
        operator_client,
        entity,
        received=timezone.now() - dt.timedelta(hours=3),
        channel="letter",
        type="complaint",
        email="writer@example.com",
        name="赵先生",
        details="The camera at the gate records the street.",
    )
    request = Request.objects.get()
    assert (request.type, request.channel, request.entity) == ("complaint", "letter", entity)


def test_bad_input_is_explained_by_field_and_nothing_is_recorded(operator_client, entity, caller):
    page = _post(operator_client, entity, received=timezone.now() + dt.timedelta(days=1), phone="13600136000")
    assert "cannot have been received in the future" in page.content.decode()
    page = _post(operator_client, entity, received=timezone.now(), type="complaint", phone="13600136000")
    assert "Write down what the person asks" in page.content.decode()
    page = _post(operator_client, entity, received=timezone.now())
    assert "Give the phone number or email" in page.content.decode()
    assert not Request.objects.exists()


def test_the_dpo_prints_a_receipt_whose_code_follows_the_request(operator_client, entity, caller, client):
    _post(operator_client, entity, received=timezone.now(), phone="13600136000", type="copy")
    request = Request.objects.get()
    response = operator_client.post(
        reverse("admin:dataops_request_changelist"),
        {"action": "print_receipt", "_selected_action": [request.pk]},
    )
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert request.reference in text and entity.name_zh in text
    code = next(word for word in text.split() if len(word) == 11 and word[5] == "-")
    client.logout()
    page = client.post(reverse("portal:lookup"), {"reference": request.reference, "code": code}, headers=EN)
    assert "a copy of my data" in page.content.decode()


def test_a_phoned_restriction_acts_once_identity_is_checked(operator_client, entity, system, caller):
    holding = caller.holdings.get()
    _post(
        operator_client, entity, received=timezone.now(), phone="13600136000", type="restriction", identity_checked="on"
    )
    holding.refresh_from_db()
    assert holding.status == "restricted"
    purpose = holding.consent.purpose.code
    assert consent_check(system=system, subject_key=holding.subject_key, purpose=purpose) == (False, "restricted")
