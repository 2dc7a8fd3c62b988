"""The soak at its reduced size (make soak SOAK_ARGS="--size ci"): no deletion lost under every kind of fault."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.soak


@pytest.mark.skipif(
    not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or not shutil.which("redis-server"),
    reason="the soak starts its own PostgreSQL and Redis: their server binaries are needed",
)
def test_no_deletion_is_lost_duplicated_or_invented_under_faults():
    run = subprocess.run(
        [sys.executable, "scripts/soak.py", "--size", "ci"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    report = run.stdout[run.stdout.index("{\n") : run.stdout.rindex("}") + 1]
    figures = json.loads(report)
    assert figures["requests accepted"] == 200
    assert (
        figures["faults injected"] == 6
    )  # a worker killed, Redis restarted and wiped, PostgreSQL restarted, a system away and back
    assert figures["lost (accepted but not deleted everywhere)"] == 0
    assert figures["unexpected (deleted but never requested)"] == 0
    assert figures["duplicate effects"] == 0
    assert figures["not completed in the ledger"] == 0
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
