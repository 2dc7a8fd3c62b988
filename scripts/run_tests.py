"""Run the test suite against the best services available, and say which.

DATABASE_URL and CELERY_BROKER_URL win when set. Otherwise PostgreSQL and
Redis on their standard local ports are used when they answer, else the
embedded defaults (SQLite, the filesystem broker). The tests run in one process
per core (up to four, pytest-xdist) unless ARGS says `-n`: `make test ARGS="-n 0"`
runs them in this process, as a debugger wants.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

POSTGRES_URLS = ["postgres://postgres@127.0.0.1:5432/test", "postgres://root@127.0.0.1:5432/test"]
REDIS_URL = "redis://127.0.0.1:6379/0"
MAX_WORKERS = 4  # test processes at most: each has its own database, Chromium and Celery worker threads


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_url() -> str | None:
    if not answers("127.0.0.1", 5432):
        return None
    import psycopg

    for url in POSTGRES_URLS:
        try:
            psycopg.connect(url, connect_timeout=3).close()
            return url
        except psycopg.Error:
            continue
    return None


def main() -> int:
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        url = postgres_url()
        if url:
            env["DATABASE_URL"] = url
    if not env.get("CELERY_BROKER_URL") and answers("127.0.0.1", 6379):
        env["CELERY_BROKER_URL"] = REDIS_URL
    database = env.get("DATABASE_URL", "SQLite (embedded default)").split("@")[-1]
    broker = env.get("CELERY_BROKER_URL", "filesystem:// (embedded default)")
    print(f"make test: database {database}; broker {broker}", flush=True)
    env.setdefault("DEBUG", "false")
    env.setdefault("DJANGO_SETTINGS_MODULE", "facerights.settings")
    env["FACERIGHTS_TESTING"] = "1"
    args = sys.argv[1:]
    workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS)  # the cores this process may use
    chosen = any(arg.startswith(("-n", "--numprocesses", "--pdb")) or arg.endswith("no:xdist") for arg in args)
    if workers > 1 and not chosen:
        # pytest-xdist: one test database per worker (test_<name>_gw0, ...); Celery tests use queues of their own.
        args = ["-n", str(workers), *args]
        print(f"make test: {workers} test processes", flush=True)
    command = [sys.executable, "-m", "pytest", *args]
    status = subprocess.call(command, env=env)
    screenshots = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
    if screenshots.is_dir():
        print(f"make test: browser screenshots in {screenshots} ({len(list(screenshots.glob('*.png')))} files)")
    return status


if __name__ == "__main__":
    sys.exit(main())
