"""The pull feed's read in one SQL statement (token, last contact, page): the same answers and records as before.

DeviceToken(feed=True) reads the feed's request with its token (pull.feed_with_token); whatever
that statement does not settle goes the general way (DeviceToken.authenticate, pull.feed_read).
These tests pin the statement count and compare both ways on the cases that differ.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dataops import api as api_module
from dataops.deletions.opening import deletion_request_open
from dataops.models import ProcessingSystem, Propagation, SystemCredential
from dataops.registry.credentials import credential_issue
from dataops.registry.services import system_retire
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

START = 1  # the cursor after the connection test


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def people(db):
    return [factories.subject(phone=f"1351000{n:04d}") for n in range(4)]


def _open(people, system, count):
    for n in range(count):
        factories.holding(people[n], system, key=f"DEV-{n}")
        deletion_request_open(actor="t", subject=people[n], trigger="subject_request")


def _contact(system, when):
    ProcessingSystem.objects.filter(pk=system.pk).update(last_contact_at=when)


def _last_contact(system):
    return ProcessingSystem.objects.get(pk=system.pk).last_contact_at


def _general_way(monkeypatch):
    """Make the feed's token check go the general way, as before the one-statement read."""
    monkeypatch.setattr(api_module, "_feed_asked", lambda request: None)


def test_a_steady_feed_read_is_one_sql_statement(client, device, people):
    system, token = device
    _open(people, system, 2)
    url = f"/api/v1/systems/{system.pk}/deletions?after={START}"
    client.get(url, **_auth(token))  # delivers both
    for last_contact in (None, timezone.now() - dt.timedelta(minutes=5), timezone.now()):
        _contact(system, last_contact)  # recorded in the same statement, or not needed
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **_auth(token))
        assert response.status_code == 200 and len(response.json()["instructions"]) == 2
        assert len(queries) == 1, [q["sql"][:80] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/systems/{system.pk}/deletions", **_auth("frd_nobody")).status_code == 401
    assert len(queries) == 1


def test_a_read_that_delivers_adds_only_the_delivery_statements(client, device, people):
    system, token = device
    _open(people, system, 2)
    events = AuditEvent.objects.filter(action="propagation.sent").count()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/systems/{system.pk}/deletions?after={START}", **_auth(token))
    assert response.status_code == 200
    # The read; then only the delivery's own (propagations_mark_delivered: lock, mark sent, audit).
    [read, *delivery] = [q["sql"] for q in queries]
    assert read.lstrip().startswith("WITH credential")
    assert not [sql for sql in delivery if "systemcredential" in sql or "processingsystem" in sql]
    assert set(Propagation.objects.filter(system=system, feed_seq__gt=START).values_list("state", flat=True)) == {
        "sent"
    }
    assert AuditEvent.objects.filter(action="propagation.sent").count() == events + 2


def test_the_last_contact_is_recorded_at_most_once_a_minute(client, device):
    system, token = device
    url = f"/api/v1/systems/{system.pk}/deletions"
    recent = timezone.now() - dt.timedelta(seconds=30)
    _contact(system, recent)
    assert client.get(url, **_auth(token)).status_code == 200
    assert _last_contact(system) == recent
    old = timezone.now() - dt.timedelta(seconds=61)
    _contact(system, old)
    before = timezone.now()
    assert client.get(url, **_auth(token)).status_code == 200
    assert _last_contact(system) >= before


def test_another_systems_token_is_refused_and_reads_nothing_of_its_feed(client, device, entity, purpose, people):
    system, _token = device
    _open(people, system, 1)
    other, other_token = factories.pull_system(entity=entity, purpose=purpose)
    _contact(system, None)
    _contact(other, None)
    response = client.get(f"/api/v1/systems/{system.pk}/deletions?after=0", **_auth(other_token))
    assert response.status_code == 404 and response.json() == {"error": "not_found", "detail": ""}
    assert Propagation.objects.get(system=system, subject_key="DEV-0").state == "pending"
    # The caller's own system called; the system in the path did not.
    assert _last_contact(other) is not None and _last_contact(system) is None


def test_an_expired_token_is_refused_and_one_in_its_overlap_still_reads(client, device):
    system, token = device
    url = f"/api/v1/systems/{system.pk}/deletions"
    new_token = credential_issue(actor="t", system=system, kind="device_token", overlap=dt.timedelta(hours=1))
    assert client.get(url, **_auth(token)).status_code == 200  # the old one, in its overlap
    assert client.get(url, **_auth(new_token)).status_code == 200
    SystemCredential.objects.filter(system=system, expires_at__isnull=False).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.get(url, **_auth(token))
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    assert client.get(url, **_auth(new_token)).status_code == 200


def test_a_retired_device_still_reads_its_feed_and_its_contact_is_recorded(client, device, people):
    system, token = device
    _open(people, system, 1)
    system_retire(actor="dpo", system=ProcessingSystem.objects.get(pk=system.pk))
    _contact(system, None)
    response = client.get(f"/api/v1/systems/{system.pk}/deletions?after=0", **_auth(token))
    assert response.status_code == 200 and [i["subject_key"] for i in response.json()["instructions"]][-1] == "DEV-0"
    assert _last_contact(system) is not None
    assert Propagation.objects.get(system=system, subject_key="DEV-0").state == "sent"


def test_a_draft_device_reads_its_feed_in_one_statement(client, entity, purpose):
    system = factories.draft_system(entity=entity, purpose=purpose, integration="pull", webhook_url="")
    assert system.status == ProcessingSystem.Status.DRAFT
    token = credential_issue(actor="t", system=system, kind="device_token")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/systems/{system.pk}/deletions", **_auth(token))
    assert response.status_code == 200 and len(queries) == 1
    assert _last_contact(system) is not None


def test_a_suspended_device_without_open_deletions_is_refused_and_not_recorded(client, device):
    system, token = device
    ProcessingSystem.objects.filter(pk=system.pk).update(status=ProcessingSystem.Status.SUSPENDED)
    _contact(system, None)
    assert client.get(f"/api/v1/systems/{system.pk}/deletions", **_auth(token)).status_code == 401
    assert _last_contact(system) is None


QUERIES = [
    "",
    "?after=0",
    f"?after={START}",
    f"?after={START}&limit=1",
    "?after=-5",
    "?after=0&limit=0",
    "?after=0&limit=100000",
    "?after=99",  # ahead of the feed: 409
    "?after=007",
    "?after=+1",
    "?after=1.0",
    "?after=abc",
    "?after=1&after=2",
    "?limit=",
    "?after=99999999999999999999999",
]


@pytest.mark.parametrize("query", QUERIES)
def test_both_ways_answer_alike(client, device, people, monkeypatch, query):
    """The one-statement read and the general way give the same answer and record the same."""
    system, token = device
    _open(people, system, 3)
    answers = []
    for way in ("one statement", "general"):
        if way == "general":
            _general_way(monkeypatch)
        Propagation.objects.filter(system=system, feed_seq__gt=START).update(state="pending", sent_at=None)
        _contact(system, None)
        response = client.get(f"/api/v1/systems/{system.pk}/deletions{query}", **_auth(token))
        states = sorted(Propagation.objects.filter(system=system).values_list("feed_seq", "state"))
        answers.append((response.status_code, response.json(), states, _last_contact(system) is not None))
    assert answers[0] == answers[1]


@pytest.mark.parametrize("path_id", ["other", "not-a-number", "0"])
def test_both_ways_answer_alike_for_another_path(client, device, entity, purpose, monkeypatch, path_id):
    system, token = device
    other, _other_token = factories.pull_system(entity=entity, purpose=purpose)
    target = {"other": other.pk, "not-a-number": "x1", "0": 0}[path_id]
    answers = []
    for way in ("one statement", "general"):
        if way == "general":
            _general_way(monkeypatch)
        response = client.get(f"/api/v1/systems/{target}/deletions", **_auth(token))
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1]


def test_a_push_systems_token_reads_no_feed_either_way(client, entity, purpose, monkeypatch):
    pusher = factories.active_system(entity=entity, purpose=purpose)
    token = credential_issue(actor="t", system=pusher, kind="device_token")
    _contact(pusher, None)
    response = client.get(f"/api/v1/systems/{pusher.pk}/deletions?after=0", **_auth(token))
    assert response.status_code == 403 and response.json()["error"] == "pull_only"
    assert _last_contact(pusher) is not None  # it called, as before


def test_the_openapi_document_describes_the_feed_with_the_device_token(client):
    document = client.get("/api/openapi.json").json()
    operation = document["paths"]["/api/v1/systems/{system_id}/deletions"]["get"]
    assert operation["security"] == [{"DeviceToken": []}]
    assert {p["name"]: p["schema"].get("default") for p in operation["parameters"]} == {
        "system_id": None,
        "after": 0,
        "limit": 100,
    }
    assert document["components"]["securitySchemes"] == {"DeviceToken": {"type": "http", "scheme": "bearer"}}
