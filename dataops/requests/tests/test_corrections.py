"""Correction and supplement (PIPL Art 46): the DPO reviews the person's request, then it acts on their records."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from consent.services import subject_identifiers, subject_name
from dataops.requests.services import request_submit
from tests import factories

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}


@pytest.fixture
def asked(subject):
    return request_submit(actor="t", subject=subject, type="correction", details="我的名字是王晓明，不是王小明。")


def _dpo():
    client = Client()
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    return client


def test_the_dpo_applies_a_correction_and_a_supplement_and_the_request_completes(asked, subject):
    dpo = _dpo()
    page = dpo.get(reverse("admin:dataops_request_change", args=[asked.pk]), headers=EN).content.decode()
    assert reverse("admin:dataops_request_correct", args=[asked.pk]) in page
    form = dpo.get(reverse("admin:dataops_request_correct", args=[asked.pk]), headers=EN).content.decode()
    assert "王晓明" in form  # what the person asked, beside the form
    response = dpo.post(
        reverse("admin:dataops_request_correct", args=[asked.pk]),
        {"name": "王晓明", "email": "xiaoming@example.com"},
        headers=EN,
    )
    assert response.status_code == 302
    subject.refresh_from_db()
    asked.refresh_from_db()
    assert subject_name(subject) == "王晓明"
    assert ("email", "xiaoming@example.com") in subject_identifiers(subject)
    assert asked.state == "completed"


def test_an_operator_cannot_apply_it(operator_client, asked):
    response = operator_client.post(reverse("admin:dataops_request_correct", args=[asked.pk]), {"name": "X"})
    assert response.status_code == 403


def test_a_date_of_birth_that_makes_a_consenting_adult_a_child_is_refused_with_the_reason(asked, subject, system):
    factories.holding(subject, system)  # a consent they gave themselves
    child = dt.date.today() - dt.timedelta(days=365 * 10)
    response = _dpo().post(
        reverse("admin:dataops_request_correct", args=[asked.pk]),
        {"name": "王晓明", "date_of_birth": child.isoformat()},
        headers=EN,
    )
    assert "under 14" in response.content.decode()
    subject.refresh_from_db()
    asked.refresh_from_db()
    assert subject.date_of_birth != child and subject_name(subject) == "王小明" and asked.state == "received"


def test_an_identifier_of_someone_else_is_refused_and_nothing_changes(asked, subject, other_subject):
    response = _dpo().post(
        reverse("admin:dataops_request_correct", args=[asked.pk]),
        {"name": "王晓明", "phone": "13900139000"},
        headers=EN,
    )
    assert "belongs to another person" in response.content.decode()
    subject.refresh_from_db()
    assert subject_name(subject) == "王小明"
