"""A deceased person's close relative (PIPL Art 49): proof to the DPO, then requests under the deceased's record."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from consent.models import DeceasedRepresentation
from consent.services import subject_link_user
from dataops.deletions.models import DeletionRequest
from dataops.requests.models import Request
from portal.tests.test_me import signed_in_now
from tests import factories

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def relative(client, subject):
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user)
    return subject


@pytest.fixture
def deceased(system):
    person = factories.subject(phone="13300133000", name="王老先生")
    factories.holding(person, system)
    return person


@pytest.fixture
def dpo_admin():
    client = Client()
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    return client


def _claim(client):
    return client.post(
        reverse("portal:deceased_claims"),
        {
            "relationship": "child",
            "note": "王老先生, 13300133000",
            "proof": SimpleUploadedFile("proof.png", _png(), content_type="image/png"),
        },
        headers=EN,
    )


def test_a_relative_proves_the_relationship_and_then_deletes_under_the_deceased_persons_record(
    client, relative, deceased, dpo_admin
):
    assert _claim(client).status_code == 302
    claim = DeceasedRepresentation.objects.get()
    assert claim.state == "pending" and claim.proof_ciphertext is not None
    acting_url = reverse("portal:deceased_request", args=[deceased.uuid])
    assert client.get(acting_url).status_code == 404  # not before the DPO's review
    proof_url = reverse("admin:consent_deceasedrepresentation_proof", args=[claim.pk])
    seen = dpo_admin.get(proof_url)
    assert seen.status_code == 200 and seen["Content-Type"] == "image/png" and "no-store" in seen["Cache-Control"]

    dpo_admin.post(
        reverse("admin:consent_deceasedrepresentation_changelist"),
        {"action": "approve_relative", "_selected_action": [claim.pk], "identifier": "13300133000"},
    )
    claim.refresh_from_db()
    assert claim.state == "approved" and claim.deceased == deceased and claim.proof_ciphertext is None
    assert dpo_admin.get(proof_url).status_code == 410  # destroyed with the review

    page = client.get(reverse("portal:deceased_claims"), headers=EN).content.decode()
    assert acting_url in page and "王老先生" in page
    response = client.post(acting_url, {"type": "deletion"}, headers=EN)
    request = Request.objects.get(type="deletion")
    assert (request.subject, request.acted_by, request.acting_subject) == (deceased, "relative", relative)
    assert DeletionRequest.objects.get(request=request).subject == deceased
    assert response["Location"] == reverse("portal:request_detail", args=[request.reference])
    assert client.get(response["Location"]).status_code == 200  # the relative follows it


def test_a_refusal_gives_the_reason_and_the_relative_cannot_act(client, relative, deceased, dpo_admin):
    _claim(client)
    claim = DeceasedRepresentation.objects.get()
    dpo_admin.post(
        reverse("admin:consent_deceasedrepresentation_changelist"),
        {"action": "reject_relative", "_selected_action": [claim.pk], "reason": "The deceased arranged otherwise."},
    )
    claim.refresh_from_db()
    assert claim.state == "rejected" and claim.proof_ciphertext is None
    page = client.get(reverse("portal:deceased_claims"), headers=EN).content.decode()
    assert "The deceased arranged otherwise." in page
    assert client.get(reverse("portal:deceased_request", args=[deceased.uuid])).status_code == 404


def test_a_claim_without_proof_or_without_who_is_explained_and_nothing_is_kept(client, relative):
    response = client.post(reverse("portal:deceased_claims"), {"relationship": "child", "note": ""}, headers=EN)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not DeceasedRepresentation.objects.exists()
