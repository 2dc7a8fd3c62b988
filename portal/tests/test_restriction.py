"""Restricting processing (PIPL Art 44): it acts at once, the consent check says `restricted`, and it can be lifted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from consent.services import subject_link_user
from dataops.deletions.models import DeletionRequest
from dataops.deletions.opening import deletion_request_open
from dataops.registry.holdings import consent_check
from dataops.registry.models import Holding
from dataops.requests.models import Request
from portal.tests.test_me import signed_in_now
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(client, subject, entity, system, purpose):
    other = factories.active_system(entity=entity, purpose=purpose)
    held = [factories.holding(subject, system, key="R-1"), factories.holding(subject, other, key="R-2")]
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user)
    return held


def _check(holding):
    return consent_check(system=holding.system, subject_key=holding.subject_key, purpose=holding.consent.purpose.code)


def test_a_restriction_stops_processing_in_the_named_system_at_once(client, two):
    first, second = two
    assert _check(first) == (True, "consent_active")
    client.post(reverse("portal:request_new"), {"type": "restriction", "system": first.system.pk, "details": "x"})
    assert _check(first) == (False, "restricted")
    assert _check(second) == (True, "consent_active")  # only the system named
    request = Request.objects.get(type="restriction")
    # It acted at once; the named system alone is sent the instruction, and the request waits for its answer.
    assert list(request.deletion_requests.values_list("propagations__system", flat=True)) == [first.system.pk]
    assert request.state == "received"


def test_lifting_the_restriction_is_a_request_too_and_processing_may_resume(client, subject, two):
    first, _second = two
    client.post(reverse("portal:request_new"), {"type": "restriction", "details": "x"})
    assert set(Holding.objects.filter(subject=subject).values_list("status", flat=True)) == {"restricted"}
    client.post(reverse("portal:request_new"), {"type": "restriction_lift", "system": first.system.pk, "details": "x"})
    assert _check(first) == (True, "consent_active")
    assert Holding.objects.get(subject_key="R-2").status == "restricted"


def test_a_restricted_holding_is_still_deleted_on_request(client, subject, two):
    client.post(reverse("portal:request_new"), {"type": "restriction", "details": "x"})
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    assert set(Holding.objects.filter(subject=subject).values_list("status", flat=True)) == {"deletion_pending"}
    assert DeletionRequest.objects.get(pk=deletion.pk).propagations.count() == 2
