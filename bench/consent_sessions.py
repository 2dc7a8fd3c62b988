"""Consent at capture benchmark (issue 19): whole consents per second, from the device's session to its enrolment.

    .venv/bin/python bench/consent_sessions.py [--people 300] [--threads 4] [--gunicorn 4] [--device-qr]

Each flow is what a lobby sees for one guest: the kiosk opens a session (API), the guest's phone
opens the page and sends a consent (the portal page, with its CSRF token), the kiosk reads the
outcome and enrols with the token (API). By default flows run in threads through Django's own
request handling in this process (no network server); with --gunicorn N, over HTTP against
gunicorn with N sync workers on this machine (the clients share its two cores). PostgreSQL, its
own database: facerights_bench_capture. The target is a busy lobby's peak, 50 a second, with
headroom. With --device-qr the kiosk draws the QR code itself (`"qr": false`), as an integrator may.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_capture")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from dataops.models import ProcessingSystem  # noqa: E402
from tests import factories  # noqa: E402


def _report(key: str, purpose: str, outcome: dict) -> dict:
    """The kiosk's enrolment report, carrying the consent's token."""
    return {
        "subject_key": key,
        "data_kind": "template",
        "enrolled_at": "2026-12-05T10:00:00+08:00",
        "identifiers": {"external": key},
        "purpose": purpose,
        "consent_token": outcome["consent_token"],
    }


OPEN_OPTIONS: dict = {}  # {"qr": False} with --device-qr


def flow(token: str, purpose: str, key: str) -> float:
    started = time.perf_counter()
    api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    opened = api.post(
        "/api/v1/consent-sessions",
        {"purpose": purpose, "subject_key": key, **OPEN_OPTIONS},
        content_type="application/json",
    ).json()
    phone = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    path = urlsplit(opened["url"]).path
    page = phone.get(path).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    version = re.search(r'name="notice_version" value="(\d+)"', page).group(1)
    phone.post(
        path,
        {"csrfmiddlewaretoken": csrf, "notice_version": version, "answer": "consent", "date_of_birth": "1988-08-08"},
        HTTP_REFERER=f"https://localhost{path}",
        secure=True,
    )
    outcome = api.get(f"/api/v1/consent-sessions/{opened['id']}").json()
    enrolled = api.post("/api/v1/holdings", _report(key, purpose, outcome), content_type="application/json")
    assert enrolled.status_code == 201, enrolled.content
    connection.close()
    return time.perf_counter() - started


WEB_PORT = 8473


def _http(method: str, path: str, *, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=30)
    conn.request(method, path, body=body, headers={"Host": "127.0.0.1", **(headers or {})})
    response = conn.getresponse()
    content = response.read()
    conn.close()
    return response, content


def http_flow(token: str, purpose: str, key: str) -> float:
    """The same five requests as `flow`, over HTTP to gunicorn."""
    started = time.perf_counter()
    api = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    _r, content = _http(
        "POST",
        "/api/v1/consent-sessions",
        body=json.dumps({"purpose": purpose, "subject_key": key, **OPEN_OPTIONS}).encode(),
        headers=api,
    )
    opened = json.loads(content)
    path = urlsplit(opened["url"]).path
    response, content = _http("GET", path)
    page = content.decode()
    cookies = "; ".join(c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or [])
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    version = re.search(r'name="notice_version" value="(\d+)"', page).group(1)
    answer = {
        "csrfmiddlewaretoken": csrf,
        "notice_version": version,
        "answer": "consent",
        "date_of_birth": "1988-08-08",
    }
    response, _c = _http(
        "POST",
        path,
        body=urlencode(answer).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies},
    )
    assert response.status == 302, response.status
    _r, content = _http("GET", f"/api/v1/consent-sessions/{opened['id']}", headers=api)
    outcome = json.loads(content)
    report = json.dumps(_report(key, purpose, outcome)).encode()
    response, content = _http("POST", "/api/v1/holdings", body=report, headers=api)
    assert response.status == 201, content
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--gunicorn", type=int, default=0, help="gunicorn sync workers (0: in this process)")
    parser.add_argument("--device-qr", action="store_true", help="the kiosk draws the QR code itself (qr: false)")
    args = parser.parse_args()
    if args.device_qr:
        OPEN_OPTIONS["qr"] = False
    print(f"machine: {common.machine()}")
    common.fresh_database()
    entity, purpose = factories.entity(), factories.purpose()
    system, token = factories.pull_system(entity=entity, purpose=purpose)
    ProcessingSystem.objects.filter(pk=system.pk).update(consent_at_capture=True)
    connection.close()
    run, web = flow, None
    if args.gunicorn:
        run = http_flow
        web = common.start_gunicorn(WEB_PORT, args.gunicorn)
    try:
        for n in range(2 * max(1, args.gunicorn)):  # every worker warm
            run(token, purpose.code, f"WARM-UP-{n}")
        busy_before, client_before = _machine_busy(), _own_cpu()
        durations, elapsed = _measure(run, token, purpose.code, args.people, args.threads)
        busy, client = _machine_busy() - busy_before, _own_cpu() - client_before
    finally:
        if web is not None:
            common.stop(web)
    where = f"over HTTP to gunicorn -w {args.gunicorn}" if args.gunicorn else "in this process"
    where += ", the kiosk drawing the QR code" if args.device_qr else ""
    print(
        f"{len(durations)} consents (open, page, answer, outcome, enrol) in {elapsed:.1f} s with {args.threads} threads, {where}"
    )
    print(f"consents completed per second: {len(durations) / elapsed:.1f} (target: 50)")
    print(
        f"one consent: p50 {statistics.median(durations) * 1000:.0f} ms, "
        f"p95 {durations[int(0.95 * (len(durations) - 1))] * 1000:.0f} ms"
    )
    n = len(durations)
    print(
        f"CPU per consent: {busy / n * 1000:.0f} ms on the whole machine, of which the benchmark's own clients "
        f"{client / n * 1000:.0f} ms; the rest, web and PostgreSQL: {(busy - client) / n * 1000:.0f} ms "
        f"(the machine's {os.cpu_count()} cores were {busy / (elapsed * (os.cpu_count() or 1)):.0%} busy)"
    )


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (not idle or waiting on disk) since boot."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure(run, token: str, purpose: str, people: int, threads_count: int) -> tuple[list[float], float]:
    durations: list[float] = []
    lock = threading.Lock()
    keys = iter(range(people))

    def worker() -> None:
        for n in keys:
            took = run(token, purpose, f"GUEST-{n}")
            with lock:
                durations.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    durations.sort()
    return durations, time.perf_counter() - started


if __name__ == "__main__":
    main()
