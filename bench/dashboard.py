"""Dashboard benchmark (issue 3): 1,000,000 subjects and 5,000,000 holdings, 20 signed-in users.

    .venv/bin/python bench/dashboard.py [--subjects 1000000] [--seconds 30]

Loads the data set with PostgreSQL COPY into its own database
(facerights_bench_dash), signs in 20 users, then wrk (2 threads, 20
connections) asks for their dashboards through gunicorn (4 sync workers), and
the same for /healthz, a bare Django view, for comparison: requests per second,
p50, p95 (wrk's Lua done() hook) and p99 of each, and the ratio of the two
throughputs in the same run. A smaller data set (--subjects 20000) loads in seconds.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_dash")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402

from consent.models import DataSubject  # noqa: E402
from dataops.models import Holding  # noqa: E402
from tests import factories  # noqa: E402

WEB_PORT = 8102
SYSTEMS = 50
LUA = """
local cookies = {}
init = function(args)
  for line in io.lines("%s") do table.insert(cookies, line) end
  math.randomseed(os.time() + math.random(1000))
end
request = function()
  return wrk.format("GET", "/me/", {["Cookie"] = cookies[math.random(#cookies)]})
end
done = function(summary, latency, requests)
  io.write(string.format("p95 %%.2fms\\n", latency:percentile(95) / 1000))
end
"""
# The bare view's run: wrk's own requests, and the same p95 line at the end of its report.
BARE_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("p95 %.2fms\\n", latency:percentile(95) / 1000))
end
"""


def copy_rows(table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(row) + "\n")
    buffer.seek(0)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while data := buffer.read(1 << 20):
            copy.write(data)


def load(subjects: int) -> list[int]:
    entity, purpose = factories.entity(), factories.purpose()
    sites = [factories.site(entity, name_zh=f"门店{n}") for n in range(10)]
    systems = [factories.active_system(entity=entity, site=sites[n % 10], purpose=purpose) for n in range(SYSTEMS)]
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('consent_datasubject', 'id'))")
        first = cursor.fetchone()[0] + 1
    wrapped = "\\\\x" + os.urandom(61).hex()  # a stand-in wrapped key: these subjects are never decrypted
    for start in range(0, subjects, 200_000):
        count = min(200_000, subjects - start)
        copy_rows(
            "consent_datasubject",
            ["id", "uuid", "wrapped_key", "created_at", "is_synthetic"],
            (
                (str(first + start + n), f"{random.getrandbits(128):032x}", wrapped, "2026-01-01 00:00:00+08", "f")
                for n in range(count)
            ),
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('consent_datasubject', 'id'), %s)", [first + subjects])
    rng = random.Random(1)
    system_ids = [s.pk for s in systems]
    for start in range(0, subjects, 100_000):
        rows = []
        for n in range(start, min(start + 100_000, subjects)):
            for system_id in rng.sample(system_ids, 5):
                rows.append(
                    (
                        str(first + n),
                        str(system_id),
                        f"K{system_id}-{n}",
                        "template",
                        "2026-01-01 00:00:00+08",
                        "2026-12-31",
                        "active",
                    )
                )
        copy_rows(
            "dataops_holding",
            ["subject_id", "system_id", "subject_key", "data_kind", "enrolled_at", "retention_until", "status"],
            rows,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"loaded {subjects:,} subjects and {Holding.objects.count():,} holdings in {time.monotonic() - started:.0f} s"
    )
    return list(range(first, first + 20))


def sessions(subject_ids: list[int]) -> list[str]:
    User = get_user_model()
    cookies = []
    for subject_id in subject_ids:
        user = User.objects.create_user(username=f"bench{subject_id}")
        DataSubject.objects.filter(pk=subject_id).update(user=user)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={store.session_key}")
    return cookies


def summary(report: str) -> str:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report).group(1)
    p50 = re.search(r"50%\s+(\S+)", report).group(1)
    p95 = re.search(r"^p95 (\S+)", report, re.MULTILINE).group(1)  # from the Lua scripts' done()
    p99 = re.search(r"99%\s+(\S+)", report).group(1)
    return f"{rps} req/s, p50 {p50}, p95 {p95}, p99 {p99}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    common.fresh_database()
    users = sessions(load(args.subjects))
    folder = Path(common.ENV["FACERIGHTS_VAR_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    cookie_file = folder / "cookies.txt"
    cookie_file.write_text("\n".join(users) + "\n")
    script = folder / "dashboard.lua"
    script.write_text(LUA % cookie_file)
    bare_script = folder / "bare.lua"
    bare_script.write_text(BARE_LUA)
    connection.close()
    web = common.start_gunicorn(WEB_PORT, 4)
    try:
        common.wrk(f"http://127.0.0.1:{WEB_PORT}", script=script, seconds=5)
        dashboard = common.wrk(f"http://127.0.0.1:{WEB_PORT}", script=script, seconds=args.seconds)
        bare = common.wrk(f"http://127.0.0.1:{WEB_PORT}/healthz", script=bare_script, seconds=args.seconds)
    finally:
        common.stop(web)
    print(f"dashboard, 20 users, 5 holdings each: {summary(dashboard)}")
    print(f"bare Django view (/healthz):         {summary(bare)}")
    ratio = float(re.search(r"Requests/sec:\s+([\d.]+)", dashboard).group(1)) / float(
        re.search(r"Requests/sec:\s+([\d.]+)", bare).group(1)
    )
    p95 = re.search(r"^p95 ([\d.]+)ms", dashboard, re.MULTILINE).group(1)
    print(f"dashboard p95: {p95} ms (target < 50 ms, issue 20)")
    print(
        f"throughput ratio dashboard / bare view, same run: {ratio:.2f} (target >= 0.3, issue 20); "
        "wrk used 2 threads on the same 2 cores"
    )
    print(dashboard)


if __name__ == "__main__":
    main()
