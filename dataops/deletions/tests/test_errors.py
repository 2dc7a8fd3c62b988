"""A delivery's error reads as an explanation, with the technical detail one click away."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from dataops.deletions.errors import error_explained
from dataops.deletions.opening import deletion_request_open
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (
            "ReadTimeoutError: HTTPConnectionPool(host='gate.example', port=443): Read timed out.",
            "did not answer in time",
        ),
        ("HTTP 503", "its own error"),
        ("HTTP 403: the system refused the instruction", "refused the instruction"),
        ("ConnectionError: [Errno 111] Connection refused", "could not be reached"),
        ("something nobody foresaw", "technical detail"),
    ],
)
def test_each_kind_of_error_is_put_into_words(raw, words):
    assert words in error_explained(raw)


def test_the_dpo_reads_the_explanation_first_and_the_raw_error_under_it(subject, system):
    factories.holding(subject, system)
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request", systems=[system])
    propagation = deletion.propagations.get()
    propagation.last_error = "ReadTimeoutError: HTTPConnectionPool(host='gate.example', port=443): Read timed out."
    propagation.save(update_fields=["last_error"])
    dpo = Client()
    factories.staff_login(dpo, factories.user_with_role("dpo", is_staff=True))
    page = dpo.get(
        reverse("admin:dataops_propagation_change", args=[propagation.pk]), headers={"Accept-Language": "en"}
    )
    body = page.content.decode()
    explanation, detail = body.index("did not answer in time"), body.index("<details>")
    assert explanation < detail and "Read timed out" in body[detail:]
