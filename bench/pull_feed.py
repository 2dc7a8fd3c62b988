"""Pull-feed benchmark (issue 4, d): requests per second with 10,000 devices polling.

    .venv/bin/python bench/pull_feed.py [--devices 10000] [--seconds 30]

10,000 pull devices, each with its own token, 1,000 of them with an instruction
waiting; wrk (2 threads, 20 connections) polls random devices' feeds through
gunicorn (4 sync workers). Its own database: facerights_bench_feed.
"""

from __future__ import annotations

import argparse
import os
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
  return wrk.format("GET", "/api/v1/systems/" .. d[1] .. "/deletions?after=0", {["Authorization"] = "Bearer " .. d[2]})
end
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    common.fresh_database()
    entity, purpose = factories.entity(), factories.purpose()
    template, _token = factories.pull_system(entity=entity, purpose=purpose)
    fields = {
        f.name: getattr(template, f.name) for f in ProcessingSystem._meta.concrete_fields if f.name not in ("id",)
    }
    devices = ProcessingSystem.objects.bulk_create(
        [ProcessingSystem(**{**fields, "name_zh": f"设备{n}", "status": "active"}) for n in range(args.devices)],
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
    # 1,000 devices with one instruction waiting.
    now = timezone.now()
    waiting = devices[:1000]
    subjects = DataSubject.objects.bulk_create([DataSubject(wrapped_key=crypto.data_key_new()[1]) for _ in waiting])
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
            for s, d in zip(subjects, waiting, strict=True)
        ]
    )
    deletion_requests_open(actor="bench", subject_ids=[s.pk for s in subjects], trigger="subject_request")
    token_file = Path(common.ENV["FACERIGHTS_VAR_DIR"]) / "tokens.txt"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("".join(f"{pk} {token}\n" for pk, token in tokens.items()))
    script = token_file.with_suffix(".lua")
    script.write_text(LUA % token_file)
    connection.close()
    web = common.start_gunicorn(WEB_PORT, 4)
    try:
        common.wrk(f"http://127.0.0.1:{WEB_PORT}", script=script, seconds=5)  # warm-up
        report = common.wrk(f"http://127.0.0.1:{WEB_PORT}", script=script, seconds=args.seconds)
    finally:
        common.stop(web)
    print(
        f"(d) pull feed, {args.devices:,} devices, wrk -t2 -c20 -d{args.seconds}s through gunicorn -w 4 on this machine:"
    )
    print(report)


if __name__ == "__main__":
    main()
