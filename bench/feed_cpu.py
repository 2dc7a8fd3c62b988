"""The pull feed in process: CPU and SQL statements per request, no HTTP server, no wrk.

    .venv/bin/python bench/feed_cpu.py [--devices 1000] [--requests 2000] [--profile]

Its own database (facerights_bench_feedcpu): `--devices` pull devices made as
bench/pull_feed.py makes them, a tenth of them with an instruction waiting, each
polled once first (their instructions delivered, as in a steady state). Then
`--requests` feed reads of random devices go through Django's WSGI handler (every
middleware, as under gunicorn), timed with time.process_time (this process only:
PostgreSQL's own work is not in it), and as many reads of the baseline view
(bench/urls.py) for comparison. The SQL statements of one read are counted with
CaptureQueriesContext; the connection's health check (CONN_HEALTH_CHECKS) runs on the
raw connection and is not among them.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_feedcpu")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import pull_feed  # noqa: E402  (sets Django up)
from bench.pull_feed import common  # noqa: E402


def _environ(path: str, token: str | None) -> dict:
    path, _sep, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return environ


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions for the feed")
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    common.fresh_database()
    tokens = pull_feed.devices_create(args.devices, waiting=args.devices // 10)
    ids = list(tokens)
    handler = WSGIHandler()
    statuses: dict[str, int] = {}

    def start_response(status, headers, exc_info=None):
        statuses[status] = statuses.get(status, 0) + 1

    def feed(pk: int) -> None:
        b"".join(handler(_environ(f"/api/v1/systems/{pk}/deletions?after=0", tokens[pk]), start_response))

    def baseline(pk: int) -> None:
        b"".join(handler(_environ(f"/bench/baseline/{pk}", None), start_response))

    for pk in ids:  # the steady state: every waiting instruction delivered, every last contact recorded
        feed(pk)
    for name, call in (("feed", feed), ("baseline", baseline)):
        chosen = [random.choice(ids) for _ in range(args.requests)]
        for pk in chosen[:200]:
            call(pk)  # warm
        statuses.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        for pk in chosen:
            call(pk)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        waiting, idle = ids[0], ids[-1]
        counts = []
        for pk in (waiting, idle):
            with CaptureQueriesContext(connection) as queries:
                call(pk)
            counts.append(len(queries))
        print(
            f"{name}: {args.requests} requests, {cpu / args.requests * 1000:.2f} ms CPU and "
            f"{wall / args.requests * 1000:.2f} ms wall each; SQL statements: {counts[0]} (an instruction "
            f"waiting), {counts[1]} (none); statuses {statuses}"
        )
        if name == "feed":
            with CaptureQueriesContext(connection) as queries:
                feed(waiting)
            for query in queries:
                print("   ", " ".join(query["sql"].split())[:160])
    if args.profile:
        import cProfile
        import pstats

        chosen = [random.choice(ids) for _ in range(args.requests)]
        profiler = cProfile.Profile()
        profiler.enable()
        for pk in chosen:
            feed(pk)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
