"""Propagation benchmarks (issues 4 and 20): one person's deletion, 1,000 people at once, a mass deletion.

    .venv/bin/python bench/propagation.py [--mass 100000] [--skip-mass] [--people 1000] [--threads 8]
    .venv/bin/python bench/propagation.py --mass-only [--mass 100000]
    .venv/bin/python bench/propagation.py --profile [--profile-people 100]

The per-person cases go the way a person does: signed in to the portal, they ask for their
facial data to be deleted (POST /me/requests/new/, type "deletion", which calls
`rights_request_submit`), over HTTP to gunicorn; the deletion goes to three push systems of
the simulator and is done when the third confirms. CPU is read from /proc per role (web,
worker, PostgreSQL; the benchmark's own clients and database session are left out).

`--profile` opens and delivers deletions in this process instead (the simulator still
answers over HTTP) and prints CPU, SQL statements and broker messages per stage: open,
claim, send, confirm, complete.

Runs on its own PostgreSQL database and Redis database (bench/common.py), with a
real Celery worker (prefork, 2 processes) and the simulator in a separate process.
Prints its figures; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from consent.models import DataSubject  # noqa: E402
from dataops.deletions.opening import deletion_requests_open  # noqa: E402
from dataops.models import DeletionRequest, Holding, ProcessingSystem  # noqa: E402
from dataops.registry.credentials import credential_issue  # noqa: E402
from facerights import crypto  # noqa: E402
from facerights.models import User  # noqa: E402
from tests import factories  # noqa: E402

PORT = 9201
WEB_PORT = 8100
CSRF = "b" * 32  # the benchmark's own CSRF secret, sent as cookie and header as a browser's script would


def load_subjects(count: int, systems: list[ProcessingSystem], offset: int = 0, *, accounts: bool = False) -> list[int]:
    """Bulk-load subjects holding data in every system, with a portal account each if asked (set-up, not measured)."""
    now = timezone.now()
    ids = []
    group = Group.objects.get(name="data_subject")
    for start in range(0, count, 5000):
        size = min(5000, count - start)
        users = []
        if accounts:
            users = User.objects.bulk_create(
                [User(username=f"bench-{offset + start + n}", password=UNUSABLE_PASSWORD_PREFIX) for n in range(size)]
            )
            User.groups.through.objects.bulk_create([User.groups.through(user=u, group=group) for u in users])
        batch = [
            DataSubject(wrapped_key=crypto.data_key_new()[1], user=users[n] if accounts else None) for n in range(size)
        ]
        DataSubject.objects.bulk_create(batch, batch_size=5000)
        Holding.objects.bulk_create(
            [
                Holding(
                    subject=subject,
                    system=system,
                    subject_key=f"B{system.pk}-{offset + start + n}",
                    data_kind="template",
                    enrolled_at=now,
                    retention_until=now.date(),
                )
                for n, subject in enumerate(batch)
                for system in systems
            ],
            batch_size=10000,
        )
        ids.extend(subject.pk for subject in batch)
    return ids


def sign_in(subject_ids: list[int]) -> dict[int, str]:
    """A signed-in portal session per subject, as after the person signed in (their session cookie's value)."""
    store = import_string(settings.SESSION_ENGINE + ".SessionStore")
    cookies = {}
    for subject in DataSubject.objects.filter(pk__in=subject_ids).select_related("user"):
        session = store()
        session[SESSION_KEY] = str(subject.user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = subject.user.get_session_auth_hash()
        session.create()
        cookies[subject.pk] = session.session_key
    return cookies


def press_delete(session_key: str) -> float:
    """The person's click: POST the deletion request; return when it was sent (wall clock)."""
    clicked = time.time()
    conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=60)
    conn.request(
        "POST",
        "/me/requests/new/",
        body=urlencode({"type": "deletion", "system": "", "details": ""}),
        headers={
            "Host": "127.0.0.1",
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}; {settings.CSRF_COOKIE_NAME}={CSRF}",
            "X-CSRFToken": CSRF,
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 302 or "/me/requests/" not in (response.getheader("Location") or ""):
        raise RuntimeError(f"the deletion request was not accepted: HTTP {response.status}")
    return clicked


def deletions_of(subject_ids: list[int]) -> dict[int, DeletionRequest]:
    return {d.subject_id: d for d in DeletionRequest.objects.filter(subject_id__in=subject_ids)}


def wait_completed_subjects(
    subject_ids: list[int], timeout: float, *, poll: float = 0.02
) -> dict[int, DeletionRequest]:
    """Wait until each subject's deletion is completed; return them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = DeletionRequest.objects.filter(subject_id__in=subject_ids, state="completed").count()
        if done == len(subject_ids):
            return deletions_of(subject_ids)
        time.sleep(poll)
    raise TimeoutError(f"{len(subject_ids) - done} of {len(subject_ids)} deletions not completed")


def wait_completed(ids: list[int], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not DeletionRequest.objects.filter(pk__in=ids).exclude(state="completed").exists():
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"{DeletionRequest.objects.filter(pk__in=ids).exclude(state='completed').count()} not completed")


class Meter:
    """CPU per role (web, worker, PostgreSQL) between two readings, leaving out the benchmark's own session."""

    def __init__(self, roots: dict[str, int]):
        self.roots = roots
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.own_backend = cursor.fetchone()[0]

    def read(self) -> dict[str, float]:
        return common.cpu_of_trees(self.roots, exclude=(self.own_backend,))

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float], per: int) -> str:
        used = {role: (after[role] - before[role]) / per for role in before}
        total = sum(used.values())
        parts = ", ".join(f"{role} {seconds * 1000:.1f} ms" for role, seconds in used.items())
        return f"{total:.3f} CPU-s per deletion ({parts})"


def bare_view(meter: Meter, requests: int = 500) -> float:
    """The same run's baseline: web and PostgreSQL CPU per request of a bare Django view (/healthz), in seconds."""
    before = meter.read()
    for _ in range(requests):
        conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=30)
        conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
        conn.getresponse().read()
        conn.close()
    after = meter.read()
    per = sum(after[role] - before[role] for role in before) / requests
    print(f"baseline: a bare Django view (/healthz) costs {per * 1000:.1f} ms of CPU per request (web and PostgreSQL)")
    return per


def one_at_a_time(subjects: list[int], cookies: dict[int, str], meter: Meter) -> None:
    """(a) One person at a time: click to the third confirmation."""
    latencies = []
    before = meter.read()
    for subject_id in subjects:
        clicked = press_delete(cookies[subject_id])
        deletion = wait_completed_subjects([subject_id], 30, poll=0.01)[subject_id]
        latencies.append(deletion.completed_at.timestamp() - clicked)
    after = meter.read()
    print(
        f"(a) one person at a time, {len(subjects)} deletions to 3 push systems, click to third confirmation: "
        f"p50 {common.percentile(latencies, 50) * 1000:.0f} ms, p95 {common.percentile(latencies, 95) * 1000:.0f} ms "
        f"(target p95 < 100 ms)"
    )
    print(f"    {meter.spent(before, after, len(subjects))} (target 0.02)")


def many_people(subjects: list[int], cookies: dict[int, str], meter: Meter, threads_count: int) -> None:
    """(a2) Many people pressing the button at once, from `threads_count` threads."""
    clicks: dict[int, float] = {}
    queue = iter(subjects)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def person() -> None:
        for subject_id in queue:
            try:
                clicked = press_delete(cookies[subject_id])
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)
                return
            with lock:
                clicks[subject_id] = clicked

    before = meter.read()
    started = time.monotonic()
    threads = [threading.Thread(target=person) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    opened = time.monotonic() - started
    if errors:
        raise errors[0]
    deletions = wait_completed_subjects(subjects, 600, poll=0.25)
    finished = time.monotonic() - started
    after = meter.read()
    latencies = [deletions[s].completed_at.timestamp() - clicks[s] for s in subjects]
    print(
        f"(a2) {len(subjects):,} people pressing the button from {threads_count} threads, 3 push systems: all confirmed "
        f"after {finished:.1f} s (target < 15 s); opening {len(subjects) / opened:.0f} requests/s "
        f"(target >= 200); latency p50 {common.percentile(latencies, 50):.1f} s, "
        f"p95 {common.percentile(latencies, 95):.1f} s"
    )
    print(f"    {meter.spent(before, after, len(subjects))}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mass", type=int, default=100_000, help="subjects in the mass deletion")
    parser.add_argument("--skip-mass", action="store_true")
    parser.add_argument("--mass-only", action="store_true", help="only case (c), the mass deletion")
    parser.add_argument("--one-at-a-time", type=int, default=200, help="people in case (a)")
    parser.add_argument("--people", type=int, default=1000, help="people pressing the button at once in case (a2)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="CPU, SQL and messages per stage, in this process")
    parser.add_argument("--profile-people", type=int, default=100)
    parser.add_argument("--profile-sql", action="store_true", help="with --profile: print the last deletion's SQL")
    parser.add_argument("--profile-pstats", default="", help="with --profile: write cProfile's figures to this file")
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    common.fresh_database()
    common.flush_broker()
    entity, purpose = factories.entity(), factories.purpose()
    systems, specs = [], []
    for n in range(5):
        system = factories.active_system(
            entity=entity,
            purpose=purpose,
            integration="push",
            webhook_url=f"http://127.0.0.1:{PORT + n}/webhook",
            is_internal=True,
        )
        secret = credential_issue(actor="bench", system=system, kind="webhook_secret")
        systems.append(system)
        specs.append({"system_id": system.pk, "name": f"bench-{n}", "kind": "push", "port": PORT + n, "secret": secret})
    device, token = factories.pull_system(entity=entity, purpose=purpose)
    specs.append({"system_id": device.pk, "name": "bench-device", "kind": "pull", "token": token, "poll_seconds": 1})
    mass_systems = [systems[3], systems[4], device]
    config = Path(common.ENV["FACERIGHTS_VAR_DIR"]) / "simulator.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    for path in (config.parent / "simulator").glob("*.sqlite3*"):
        path.unlink()
    config.write_text(json.dumps({"portal": f"http://127.0.0.1:{WEB_PORT}", "systems": specs}))
    if args.profile:
        subjects = load_subjects(args.profile_people + 20, systems[:3], accounts=True)
        simulator = common.start([sys.executable, "-m", "simulator", "--config", str(config)])
        time.sleep(2)
        try:
            from bench.profile_deletion import profile

            profile(subjects, sign_in(subjects), warm_up=20, show_sql=args.profile_sql, pstats_to=args.profile_pstats)
        finally:
            common.stop(simulator)
        return
    if args.mass_only:
        args.one_at_a_time = args.people = 0
    individual = load_subjects(args.one_at_a_time + args.people + 5, systems[:3], accounts=True)
    bulk = [] if args.mass_only else load_subjects(1000, systems[:3], offset=5_000_000)
    mass_subjects = [] if args.skip_mass else load_subjects(args.mass, mass_systems, offset=10_000_000)
    cookies = sign_in(individual)
    connection.close()
    web = common.start_gunicorn(WEB_PORT, 2, wait=0)
    simulator = common.start([sys.executable, "-m", "simulator", "--config", str(config)])
    workers = common.start_workers(concurrency=2)
    meter = Meter({"web": web.pid, "worker": workers.pid})
    try:
        for subject_id in individual[:5]:  # warm up: each process imports and connects once
            press_delete(cookies[subject_id])
        wait_completed_subjects(individual[:5], 30)
        if args.mass_only:
            mass(mass_subjects, args.mass, Meter({**meter.roots, "simulator": simulator.pid}))
            return
        bare_view(meter)
        one_at_a_time(individual[5 : args.one_at_a_time + 5], cookies, meter)
        many_people(individual[args.one_at_a_time + 5 :], cookies, meter, args.threads)
        # (b) 1,000 requests at once (opened in bulk, as a DPO's bulk action or a retention sweep does)
        started = time.monotonic()
        ids = deletion_requests_open(actor="bench", subject_ids=bulk, trigger="subject_request")
        submitted = time.monotonic() - started
        finished = wait_completed(ids, 300)
        print(
            f"(b) 1,000 requests opened in one call to 3 push systems: all confirmed {finished - started:.1f} s after "
            f"the first (submitting took {submitted:.1f} s) (target < 10 s)"
        )
        if not args.skip_mass:
            mass(mass_subjects, args.mass, Meter({**meter.roots, "simulator": simulator.pid}))
    finally:
        common.stop(workers, simulator, web)


def mass(subject_ids: list[int], count: int, meter: Meter) -> None:
    """(c) Face recognition ends: every subject's data deleted from 3 systems, opened in one call (in this process)."""
    before, own = meter.read(), time.process_time()
    started = time.monotonic()
    ids = deletion_requests_open(actor="bench", subject_ids=subject_ids, trigger="recognition_ended")
    opened = time.monotonic() - started
    opening_cpu = time.process_time() - own
    finished = wait_completed_bulk(ids, 1800)
    after = meter.read()
    print(
        f"(c) mass deletion of {count:,} subjects across 3 systems (2 push, batched, and 1 pull device): "
        f"all confirmed after {finished - started:.1f} s (opening took {opened:.1f} s) (target < 30 s)"
    )
    used = {role: after[role] - before[role] for role in before}
    print(
        f"    CPU: opening (this process) {opening_cpu:.1f} s, "
        + ", ".join(f"{role} {seconds:.1f} s" for role, seconds in used.items())
    )


def wait_completed_bulk(ids: list[int], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    low, high = min(ids), max(ids)
    while time.monotonic() < deadline:
        if not DeletionRequest.objects.filter(pk__gte=low, pk__lte=high).exclude(state="completed").exists():
            return time.monotonic()
        time.sleep(0.5)
    raise TimeoutError("mass deletion did not complete")


if __name__ == "__main__":
    main()
