"""The soak: thousands of deletions while workers die, Redis and PostgreSQL restart, systems fail.

    make soak                        # the full size: 2,000 deletions, about 25 minutes
    make soak SOAK_ARGS="--size ci"  # the reduced size CI runs: 200 deletions, a few minutes

Everything runs on loopback, on services of its own started on free ports:
- a PostgreSQL cluster (initdb in a temporary folder);
- a Redis instance;
- gunicorn, two Celery workers (two processes each) and beat;
- three simulated push systems (two answer at once, one by callback) and two simulated
  pull devices, in this process.

The test suite's shared PostgreSQL and Redis are never touched.

Faults, in the full size:
- a random worker process SIGKILLed every 20 to 60 seconds;
- Redis restarted twice and wiped once;
- PostgreSQL restarted once;
- 20% of the push systems' calls failing;
- one push system offline for 10 minutes.

A supervisor restarts any process that dies, as systemd does in production.

Afterwards the checker compares the portal's ledger with each simulated system's own
record of what it deleted. It prints the requests accepted, lost (accepted but not
deleted everywhere), unexpected (deleted but never requested), duplicate effects, and the
time from the last fault to the last confirmation. It exits 1 unless lost, unexpected and
duplicate effects are all 0.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1] if Path("/usr/lib/postgresql").exists() else None


@dataclass(frozen=True)
class Size:
    requests: int
    bystanders: int  # people enrolled and never deleted: any effect on them is "unexpected"
    load_seconds: float  # the deletions are opened over this long
    kill_every: tuple[float, float] | None  # seconds between worker kills, or one kill at kill_at
    kill_at: tuple[float, ...]
    redis_restarts: tuple[float, ...]
    redis_wipes: tuple[float, ...]
    postgres_restarts: tuple[float, ...]
    offline: tuple[float, float]  # (from, for how long) one push system is offline
    failure_rate: float
    retry_base: int  # seconds before the first retry (production: 30), doubling after each failure
    timeout: float  # the whole run, faults included


SIZES = {
    "full": Size(
        requests=2000,
        bystanders=500,
        load_seconds=480,
        kill_every=(20, 60),
        kill_at=(),
        redis_restarts=(90, 330),
        redis_wipes=(450,),
        postgres_restarts=(210,),
        offline=(60, 600),
        failure_rate=0.2,
        retry_base=30,
        timeout=45 * 60,
    ),
    "ci": Size(
        requests=200,
        bystanders=50,
        load_seconds=40,
        kill_every=None,
        kill_at=(15,),
        redis_restarts=(25,),
        redis_wipes=(45,),
        postgres_restarts=(35,),
        offline=(10, 30),
        failure_rate=0.2,
        retry_base=2,
        timeout=8 * 60,
    ),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def say(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", flush=True)


# --- Services of its own -------------------------------------------------------------------


class Postgres:
    """A throwaway cluster: trust authentication, loopback only, a socket folder of its own."""

    def __init__(self, folder: Path):
        if PG_BIN is None:
            raise SystemExit("soak: PostgreSQL's server binaries are not installed (apt-get install postgresql)")
        self.folder, self.port = folder, free_port()
        self.data = folder / "data"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True)

    def init(self) -> Postgres:
        self.folder.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self.start()

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-w",
            *extra,
            "-o",
            options,
            action,
        )

    def start(self) -> Postgres:
        self._ctl("start")
        return self

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/soak"


class Redis:
    """Appends to a file, so a restart keeps the queues (a wipe is a separate fault)."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.folder.mkdir(parents=True)
        self.process: subprocess.Popen | None = None

    def start(self) -> Redis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            if self.cli("ping") == "PONG":
                return self
            time.sleep(0.1)
        raise SystemExit("soak: Redis did not start")

    def cli(self, *args: str) -> str:
        result = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True)
        return result.stdout.strip()

    def restart(self) -> None:
        self.cli("shutdown")  # saves the append-only file first
        if self.process:
            self.process.wait(20)
        time.sleep(1)
        self.start()

    def wipe(self) -> None:
        self.cli("flushall")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cli("shutdown", "nosave")
        if self.process:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


# --- The application's processes, supervised ----------------------------------------------


@dataclass
class Supervised:
    name: str
    args: list[str]
    process: subprocess.Popen | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts the processes and restarts any that dies, as systemd's Restart=always does."""

    env: dict
    logs: Path
    programs: list[Supervised] = field(default_factory=list)
    stopping: bool = False

    def add(self, name: str, args: list[str]) -> None:
        program = Supervised(name, args)
        self.programs.append(program)
        self._spawn(program)

    def _spawn(self, program: Supervised) -> None:
        log = open(self.logs / f"{program.name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        program.process = subprocess.Popen(program.args, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def watch(self) -> None:
        while not self.stopping:
            for program in self.programs:
                if program.process and program.process.poll() is not None and not self.stopping:
                    program.restarts += 1
                    time.sleep(1)
                    self._spawn(program)
            time.sleep(0.5)

    def worker_pids(self) -> list[int]:
        """Every Celery worker process: the main ones and their pool children."""
        pids = []
        for program in self.programs:
            if program.name.startswith("worker") and program.process and program.process.poll() is None:
                pids.append(program.process.pid)
                with contextlib.suppress(OSError):
                    children = Path(f"/proc/{program.process.pid}/task/{program.process.pid}/children").read_text()
                    pids.extend(int(pid) for pid in children.split())
        return pids

    def stop(self) -> None:
        self.stopping = True
        for program in self.programs:
            if program.process and program.process.poll() is None:
                program.process.terminate()
        for program in self.programs:
            if program.process:
                try:
                    program.process.wait(15)
                except subprocess.TimeoutExpired:
                    program.process.kill()


# --- The run -----------------------------------------------------------------------------------


def environment(size: Size, postgres: Postgres, redis: Redis, folder: Path, web_port: int) -> dict:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    return {
        **os.environ,
        "DATABASE_URL": postgres.url,
        "CELERY_BROKER_URL": redis.url,
        "DEBUG": "false",
        "SECRET_KEY": base64.urlsafe_b64encode(os.urandom(48)).decode(),
        "FIELD_ENCRYPTION_KEY": key,
        "IDENTIFIER_HASH_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "FACERIGHTS_SIGNING_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "FACERIGHTS_VAR_DIR": str(folder / "var"),
        "FACERIGHTS_TOMBSTONE_DIR": str(folder / "tombstones"),
        "FACERIGHTS_BASE_URL": f"http://127.0.0.1:{web_port}",
        # Production waits a minute between sweeps, two minutes on a dead worker's claim and an
        # hour for a callback; the soak shortens them so its faults play out in minutes.
        "FACERIGHTS_SWEEP_SECONDS": "5",
        "FACERIGHTS_CLAIM_LEASE_SECONDS": "15",
        "FACERIGHTS_CONFIRMATION_WAIT_SECONDS": "30",
        "FACERIGHTS_RETRY_BASE_SECONDS": str(size.retry_base),
        "FACERIGHTS_HEARTBEAT_SECONDS": "5",
        "WEB_BIND": f"127.0.0.1:{web_port}",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
        "DJANGO_SETTINGS_MODULE": "facerights.settings",
    }


@dataclass
class Plan:
    """Who is enrolled where: the deleted, and bystanders who must stay."""

    deleted: dict[int, list[str]]  # person number -> system names holding them
    bystanders: dict[int, list[str]]
    systems: tuple[str, ...] = ("push-0", "push-1", "push-cb", "pull-0", "pull-1")

    def keys(self, system: str) -> list[str]:
        people = {**self.deleted, **self.bystanders}
        return [f"{system}:{n}" for n, held in people.items() if system in held]


def plan(size: Size, rng: random.Random) -> Plan:
    systems = Plan({}, {}).systems
    deleted = {n: rng.sample(systems, rng.randint(1, len(systems))) for n in range(size.requests)}
    bystanders = {size.requests + n: rng.sample(systems, rng.randint(1, len(systems))) for n in range(size.bystanders)}
    return Plan(deleted, bystanders)


def run(size: Size, folder: Path, seed: int) -> dict:
    rng = random.Random(seed)
    postgres = Postgres(folder / "postgres").init()
    redis = Redis(folder / "redis").start()
    web_port = free_port()
    env = environment(size, postgres, redis, folder, web_port)
    (folder / "logs").mkdir()
    supervisor = Supervisor(env, folder / "logs")
    simulators, devices = {}, {}
    try:
        import psycopg

        with psycopg.connect(postgres.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE soak")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        return _soak(size, rng, env, web_port, redis, postgres, supervisor, simulators, devices)
    finally:
        for device in devices.values():
            device.stop()
        for simulator in simulators.values():
            simulator.offline()
        supervisor.stop()
        redis.stop()
        postgres.stop()


def _soak(size, rng, env, web_port, redis, postgres, supervisor, simulators, devices) -> dict:
    from django.db import close_old_connections
    from django.db.utils import Error as DatabaseError
    from django.utils import timezone

    from consent.models import DataSubject
    from dataops.deletions.opening import deletion_request_open
    from dataops.models import DeletionRequest, Holding, Propagation
    from dataops.registry.credentials import secret_new
    from facerights import crypto
    from simulator.pull import PullDevice
    from simulator.push import PushSystem
    from simulator.store import Store
    from tests import factories

    people = plan(size, rng)
    portal = f"http://127.0.0.1:{web_port}"
    stores = {name: Store(supervisor.logs.parent / f"{name}.sqlite3", people.keys(name)) for name in people.systems}
    entity, purpose = factories.entity(), factories.purpose()
    systems = {}
    for name, mode in (("push-0", "sync"), ("push-1", "sync"), ("push-cb", "callback")):
        simulator = PushSystem(
            system_id=0,
            secret=secret_new(),
            store=stores[name],
            mode=mode,
            failure_rate=size.failure_rate,
            portal_url=portal,
        ).online()
        simulators[name] = simulator
        systems[name] = factories.push_system(entity=entity, purpose=purpose, simulator=simulator, name_zh=name)
    for name in ("pull-0", "pull-1"):
        system, token = factories.pull_system(entity=entity, purpose=purpose, name_zh=name)
        systems[name] = system
        devices[name] = PullDevice(
            system_id=system.pk, token=token, store=stores[name], portal_url=portal, poll_seconds=1
        )

    # Everyone at once, as the benchmarks load people (set-up, not measured).
    everyone = {**people.deleted, **people.bystanders}
    batch = DataSubject.objects.bulk_create([DataSubject(wrapped_key=crypto.data_key_new()[1]) for _ in everyone])
    now = timezone.now()
    subjects = dict(zip(everyone, batch, strict=True))
    Holding.objects.bulk_create(
        [
            Holding(
                subject=subjects[number],
                system=systems[name],
                subject_key=f"{name}:{number}",
                data_kind="template",
                enrolled_at=now,
                retention_until=now.date() + dt.timedelta(days=365),
            )
            for number, held in everyone.items()
            for name in held
        ],
        batch_size=5000,
    )

    python = sys.executable
    supervisor.add("web", [python, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "facerights.wsgi"])
    for n in (1, 2):
        supervisor.add(
            f"worker{n}",
            [
                python,
                "-m",
                "celery",
                "-A",
                "facerights",
                "worker",
                "--concurrency=2",
                f"-n=soak{n}@%h",
                "--loglevel=WARNING",
            ],
        )
    supervisor.add("beat", [python, "-m", "celery", "-A", "facerights", "beat", "--loglevel=WARNING",
                            f"--schedule={supervisor.logs.parent / 'beat-schedule'}"])  # fmt: skip
    threading.Thread(target=supervisor.watch, daemon=True).start()
    for device in devices.values():
        device.start()

    faults: list[tuple[float, str]] = []
    start = time.monotonic()

    def at(offset: float) -> None:
        time.sleep(max(0.0, start + offset - time.monotonic()))

    def fault(name: str, action) -> None:
        action()
        faults.append((time.monotonic(), name))
        say(f"fault: {name}")

    def kill_worker() -> None:
        pids = supervisor.worker_pids()
        if pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(rng.choice(pids), signal.SIGKILL)

    schedule: list[tuple[float, str, object]] = []
    if size.kill_every:
        moment = rng.uniform(*size.kill_every)
        while moment < size.load_seconds + size.offline[1]:
            schedule.append((moment, "SIGKILL a worker process", kill_worker))
            moment += rng.uniform(*size.kill_every)
    schedule += [(moment, "SIGKILL a worker process", kill_worker) for moment in size.kill_at]
    schedule += [(moment, "restart Redis", redis.restart) for moment in size.redis_restarts]
    schedule += [(moment, "wipe Redis", redis.wipe) for moment in size.redis_wipes]
    schedule += [(moment, "restart PostgreSQL", postgres.restart) for moment in size.postgres_restarts]
    offline_system = simulators["push-1"]
    schedule += [
        (size.offline[0], f"push-1 offline for {size.offline[1]:.0f} s", offline_system.offline),
        (size.offline[0] + size.offline[1], "push-1 back online", offline_system.online),
    ]

    def inject() -> None:
        for moment, name, action in sorted(schedule, key=lambda item: item[0]):
            at(moment)
            try:
                fault(name, action)
            except Exception as exc:  # a fault that cannot be injected is reported, and the run goes on
                say(f"fault {name} failed: {exc}")

    injector = threading.Thread(target=inject, daemon=True)
    injector.start()

    # The load: each deletion opened as the portal opens it; a database that is restarting
    # is retried like a person pressing the button again.
    pace = size.load_seconds / max(1, size.requests)
    opened_at = {}
    for number in people.deleted:
        at(number * pace)
        while True:
            try:
                close_old_connections()
                deletion_request_open(actor="soak", subject=subjects[number], trigger="subject_request")
                opened_at[number] = time.monotonic()
                break
            except DatabaseError:
                time.sleep(1)
    say(f"{len(opened_at)} deletions opened")
    injector.join()
    last_fault = max(moment for moment, _name in faults)

    deadline = start + size.timeout
    finished = False
    while time.monotonic() < deadline:
        try:
            close_old_connections()
            remaining = DeletionRequest.objects.filter(subject__is_synthetic=False).exclude(state="completed").count()
        except DatabaseError:
            remaining = -1
        if remaining == 0:
            finished = True
            break
        say(f"waiting for {remaining} deletions to complete")
        time.sleep(10)

    # The checker: the portal's ledger against each system's own record.
    requested = {name: set() for name in people.systems}
    for name, key in Propagation.objects.filter(deletion_request__subject__is_synthetic=False).values_list(
        "system__name_zh", "subject_key"
    ):
        requested[name].add(key)
    expected = {name: {f"{name}:{n}" for n, held in people.deleted.items() if name in held} for name in people.systems}
    accepted = DeletionRequest.objects.filter(subject__is_synthetic=False)
    lost_people = set()
    unexpected, duplicates, effects_total, deliveries_total = 0, 0, 0, 0
    for name, store in stores.items():
        inventory = set(store.inventory())
        for key in expected[name] & inventory:
            lost_people.add(int(key.split(":")[1]))
        for key in expected[name] - requested[name]:  # never even instructed
            lost_people.add(int(key.split(":")[1]))
        effects = [(key, outcome) for _id, key, outcome in store.effects() if not key.startswith("FACERIGHTS-TEST-")]
        effects_total += len(effects)
        keys = [key for key, _outcome in effects]
        unexpected += sum(1 for key in keys if key not in expected[name])
        duplicates += len(keys) - len(set(keys))
        deliveries_total += store._db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    not_completed = accepted.exclude(state="completed").count()
    last_confirmation = (
        Propagation.objects.filter(deletion_request__subject__is_synthetic=False, confirmed_at__isnull=False)
        .order_by("-confirmed_at")
        .values_list("confirmed_at", flat=True)
        .first()
    )
    wall_now = timezone.now()

    def wall_of(moment: float) -> dt.datetime:
        return wall_now - dt.timedelta(seconds=time.monotonic() - moment)

    last_fault_wall = wall_of(last_fault)
    returned = max(moment for moment, name in faults if name == "push-1 back online")
    return {
        "size": size.requests,
        "requests accepted": accepted.count(),
        "lost (accepted but not deleted everywhere)": len(lost_people),
        "not completed in the ledger": not_completed,
        "unexpected (deleted but never requested)": unexpected,
        "duplicate effects": duplicates,
        "effects recorded by the systems": effects_total,
        "deliveries received by the systems (repeats included)": deliveries_total,
        "faults injected": len(faults),
        "processes restarted by the supervisor": {p.name: p.restarts for p in supervisor.programs},
        # Negative when everything was confirmed while faults were still being injected.
        "seconds from the last fault to the last confirmation": (
            round((last_confirmation - last_fault_wall).total_seconds(), 1) if last_confirmation else None
        ),
        "seconds from the offline system's return to the last confirmation": (
            round((last_confirmation - wall_of(returned)).total_seconds(), 1) if last_confirmation else None
        ),
        "finished before the timeout": finished,
        "run seconds": round(time.monotonic() - start, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, stores) afterwards")
    args = parser.parse_args()
    # Stopped from outside (a timeout, Ctrl-C): still stop every service it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="facerights-soak-"))
    os.chmod(folder, 0o755)  # noqa: S103 (PostgreSQL runs as its own user below it; nothing secret here)
    say(f"size {args.size}, seed {args.seed}, work folder {folder}")
    try:
        figures = run(SIZES[args.size], folder, args.seed)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    ok = (
        figures["lost (accepted but not deleted everywhere)"] == 0
        and figures["unexpected (deleted but never requested)"] == 0
        and figures["duplicate effects"] == 0
        and figures["finished before the timeout"]
    )
    say("PASSED: lost 0, unexpected 0, duplicate effects 0" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
