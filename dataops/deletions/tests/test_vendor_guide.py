"""docs/integration.md and the behaviour agree: each statement a vendor relies on, checked against the wire."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

import facerights.queues
from dataops.deletions.delivery import http
from dataops.deletions.delivery.push import PushChannel
from dataops.deletions.models import Propagation
from dataops.deletions.opening import deletion_request_open, deletion_requests_open
from dataops.deletions.tasks import propagations_dispatch, propagations_sweep
from dataops.registry.credentials import credential_issue
from tests import factories

pytestmark = pytest.mark.django_db

GUIDE = (Path(__file__).resolve().parents[3] / "docs" / "integration.md").read_text()


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """Run each task sent after commit at once, in this process, as a worker would."""
    monkeypatch.setattr(facerights.queues, "enqueue", lambda name, *args: facerights.queues.task_named(name)(*args))
    return django_capture_on_commit_callbacks


def test_a_push_delivery_carries_at_most_the_number_of_instructions_the_guide_says(entity, purpose, simulated_push):
    [limit] = map(int, re.findall(r"A delivery carries at most (\d+) instructions", GUIDE))
    keys = [f"B-{n}" for n in range(limit + 1)]
    simulator = simulated_push(keys=keys)
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    subjects = [factories.subject(name=f"批量{n}") for n in range(limit + 1)]
    for subject, key in zip(subjects, keys, strict=True):
        factories.holding(subject, system, key=key)
    deletion_requests_open(actor="t", subject_ids=[s.pk for s in subjects], trigger="subject_request")
    propagations_dispatch(system.pk)
    sizes = [count for _id, count in simulator.deliveries]
    assert max(sizes) == limit and sum(sizes) == limit + 1
    assert simulator.store.inventory() == []


def test_the_same_instructions_sent_again_carry_the_same_webhook_id(
    entity, purpose, subject, other_subject, monkeypatch
):
    system = factories.active_system(entity=entity, purpose=purpose)
    credential_issue(actor="t", system=system, kind="webhook_secret")
    factories.holding(subject, system)
    factories.holding(other_subject, system)
    sent = []

    def post(url, body, headers, **kwargs):
        sent.append(headers["webhook-id"])
        return http.Response(status=503, body=b"", headers={})

    monkeypatch.setattr(http, "post", post)
    deletion_requests_open(actor="t", subject_ids=[subject.pk, other_subject.pk], trigger="subject_request")
    batch = list(Propagation.objects.filter(system=system).select_related("deletion_request").order_by("pk"))
    PushChannel().deliver(system, batch)
    PushChannel().deliver(system, batch[::-1])  # a retry, in another order
    PushChannel().deliver(system, batch[:1])  # one of them alone: its own id
    assert sent[0] == sent[1] and sent[2] == batch[0].idempotency_key != sent[0]
    assert "Deduplicate on each\n  instruction's `id`" in GUIDE


def test_retry_after_is_kept_even_when_the_systems_other_answers_bring_the_queue_forward(
    entity, purpose, subject, other_subject, simulated_push, monkeypatch
):
    simulator = simulated_push(keys=["KEY-1", "KEY-2"])
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    factories.holding(subject, system, key="KEY-1")
    factories.holding(other_subject, system, key="KEY-2")
    real_post = http.post
    busy = {"answer": True}

    def post(*args, **kwargs):
        if busy["answer"]:
            return http.Response(status=429, body=b"", headers={"Retry-After": "3600"})
        return real_post(*args, **kwargs)

    monkeypatch.setattr(http, "post", post)
    asked_to_wait = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    propagations_dispatch(system.pk)
    waiting = asked_to_wait.propagations.get()
    assert waiting.state == "pending" and waiting.next_attempt_at > timezone.now() + dt.timedelta(minutes=59)

    busy["answer"] = False
    fresh = deletion_request_open(actor="t", subject=other_subject, trigger="subject_request")
    propagations_dispatch(system.pk)  # the fresh one is confirmed: the system is back
    assert fresh.propagations.get().state == "deleted"
    waiting.refresh_from_db()
    assert waiting.state == "pending" and waiting.next_attempt_at > timezone.now() + dt.timedelta(minutes=59)
    assert simulator.store.inventory() == ["KEY-1"]
    assert "even when your other answers show you are back" in GUIDE


def test_a_refusal_tells_the_dpo_at_once_and_the_person_only_once_the_deadline_passes(
    entity, purpose, subject, monkeypatch, run_tasks
):
    system = factories.active_system(entity=entity, purpose=purpose)
    credential_issue(actor="t", system=system, kind="webhook_secret")
    factories.holding(subject, system)
    monkeypatch.setattr(http, "post", lambda *a, **k: http.Response(status=400, body=b"{}", headers={}))
    mail.outbox.clear()
    with run_tasks(execute=True):
        deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    p = deletion.propagations.get()
    assert p.state == Propagation.State.ESCALATED
    assert [m.to for m in mail.outbox] == [[entity.dpo_email]]  # the DPO; the person's deadline is not passed

    Propagation.objects.filter(pk=p.pk).update(deadline=timezone.localdate() - dt.timedelta(days=1))
    mail.outbox.clear()
    with run_tasks(execute=True):
        propagations_sweep()
    assert [m.to for m in mail.outbox] == [["wang@example.com"]]  # now late: the person, once
    assert "延迟" in mail.outbox[0].subject
    mail.outbox.clear()
    with run_tasks(execute=True):
        propagations_sweep()
    assert mail.outbox == []
    assert "The person whose data it is is told only if the deadline passes" in GUIDE


def test_the_documented_time_limits_are_the_ones_used(settings):
    assert (http.TIMEOUT.connect_timeout, http.TIMEOUT.read_timeout) == (5.0, 10.0)
    assert "5 seconds to connect and 10 seconds for your answer" in GUIDE
    assert settings.FACERIGHTS_CLAIM_LEASE_SECONDS == 120
    assert "once its two-minute\nclaim runs out" in GUIDE


def test_api_errors_are_english_unless_the_caller_asks_for_chinese(client, subject, device):
    system, token = device
    factories.holding(subject, system, key="DEV-1")
    deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    [item] = client.get(f"/api/v1/systems/{system.pk}/deletions?after=1", **auth).json()["instructions"]
    url = f"/api/v1/systems/{system.pk}/deletions/{item['id']}/ack"
    body = {"status": "restricted", "evidence": {"n": 1}}
    plain = client.post(url, body, content_type="application/json", **auth).json()
    chinese = client.post(url, body, content_type="application/json", headers={"Accept-Language": "zh-CN"}, **auth)
    assert plain["error"] == chinese.json()["error"] == "outcome"
    assert "does not answer an instruction to delete" in plain["detail"]
    assert "不能作为" in chinese.json()["detail"]
    assert "in English when you send none" in GUIDE


def test_a_refused_item_of_a_batch_report_carries_a_code_and_words(client, device, entity, purpose):
    system, token = device
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    report = {
        "subject_key": "B-1",
        "data_kind": "template",
        "enrolled_at": "2026-12-01T10:00:00+08:00",
        "identifiers": {"phone": "13900139000"},
        "date_of_birth": "1990-01-01",
        "consent": {"purpose": "not-a-purpose", "notice_version": 1, "given_at": "2026-12-01T10:00:00+08:00"},
    }
    [item] = client.post(
        "/api/v1/holdings/batch", {"holdings": [report]}, content_type="application/json", **auth
    ).json()
    assert item["ok"] is False and item["code"] and item["code"] != "invalid" and item["error"]
