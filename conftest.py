"""Shared fixtures: a small registry built through the services, and a few personas."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from tests import factories


@pytest.fixture
def entity(db):
    return factories.entity()


@pytest.fixture
def site(entity):
    return factories.site(entity)


@pytest.fixture
def purpose(db):
    return factories.purpose()


@pytest.fixture
def system(entity, site, purpose):
    """An active on-site device with a published notice and an approved assessment."""
    return factories.active_system(entity=entity, site=site, purpose=purpose)


@pytest.fixture
def subject(db):
    return factories.subject(phone="13800138000", email="wang@example.com", date_of_birth=dt.date(1990, 5, 17))


@pytest.fixture
def other_subject(db):
    return factories.subject(phone="13900139000", date_of_birth=dt.date(1985, 1, 2))


@pytest.fixture
def dpo(db):
    return factories.user_with_role("dpo", is_staff=True)


# --- Signed-in personas: one client each, as the tests across the project use them ------------


@pytest.fixture
def subject_client(client, subject):
    """The data subject `subject`, signed in to the portal with an account linked to their records."""
    factories.subject_login(client, subject)
    return client


@pytest.fixture
def ward(subject):
    """A child under 14 whose verified guardian is `subject`."""
    return factories.ward_of(subject)


@pytest.fixture
def guardian_client(client, subject, ward):
    """`subject`, signed in, acting as the verified guardian of `ward`."""
    factories.subject_login(client, subject)
    return client


@pytest.fixture
def dpo_client(client):
    """The data-protection officer in the admin, signed in with a second factor."""
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    return client


@pytest.fixture
def operator_client(client):
    """An operator in the admin: day-to-day work, none of the DPO's decisions."""
    factories.staff_login(client, factories.user_with_role("operator", is_staff=True))
    return client


@pytest.fixture
def auditor_client(client):
    """An auditor in the admin: reads everything, changes nothing."""
    factories.staff_login(client, factories.user_with_role("auditor", is_staff=True))
    return client


@pytest.fixture
def regulator_client(client, db):
    """The Shanghai cyberspace administration in the regulator's area (province 31)."""
    factories.regulator_login(client, province="31")
    return client


@pytest.fixture
def filed(entity, system, subject):
    """A draft filing with its documents built and every attachment uploaded."""
    return factories.filed_filing(entity, system, subject)


@pytest.fixture
def device(entity, purpose):
    """A pull device and its token; its feed already holds its acknowledged connection test, number 1."""
    return factories.pull_system(entity=entity, purpose=purpose)


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real Celery worker in a thread, on the configured broker, on queues of its own.

    Tests using it need django_db(transaction=True): the worker has its own
    database connection and sees only committed rows.
    """
    import uuid

    import celery.contrib.testing.tasks  # noqa: F401  (registers the ping task start_worker expects)
    from celery.contrib.testing.worker import start_worker

    from facerights.celery import app
    from facerights.queues import QUEUE_KINDS

    settings.FACERIGHTS_QUEUE_PREFIX = f"test-{uuid.uuid4().hex[:12]}-"
    queues = [settings.FACERIGHTS_QUEUE_PREFIX + kind for kind in QUEUE_KINDS]
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queues[-1]
    try:
        with start_worker(
            app, pool="solo", concurrency=1, perform_ping_check=False, queues=queues, loglevel="WARNING"
        ) as worker:
            yield worker
    finally:
        app.conf.task_default_queue = previous


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` are skipped, with the reason, when the database is SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason=f"needs PostgreSQL; this run uses {connection.vendor} (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _english_messages():
    """Service messages in English (their source language); pages follow the request's language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def simulated_push(tmp_path):
    """Start simulated push systems on loopback; each keeps its own store."""
    from dataops.registry.credentials import secret_new
    from simulator.push import PushSystem
    from simulator.store import Store

    started = []

    def start(*, keys=(), mode="sync", failure_rate=0.0, portal_url="", delay=0.0):
        store = Store(tmp_path / f"push-{len(started)}.sqlite3", list(keys))
        system = PushSystem(
            system_id=0,
            secret=secret_new(),
            store=store,
            mode=mode,
            failure_rate=failure_rate,
            portal_url=portal_url,
            delay=delay,
        ).online()
        started.append(system)
        return system

    yield start
    for system in started:
        system.offline()


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """Each test reads the holiday table afresh (its rows roll back with the test)."""
    from facerights.workdays import calendar_cache_clear

    calendar_cache_clear()
    yield
    calendar_cache_clear()


_tombstone_folders = itertools.count(1)


@pytest.fixture(autouse=True)
def _tombstones_elsewhere(settings, monkeypatch, tmp_path_factory):
    """Each test journals its deletions in a folder of its own under pytest's temp dir, never in var/.

    The folder is created only by a test that deletes something. The variable
    is set too, for the processes some tests start (test_no_loss).
    """
    folder = tmp_path_factory.getbasetemp() / "tombstones" / str(next(_tombstone_folders))
    settings.FACERIGHTS_TOMBSTONE_DIR = folder
    monkeypatch.setenv("FACERIGHTS_TOMBSTONE_DIR", str(folder))


@pytest.fixture(autouse=True)
def _fresh_cache_and_sms():
    """Rate-limit counters and the test SMS outbox start empty in every test."""
    from django.core.cache import cache

    from facerights.sms import MemorySmsBackend

    cache.clear()
    MemorySmsBackend.outbox.clear()
    yield


ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, driven by Playwright (nothing is downloaded)."""
    import os

    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls from a test that also runs Playwright's loop
    executable = "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--disable-gpu", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    # bypass_csp only lets the test inject axe-core; the policy itself is tested on its own.
    context = chromium.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def axe():
    """Run axe-core in a page; return its serious and critical violations."""
    script = (Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js").read_text()

    def check(page) -> list[dict]:
        page.add_script_tag(content=script)
        result = page.evaluate(
            "() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']})"
        )
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    return check


@pytest.fixture
def screenshot(request):
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{request.node.name}-{name}.png"), full_page=True)

    return take


@pytest.fixture
def admin_client(client, admin_user):
    """A superuser signed in with a second factor, as the admin requires of every staff member."""
    factories.staff_login(client, admin_user)
    return client


@pytest.fixture(autouse=True)
def _audit_events_in_the_codes_own_transaction(request, monkeypatch):
    """An audit event must be written in a transaction of the code's own, not only in the test's.

    audit_record refuses to run outside a transaction, but a test's own transaction (pytest-django
    wraps each ordinary database test in one atomic block) would hide a service, task or view that
    has none, and fails in production (tests/test_outside_a_transaction.py has the cases found so).
    Here, in an ordinary database test, an event needs a second block: the code's.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    )
    if transactional or (marker is None and "db" not in request.fixturenames):
        yield
        return
    from django.db import connection

    import facerights.audit as audit

    original = audit._append  # every event is written through it, however it was recorded

    def in_own_transaction(actor, rows):
        if len(connection.atomic_blocks) < 2:
            raise RuntimeError("an audit event outside the code's own transaction: it would fail in production")
        return original(actor, rows)

    monkeypatch.setattr(audit, "_append", in_own_transaction)
    yield
