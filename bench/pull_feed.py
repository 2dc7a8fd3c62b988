"""Pull-feed benchmark (issue 4, d): requests per second with 10,000 devices polling.

    .venv/bin/python bench/pull_feed.py [--devices 10000] [--seconds 30]

10,000 pull devices, each with its own token, 1,000 of them with an instruction
waiting; wrk (2 threads, 20 connections) polls random devices' feeds through
gunicorn (4 sync workers). Its own database: facerights_bench_feed.

In the same run and through the same gunicorn, wrk then polls a baseline: a minimal
Django view reading one processing system by primary key (bench/urls.py, served with
bench/settings.py only, never in production URLs). The ratio feed/baseline is the figure
that holds on a shared machine, where requests per second alone are noisy.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_feed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from consent.models import DataSubject  # noqa: E402
from dataops.deletions.opening import deletion_requests_open  # noqa: E402
from dataops.models import Holding, ProcessingSystem, SystemCredential  # noqa: E402
from facerights import crypto  # noqa: E402
from tests import factories  # noqa: E402

WEB_PORT = 8101

LUA = """
local devices = {}
init = function(args)
  for line in io.lines("%s") do
    local id, token = line:match("(%%d+) (%%S+)")
    table.insert(devices, {id, token})
  end
  math.randomseed(os.time() + math.random(1000))
end
request = function()
  local d = devices[math.random(#devices)]
  %s
end
"""
FEED_REQUEST = (
    'return wrk.format("GET", "/api/v1/systems/" .. d[1] .. "/deletions?after=0", '
    '{["Authorization"] = "Bearer " .. d[2]})'
)
BASELINE_REQUEST = 'return wrk.format("GET", "/bench/baseline/" .. d[1])'


def devices_create(count: int, *, waiting: int = 1000) -> dict[int, str]:
    """`count` active pull devices, each with its own token, `waiting` of them with one instruction waiting.

    Returns each device's token by its id.
    """
    entity, purpose = factories.entity(), factories.purpose()
    template, _token = factories.pull_system(entity=entity, purpose=purpose)
    fields = {
        f.name: getattr(template, f.name) for f in ProcessingSystem._meta.concrete_fields if f.name not in ("id",)
    }
    devices = ProcessingSystem.objects.bulk_create(
        [ProcessingSystem(**{**fields, "name_zh": f"设备{n}", "status": "active"}) for n in range(count)],
        batch_size=2000,
    )
    tokens = {device.pk: f"frd_bench_{device.pk}_{n:06d}" for n, device in enumerate(devices)}
    SystemCredential.objects.bulk_create(
        [
            SystemCredential(system_id=pk, kind="device_token", token_hash=crypto.token_digest(token), hint=token[:10])
            for pk, token in tokens.items()
        ],
        batch_size=2000,
    )
    now = timezone.now()
    with_one = devices[:waiting]
    subjects = DataSubject.objects.bulk_create([DataSubject(wrapped_key=crypto.data_key_new()[1]) for _ in with_one])
    Holding.objects.bulk_create(
        [
            Holding(
                subject=s,
                system=d,
                subject_key=f"F{d.pk}",
                data_kind="template",
                enrolled_at=now,
                retention_until=now.date(),
            )
            for s, d in zip(subjects, with_one, strict=True)
        ]
    )
    deletion_requests_open(actor="bench", subject_ids=[s.pk for s in subjects], trigger="subject_request")
    return tokens


def _wrk(script: Path, seconds: int) -> str:
    common.wrk(f"http://127.0.0.1:{WEB_PORT}", script=script, seconds=5)  # warm-up
    return common.wrk(f"http://127.0.0.1:{WEB_PORT}", script=script, seconds=seconds)


def _rate(report: str) -> float:
    match = re.search(r"Requests/sec:\s+([\d.]+)", report)
    return float(match.group(1)) if match else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    common.fresh_database()
    tokens = devices_create(args.devices, waiting=min(1000, args.devices))
    token_file = Path(common.ENV["FACERIGHTS_VAR_DIR"]) / "tokens.txt"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("".join(f"{pk} {token}\n" for pk, token in tokens.items()))
    script = token_file.with_suffix(".lua")
    script.write_text(LUA % (token_file, FEED_REQUEST))
    baseline = token_file.with_name("baseline.lua")
    baseline.write_text(LUA % (token_file, BASELINE_REQUEST))
    connection.close()
    # bench.settings: the project's settings and URLs, plus the baseline view (never in production URLs).
    web = common.start_gunicorn(WEB_PORT, 4, settings="bench.settings")
    try:
        # Alternating, so that both see the same machine (two shared cores, wrk on them too).
        feed_report = _wrk(script, args.seconds)
        baseline_report = _wrk(baseline, args.seconds)
    finally:
        common.stop(web)
    where = f"{args.devices:,} devices, wrk -t2 -c20 -d{args.seconds}s through gunicorn -w 4 on this machine"
    print(f"(d) pull feed, {where}:")
    print(feed_report)
    print(f"baseline: a Django view reading one processing system by primary key, same gunicorn, {where}:")
    print(baseline_report)
    feed_rate, baseline_rate = _rate(feed_report), _rate(baseline_report)
    ratio = feed_rate / baseline_rate if baseline_rate else 0.0
    print(f"feed {feed_rate:,.0f} req/s / baseline {baseline_rate:,.0f} req/s = {ratio:.2f}")


if __name__ == "__main__":
    main()
