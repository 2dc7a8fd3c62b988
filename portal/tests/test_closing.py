"""Closing one's account (PIPL Art 47): the person's choice decides what happens to their data."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from consent.models import ConsentRecord, DataSubject
from consent.services import subject_link_user
from dataops.deletions.models import DeletionRequest
from dataops.desk.models import DeskClerk, DeskVisit
from dataops.desk.services import desk_find
from dataops.registry.models import Holding
from dataops.requests.models import Request
from facerights.services import record_save
from portal.tests.test_me import signed_in_now
from tests import factories

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}
PASSWORD = "correct horse 42"


@pytest.fixture
def account(client, subject, system):
    factories.holding(subject, system)
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user)
    return user


def test_the_person_chooses_on_the_confirmation_screen_and_nothing_is_chosen_for_them(client, account):
    page = client.get(reverse("portal:account_close"), headers=EN).content.decode()
    assert "Delete my facial data from every system" in page and "Close only the account" in page
    response = client.post(reverse("portal:account_close"), {}, headers=EN)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    account.refresh_from_db()
    assert account.is_active


def test_closing_with_deletion_deletes_everywhere_and_the_account_cannot_sign_in(client, account, subject, system):
    username = account.username
    response = client.post(reverse("portal:account_close"), {"what": "delete"}, headers=EN)
    assert "Your account is closed" in response.content.decode()
    assert ConsentRecord.objects.get(subject=subject).state == "withdrawn"
    deletion = DeletionRequest.objects.get(subject=subject)
    assert deletion.request.type == "account_closure"
    assert set(Holding.objects.filter(subject=subject).values_list("status", flat=True)) == {"deletion_pending"}
    # Signed out, and never in again: not with the password, not under the old name.
    assert client.get(reverse("portal:dashboard")).status_code == 302
    assert not Client().login(username=username, password=PASSWORD)
    account.refresh_from_db()
    assert not account.is_active and account.email == "" and account.phone_hash is None
    subject.refresh_from_db()
    assert subject.user is None  # so the identifiers are shredded once the deletion completes


def test_closing_and_keeping_leaves_the_data_under_its_consents_and_the_person_findable_at_a_desk(
    client, account, subject, system, entity
):
    client.post(reverse("portal:account_close"), {"what": "keep"}, headers=EN)
    assert ConsentRecord.objects.get(subject=subject).state == "active"
    assert not DeletionRequest.objects.filter(subject=subject).exists()
    closure = Request.objects.get(subject=subject, type="account_closure")
    assert closure.state == "completed"
    account.refresh_from_db()
    assert not account.is_active
    # The person can still withdraw later at a front desk: their records are found by their phone.
    clerk = record_save(actor="t", instance=DeskClerk(user=factories.user_with_role("desk"), entity=entity))
    visit = desk_find(clerk=clerk, found_by=DeskVisit.FoundBy.PHONE, phone="13800138000")
    assert visit.subject == subject and DataSubject.objects.get(pk=subject.pk).shredded_at is None
