"""Prometheus metrics: behind a token, figures from the database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from dataops.deletions.models import DeliveryAttempt
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.tasks import propagations_dispatch
from dataops.filings.counting import person_counts_take
from dataops.workbench.metrics import metrics_render, metrics_reset
from facerights.liveness import heartbeat_beat
from tests import factories

TEN_MINUTES = dt.timedelta(minutes=10)


TOKEN = "metrics-token-for-tests-0123456789"  # noqa: S105


@pytest.fixture(autouse=True)
def _fresh_histograms(settings):
    settings.METRICS_TOKEN = TOKEN
    metrics_reset()
    yield
    metrics_reset()


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape(now=None) -> dict:
    return _samples(metrics_render(now).decode())


@pytest.mark.django_db
def test_only_a_scraper_with_the_token_reads_the_metrics(client, settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "facerights_propagations" in response.content.decode()
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404  # off until configured


@pytest.mark.django_db
def test_deletions_latency_queues_persons_and_liveness_are_reported(entity, purpose, simulated_push):
    simulator = simulated_push(keys=["K1", "K2", "K3"])
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    subjects = [factories.subject(phone=f"1390000000{n}") for n in range(3)]
    for n, subject in enumerate(subjects):
        factories.holding(subject, system, key=f"K{n + 1}")
    s = str(system.pk)
    deleted = ("facerights_propagations", (("state", "deleted"), ("system", s)))
    completed = ("facerights_deletion_requests", (("state", "completed"),))
    calls = ("facerights_delivery_call_seconds_count", (("system", s),))
    confirmed = ("facerights_deletion_confirm_seconds_count", (("system", s),))
    within_15_min = ("facerights_deletion_confirm_seconds_bucket", (("le", "900.0"), ("system", s)))
    before = _scrape(timezone.now() + dt.timedelta(minutes=2))  # the system's connection test is in here
    metrics_reset()

    for subject in subjects[:2]:
        deletion_request_open(actor="test", subject=subject, trigger="subject_request")
    propagations_dispatch(system.pk)
    person_counts_take()
    heartbeat_beat(kind="worker", name="delivery@host-a", detail="delivery")

    later = timezone.now() + dt.timedelta(minutes=3)  # past the histograms' one-minute lag
    metrics = _scrape(later)
    for key in (deleted, completed, calls, confirmed, within_15_min):
        assert metrics[key] - before.get(key, 0) == 2, key
    assert metrics[("facerights_delivery_call_seconds_bucket", (("le", "+Inf"), ("system", s)))] == metrics[calls]
    assert metrics[("facerights_stored_persons", (("entity", str(entity.pk)),))] == 1  # one still held
    assert metrics[("facerights_requests_overdue", ())] == 0
    assert {key[1][0][1] for key in metrics if key[0] == "facerights_queue_depth"} == {
        "delivery",
        "messages",
        "documents",
        "housekeeping",
    }
    alive = ("facerights_heartbeat_age_seconds", (("kind", "worker"), ("name", "delivery@host-a"), ("state", "alive")))
    assert alive not in metrics  # three minutes later, the worker has gone quiet
    assert any(key[0] == "facerights_heartbeat_age_seconds" and ("state", "silent") in key[1] for key in metrics)
    text = metrics_render(later).decode()
    for subject_phone in ("13900000000", "13900000001", "13900000002"):
        assert subject_phone not in text


@pytest.mark.django_db
def test_the_latency_histogram_only_grows_and_counts_each_delivery_once(entity, purpose, simulated_push):
    simulator = simulated_push(keys=["K1", "K2"])
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    first, second = factories.subject(phone="13900000010"), factories.subject(phone="13900000011")
    factories.holding(first, system, key="K1")
    factories.holding(second, system, key="K2")
    count = ("facerights_delivery_call_seconds_count", (("system", str(system.pk)),))

    deletion_request_open(actor="test", subject=first, trigger="subject_request")
    propagations_dispatch(system.pk)
    finished = DeliveryAttempt.objects.filter(propagation__system=system, finished_at__isnull=False)
    # As if these deliveries had happened ten minutes ago, so this scrape need not travel in time.
    finished.update(started_at=F("started_at") - TEN_MINUTES, finished_at=F("finished_at") - TEN_MINUTES)
    assert _scrape()[count] == finished.count()

    deletion_request_open(actor="test", subject=second, trigger="subject_request")
    propagations_dispatch(system.pk)
    now = timezone.now()
    assert _scrape(now)[count] == finished.count() - 1  # within the lag: not yet, so a late commit is not missed
    assert _scrape(now + dt.timedelta(minutes=3))[count] == finished.count()
    assert _scrape(now + dt.timedelta(minutes=4))[count] == finished.count()  # scraped again: counted once
