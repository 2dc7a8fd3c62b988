"""What a consent at capture costs the server, and what was cut from it without cutting a check (issue 20).

The page reads the session, its system's few columns and the current notice in one query; a published
notice's text comes from a per-process cache keyed by its id and version (a new version is a new row, so
it is read at once); the answer's events are written together, each in the person's own chain; and a
device that draws its own QR code can say so.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent.models import ConsentSession, Notice, Purpose
from consent.services import notice_current
from facerights.audit import audit_chain_verify
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}

# The statements of each request of one consent, counted when the costs were cut (docs/benchmarks.md): a
# change that adds one to these paths should be a decision, not an accident.
PAGE_STATEMENTS = 1
ANSWER_STATEMENTS = 16


def _open(client, system, token, **extra):
    code = system.purposes.exclude(code=Purpose.TRANSMISSION).first().code
    return client.post(
        "/api/v1/consent-sessions",
        {"purpose": code, "subject_key": "GUEST-1", "language": "en", **extra},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_device_that_draws_its_own_qr_code_gets_the_address_alone_and_others_still_get_the_svg(client, kiosk):
    system, token = kiosk
    drawn_here = _open(client, system, token, qr=False)
    assert drawn_here.status_code == 201, drawn_here.content
    assert drawn_here.json()["qr_svg"] is None
    page = client.get(urlsplit(drawn_here.json()["url"]).path, headers=EN)
    assert page.status_code == 200 and "Lobby kiosk" in page.content.decode()  # the address works the same
    assert _open(client, system, token).json()["qr_svg"].startswith("<svg")  # existing devices: as before
    assert _open(client, system, token, qr=True).json()["qr_svg"].startswith("<svg")
    assert _open(client, system, token, qr="false").status_code == 422  # a string is not a yes or no


def test_the_page_is_one_query_and_the_answer_does_not_grow_and_keeps_every_event_in_the_persons_chain(client, kiosk):
    system, token = kiosk
    body = _open(client, system, token, qr=False).json()
    path = urlsplit(body["url"]).path
    client.get(path, headers=EN)  # the notice is in the cache from here on
    with CaptureQueriesContext(connection) as page:
        shown = client.get(path, headers=EN).content.decode()
    assert len(page.captured_queries) <= PAGE_STATEMENTS, [q["sql"] for q in page.captured_queries]
    version = re.search(r'name="notice_version" value="(\d+)"', shown)[1]
    with CaptureQueriesContext(connection) as answer:
        response = client.post(
            path, {"answer": "consent", "date_of_birth": "1990-05-17", "notice_version": version}, headers=EN
        )
    assert response.status_code == 302
    assert len(answer.captured_queries) <= ANSWER_STATEMENTS, [q["sql"] for q in answer.captured_queries]
    session = ConsentSession.objects.get(public_id=body["id"])
    assert session.state == ConsentSession.State.CONSENTED
    chain = f"subject:{session.subject_id}"
    actions = list(AuditEvent.objects.filter(chain=chain).order_by("seq").values_list("seq", "action", "actor"))
    actor = f"consent_session:{session.public_id}"
    assert actions == [
        (1, "subject.created", actor),
        (2, "consent.given", actor),
        (3, "consent_session.consented", actor),
    ]
    assert audit_chain_verify([chain, "registry"]) == []


def test_a_new_notice_version_is_served_at_once_though_the_old_one_was_cached(client, kiosk):
    system, token = kiosk
    path = urlsplit(_open(client, system, token, qr=False).json()["url"]).path
    assert "Notice version 1" in client.get(path, headers=EN).content.decode()
    factories.published_notice(system, other_zh="新增事项。", other_en="A new matter.")
    page = client.get(path, headers=EN).content.decode()
    assert "Notice version 2" in page and "A new matter." in page
    assert re.search(r'name="notice_version" value="(\d+)"', page)[1] == "2"
    other = urlsplit(_open(client, system, token, qr=False).json()["url"]).path
    assert "Notice version 2" in client.get(other, headers=EN).content.decode()
    current = Notice.objects.get(system=system, version=2)
    assert notice_current(system).digest == current.digest


def test_a_cached_notice_is_a_copy_no_caller_can_change_for_the_next(kiosk):
    system, _token = kiosk
    first = notice_current(system)
    first.snapshot["en"]["purpose"] = "changed by a caller"
    first.version = 99
    again = notice_current(system)
    assert again is not first and again.version == 1
    assert again.snapshot["en"]["purpose"] != "changed by a caller"
