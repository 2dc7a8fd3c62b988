"""Shared set-up for the benchmarks: a database and broker of their own, and the processes to run.

Benchmarks never touch the test database or the default Redis database: they
use PostgreSQL database `facerights_bench` and Redis database 1 (override with
BENCH_DATABASE_URL and BENCH_BROKER_URL).
"""

from __future__ import annotations

import base64
import contextlib
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/1")
KEY = base64.urlsafe_b64encode(b"b" * 32).decode()

ENV = {
    "DATABASE_URL": DATABASE_URL,
    "CELERY_BROKER_URL": BROKER_URL,
    "DEBUG": "false",
    "SECRET_KEY": "benchmark-only-secret-key-" + "x" * 30,
    "FIELD_ENCRYPTION_KEY": KEY,
    "IDENTIFIER_HASH_KEY": KEY,
    "FACERIGHTS_SIGNING_KEY": KEY,
    "ALLOWED_HOSTS": "localhost,127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "WARNING",
    "FACERIGHTS_VAR_DIR": str(ROOT / "var" / "bench"),
}


def environment() -> dict:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerights.settings")
    return {**os.environ, **ENV}


def fresh_database() -> None:
    """Drop and recreate the benchmark database, then migrate it."""
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=environment(), check=True)


def flush_broker() -> None:
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


def wrk(url: str, *, script: Path | None = None, connections: int = 20, seconds: int = 30, threads: int = 2) -> str:
    """Run wrk (installing Debian's package if missing) and return its report."""
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        args += ["-s", str(script)]
    return subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout


def start(args: list[str], *, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """Start a process of the system; its output goes to BENCH_LOG_DIR/<program>.log if that is set, else nowhere."""
    output: int | IO[bytes] = subprocess.DEVNULL
    if os.environ.get("BENCH_LOG_DIR"):
        folder = Path(os.environ["BENCH_LOG_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        output = open(folder / f"{args[2] if args[1] == '-m' else Path(args[0]).name}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env={**environment(), **(env or {})},
        stdout=output,
        stderr=subprocess.STDOUT,
        **kwargs,
    )


def start_gunicorn(port: int, workers: int, *, wait: float = 4, settings: str | None = None) -> subprocess.Popen:
    """Gunicorn serving the project on 127.0.0.1:`port` with `workers` sync workers, given `wait` seconds to start.

    `settings`: a settings module other than the project's (bench.settings adds the baseline views).
    """
    process = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "facerights.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env={"DJANGO_SETTINGS_MODULE": settings} if settings else None,
    )
    time.sleep(wait)
    return process


def start_workers(concurrency: int = 2) -> subprocess.Popen:
    process = start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "facerights",
            "worker",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
        ]
    )
    time.sleep(4)
    return process


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def machine() -> str:
    cpu = "unknown cpu"
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as info:
        cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def _stat(pid: int | str) -> tuple[int, str, float] | None:
    """(parent pid, command name, CPU seconds of the process and its reaped children), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            raw = stat.read()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # utime, stime, cutime and cstime: fields 14 to 17 of stat, 12 to 15 after the name (0-based 11 to 14)
    return int(fields[1]), name, sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_of_trees(roots: dict[str, int], *, exclude: tuple[int, ...] = ()) -> dict[str, float]:
    """CPU seconds spent so far by each named process tree (a root and its descendants), and by PostgreSQL.

    A child's time stays counted once it exits (the kernel adds it to its parent's). Processes in
    `exclude` (the benchmark's own database session, say) are left out, with their children.
    Resolution is the kernel's tick (10 ms): figures mean something summed over many operations.
    """
    table = {int(entry): row for entry in os.listdir("/proc") if entry.isdigit() and (row := _stat(entry))}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _name, _cpu) in table.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid: int) -> float:
        if pid in exclude or pid not in table:
            return 0.0
        return table[pid][2] + sum(tree(child) for child in children.get(pid, []))

    totals = {role: tree(pid) for role, pid in roots.items()}
    postmasters = [
        pid
        for pid, (ppid, name, _c) in table.items()
        if name == "postgres" and table.get(ppid, (0, ""))[1] != "postgres"
    ]
    totals["postgres"] = sum(tree(pid) for pid in postmasters)
    return totals


def cpu_of_process(pid: int) -> float:
    """CPU seconds one process has spent so far (the kernel's 10 ms resolution)."""
    row = _stat(pid)
    return row[2] if row else 0.0
