"""The subject's dashboard in process: CPU and SQL statements per request, no HTTP server, no wrk.

    .venv/bin/python bench/dashboard_cpu.py [--requests 500] [--profile] [--keep]

Its own database (facerights_bench_dashcpu, made afresh unless --keep): one signed-in
person with 5 holdings across 5 systems at 3 places (one system without a site), each
with its consent to the system's published notice, a verified ward, an open request.
Then `--requests` GETs of /me/ (in Chinese, then in English) go through Django's test
client (every middleware, as under gunicorn; no test instrumentation), timed with
time.process_time (this process only: PostgreSQL's own work is not in it), and as many
of /healthz, a bare Django view, for comparison. The SQL statements of one dashboard
are counted with CaptureQueriesContext (the connection's health check runs on the raw
connection and is not among them). --profile prints a cProfile of the dashboards.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_dashcpu")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from consent.models import DataSubject  # noqa: E402
from tests import factories  # noqa: E402


def load() -> DataSubject:
    from dataops.deletions.intake import consent_withdrawal_submit, rights_request_submit
    from dataops.registry.holdings import holding_record

    entity, purpose, other = factories.entity(), factories.purpose(), factories.purpose()
    sites = [factories.site(entity, name_zh=f"门店{n}", name_en=f"Shop {n}" if n else "") for n in range(3)]
    systems = [
        factories.active_system(entity=entity, site=sites[n % 3], purpose=purpose, name_en=f"Gate {n}" if n else "")
        for n in range(4)
    ]
    systems.append(factories.active_system(entity=entity, site=None, purpose=other, kind="central"))
    factories.system_save(actor="bench", system=systems[1], purposes=[purpose, other])
    person = factories.subject(phone="13800000001")
    holdings = [factories.holding(person, system) for system in systems[:4]]
    holding_record(
        actor="bench", subject=person, system=systems[4], subject_key="K-central", data_kind="both", consent=None
    )
    provenance = factories.Provenance(channel="portal", ip_prefix="203.0.113.0/24")
    consent_withdrawal_submit(actor="bench", record=holdings[2].consent, provenance=provenance)
    rights_request_submit(actor="bench", subject=person, type="copy")
    factories.ward_of(person)
    return person


def timed(client: Client, path: str, count: int, language: str) -> float:
    started = time.process_time()
    for _ in range(count):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, response.status_code
    return (time.process_time() - started) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--dump", type=Path, help="write the pages (zh-Hans, English, a ward's) to this folder")
    parser.add_argument("--keep", action="store_true", help="reuse the database made by an earlier run")
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    if args.keep and DataSubject.objects.filter(user__isnull=False).exists():
        person = DataSubject.objects.filter(user__isnull=False).get()
        user = person.user
    else:
        common.fresh_database()
        person = load()
        user = factories.user_with_role("data_subject")
        from consent.services import subject_link_user

        subject_link_user(actor="bench", subject=person, user=user)
    cache.clear()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    for language in ("zh-hans", "en"):
        client.get("/me/", HTTP_ACCEPT_LANGUAGE=language)  # warm: templates compiled, caches filled
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/me/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    statements = [query["sql"] for query in queries.captured_queries]  # before the next request clears the log
    assert body.count('class="holding"') == 5, body
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        ward = person.wards.get().ward
        for name, path, language in (
            ("zh", "/me/", "zh-hans"),
            ("en", "/me/", "en"),
            ("ward-zh", f"/wards/{ward.uuid}/", "zh-hans"),
            ("ward-en", f"/wards/{ward.uuid}/", "en"),
        ):
            page = client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            (args.dump / f"{name}.html").write_text(re.sub(r'value="[A-Za-z0-9]{64}"', 'value="CSRF"', page))
    bare = Client(HTTP_HOST="127.0.0.1")
    timed(bare, "/healthz", 50, "zh-hans")
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall time
        profiler.enable()
        timed(client, "/me/", args.requests, "zh-hans")
        profiler.disable()
        stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
        stats.print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
    zh = timed(client, "/me/", args.requests, "zh-hans")
    en = timed(client, "/me/", args.requests, "en")
    healthz = timed(bare, "/healthz", args.requests, "zh-hans")
    print(f"SQL statements per dashboard: {len(statements)}")
    for sql in statements:
        print(f"  {sql[:160]}")
    print(f"CPU per dashboard (zh-Hans): {zh:.2f} ms; (English): {en:.2f} ms; over {args.requests} GETs each")
    print(f"CPU per /healthz (bare view): {healthz:.2f} ms; dashboard / bare: {(zh + en) / 2 / healthz:.1f}x")


if __name__ == "__main__":
    main()
