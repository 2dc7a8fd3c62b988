"""End to end: a real Celery worker, the portal served over HTTP, and the simulated systems.

These tests need committed data (the worker and the servers have their own
connections), so they run with transaction=True and take a few seconds each.
"""

import datetime as dt
import json
import logging

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent.services import Provenance, subject_link_user
from dataops.deletions.delivery.pull import feed_retention_advance
from dataops.deletions.intake import consents_withdraw_all
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.tasks import propagations_sweep
from dataops.models import DeletionRequest, ProcessingSystem, Propagation
from facerights.logs import JsonFormatter, RequestIdFilter
from simulator.pull import PullDevice
from simulator.store import Store
from tests import factories
from tests.waiting import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(live_server, simulated_push, tmp_path, celery_worker):
    """A subject enrolled in three push systems and two pull devices, all simulated."""
    entity = factories.entity()
    purpose = factories.purpose()
    subject = factories.subject(phone="13800138000", email="wang@example.com")
    pushers, devices, systems = [], [], []
    for n, mode in enumerate(["sync", "sync", "callback"]):
        simulator = simulated_push(keys=[f"P{n}-KEY"], mode=mode, portal_url=live_server.url)
        system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator, name_zh=f"推送系统{n}")
        factories.holding(subject, system, key=f"P{n}-KEY")
        pushers.append(simulator)
        systems.append(system)
    for n in range(2):
        system, token = factories.pull_system(entity=entity, purpose=purpose, name_zh=f"离线设备{n}")
        factories.holding(subject, system, key=f"D{n}-KEY")
        store = Store(tmp_path / f"device-{n}.sqlite3", [f"D{n}-KEY"])
        devices.append(
            PullDevice(system_id=system.pk, token=token, store=store, portal_url=live_server.url, poll_seconds=0.3)
        )
        systems.append(system)
    yield {"subject": subject, "pushers": pushers, "devices": devices, "systems": systems}
    for device in devices:
        device.stop()


def _completed(deletion):
    return lambda: DeletionRequest.objects.get(pk=deletion.pk).state == DeletionRequest.State.COMPLETED


def test_a_withdrawal_reaches_every_system_and_completes(world):
    for device in world["devices"]:
        device.start()
    deletion = consents_withdraw_all(actor="test", subject=world["subject"], provenance=Provenance())
    assert deletion.propagations.count() == 5
    assert wait_for(_completed(deletion))
    for store in [p.store for p in world["pushers"]] + [d.store for d in world["devices"]]:
        assert store.inventory() == []
        real = [effect for effect in store.effects() if not effect[1].startswith("FACERIGHTS-TEST-")]
        assert len(real) == 1  # one effect each, however often it was delivered
    channels = sorted(p.evidence["channel"] for p in deletion.propagations.all())
    assert channels == ["callback", "pull", "pull", "push", "push"]
    # Messages to people are in Chinese (consent/messaging.py).
    completed = f"您的删除申请 {deletion.reference} 已完成"
    assert wait_for(lambda: any(m.subject == completed for m in mail.outbox), 15)


def _subjects(outbox) -> set[str]:
    """Each email's subject, the DPO's without the system's name after the colon."""
    return {m.subject.split("：")[0] for m in outbox}


def test_an_offline_device_catches_up_when_it_returns(world):
    online, offline = world["devices"]
    online.start()
    offline.is_online = False
    offline.start()
    deletion = deletion_request_open(actor="test", subject=world["subject"], trigger="subject_request")
    assert wait_for(lambda: deletion.propagations.exclude(state__in=Propagation.TERMINAL).count() == 1)
    assert offline.store.inventory() == ["D1-KEY"]
    offline.is_online = True
    assert wait_for(_completed(deletion))
    assert offline.store.inventory() == [] and offline.reconciliations == 0


def test_a_device_away_too_long_reconciles(world):
    away = world["devices"][1]
    deletion = deletion_request_open(actor="test", subject=world["subject"], trigger="subject_request")
    system = ProcessingSystem.objects.get(pk=away.system_id)
    Propagation.objects.filter(system=system).update(
        created_at=timezone.now() - dt.timedelta(days=91)
    )  # the test's too
    feed_retention_advance(system)
    for device in world["devices"]:
        device.start()
    assert wait_for(_completed(deletion))
    assert away.reconciliations == 1
    assert away.store.inventory() == []
    assert Propagation.objects.get(system=system, deletion_request=deletion).state == "deleted"


def test_a_system_failing_past_its_deadline_is_escalated_not_done(world):
    for device in world["devices"]:
        device.start()
    failing = world["pushers"][0]
    failing.failure_rate = 1.0
    deletion = deletion_request_open(actor="test", subject=world["subject"], trigger="subject_request")
    stuck = deletion.propagations.get(system_id=failing.system_id)
    assert wait_for(lambda: deletion.propagations.filter(state__in=Propagation.TERMINAL).count() == 4)
    Propagation.objects.filter(pk=stuck.pk).update(deadline=timezone.localdate() - dt.timedelta(days=1))
    propagations_sweep()
    stuck.refresh_from_db()
    assert stuck.state == Propagation.State.ESCALATED and not stuck.is_terminal
    assert DeletionRequest.objects.get(pk=deletion.pk).state == DeletionRequest.State.OPEN
    delayed = f"您的删除申请 {deletion.reference} 处理有所延迟"  # to the person; the DPO is told too
    assert wait_for(lambda: {delayed, f"删除申请 {deletion.reference} 已升级至人工处理"} <= _subjects(mail.outbox), 15)
    # The system recovers: the next attempt still completes it.
    failing.failure_rate = 0.0
    Propagation.objects.filter(pk=stuck.pk).update(next_attempt_at=timezone.now())
    propagations_sweep()
    assert wait_for(_completed(deletion))


class _Lines(logging.Handler):
    """Every log line any thread writes, formatted as production writes it."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.lines: list[str] = []

    def emit(self, record):
        line = self.format(record)
        with self.lock:
            self.lines.append(line)


@pytest.fixture
def log_lines():
    root = logging.getLogger()
    handler, level = _Lines(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_one_request_id_follows_a_withdrawal_and_no_log_line_names_the_person(world, client, log_lines):
    subject = world["subject"]
    user = factories.user_with_role("data_subject", username="wang.xiaoming")
    user.email = "wang@example.com"
    user.save(update_fields=["email"])
    subject_link_user(actor="test", subject=subject, user=user)
    client.force_login(user)
    for device in world["devices"]:
        device.start()
    trace = "0123456789abcdef0123456789abcdef"  # as nginx makes them

    response = client.post(reverse("portal:consents_withdraw_all"), headers={"X-Request-ID": trace})

    assert response.status_code == 302 and response["X-Request-ID"] == trace
    deletion = DeletionRequest.objects.get(subject=subject)
    assert wait_for(_completed(deletion))
    assert wait_for(lambda: any("deletions completed" in line for line in log_lines), 15)
    entries = [json.loads(line) for line in list(log_lines)]
    mine = [e for e in entries if e["request_id"] == trace or trace in e.get("request_ids", [])]
    web = [e for e in mine if e["logger"] == "facerights.request"]
    assert web and web[0]["route"] == "me/consents/withdraw-all/" and web[0]["status"] == 302
    assert any(e["message"].startswith("1 deletions opened") for e in mine)
    pushed = {e["system"] for e in mine if e["logger"] == "dataops.deletions.delivery.push"}
    fed = {e["system"] for e in mine if e["logger"] == "dataops.deletions.delivery.pull"}
    systems = [s.pk for s in world["systems"]]
    assert pushed == set(systems[:3])  # every push call, from the worker, names the web request
    assert fed == set(systems[3:])  # every device's fetch and acknowledgement, over the API, too
    assert any(e["message"] == "1 deletions completed" for e in mine)
    assert any(
        e["request_id"] == trace and e["logger"] == "dataops.deletions.delivery.push" for e in mine
    )  # the task inherited it

    everything = "\n".join(log_lines)
    for personal in ("13800138000", "wang@example.com", "wang.xiaoming", "王小明"):
        assert personal not in everything, f"a log line carries {personal!r}"
