"""What an operator checks before going live, and after every deploy: `make prod-check`.

Each check prints one line, OK, WARN or FAIL, with what to do about it. The
command exits 1 if anything failed, so it can gate a deploy script. It reads
the running configuration (the environment), the database, the broker and the
heartbeats; it changes nothing, except a probe file in the tombstone journal
directory, written and removed.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command
from django.db import connection

from facerights import crypto
from facerights.keys import keys_status
from facerights.liveness import heartbeats
from facerights.queues import QUEUE_KINDS, queue_name
from facerights.readiness import readiness

OK, WARN, FAIL = "OK", "WARN", "FAIL"


class Command(BaseCommand):
    help = "Check the configuration, services, schema, keys and processes before going live."

    def handle(self, *args, **options):
        self.results: list[tuple[str, str, str]] = []
        for check in (
            self.check_deploy,
            self.check_settings,
            self.check_services,
            self.check_keys,
            self.check_journal,
            self.check_static,
            self.check_processes,
        ):
            try:
                check()
            except Exception as exc:  # a check that cannot run is a failure, said plainly
                self.add(FAIL, check.__name__.removeprefix("check_"), f"could not run: {type(exc).__name__}: {exc}")
        width = max(len(name) for _state, name, _text in self.results)
        for state, name, text in self.results:
            style = {OK: self.style.SUCCESS, WARN: self.style.WARNING, FAIL: self.style.ERROR}[state]
            self.stdout.write(f"{style(state.ljust(4))} {name.ljust(width)}  {text}")
        failed = sum(1 for state, _n, _t in self.results if state == FAIL)
        warned = sum(1 for state, _n, _t in self.results if state == WARN)
        self.stdout.write(f"\n{len(self.results)} checks: {failed} failed, {warned} warnings.")
        if failed:
            raise SystemExit(1)

    def add(self, state: str, name: str, text: str) -> None:
        self.results.append((state, name, text))

    # --- The checks --------------------------------------------------------------------

    def check_deploy(self) -> None:
        out = io.StringIO()
        try:
            call_command("check", deploy=True, fail_level="WARNING", stdout=out, stderr=out)
        except SystemExit:
            raise
        except Exception as exc:
            lines = [line for line in f"{exc}\n{out.getvalue()}".splitlines() if line.strip().startswith("?:")]
            # "?: (security.W004) You have not set ... first." -> its id and first sentence
            found = []
            for line in lines:
                check_id, _paren, text = line.strip().removeprefix("?: (").partition(") ")
                found.append(f"{check_id} {text.split('. ')[0].rstrip('.')}")
            self.add(FAIL, "django check --deploy", "; ".join(found) or str(exc))
            return
        self.add(OK, "django check --deploy", "no warnings")

    def check_settings(self) -> None:
        if settings.DEBUG:
            self.add(FAIL, "DEBUG", "is on: set DEBUG=false")
        else:
            self.add(OK, "DEBUG", "off")
        if connection.vendor != "postgresql":
            self.add(FAIL, "DATABASE_URL", f"{connection.vendor} is for trying FaceRights out; use PostgreSQL")
        else:
            self.add(OK, "DATABASE_URL", "PostgreSQL")
        if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            self.add(FAIL, "CELERY_BROKER_URL", "the filesystem broker is for one machine in development; use Redis")
        else:
            self.add(OK, "CELERY_BROKER_URL", "Redis")
        if not settings.FACERIGHTS_BASE_URL.startswith("https://"):
            self.add(FAIL, "FACERIGHTS_BASE_URL", "must be the public https:// address (links in emails use it)")
        else:
            self.add(OK, "FACERIGHTS_BASE_URL", settings.FACERIGHTS_BASE_URL)
        if settings.EMAIL_BACKEND.endswith(("console.EmailBackend", "locmem.EmailBackend", "dummy.EmailBackend")):
            self.add(FAIL, "EMAIL_BACKEND", "sends nothing: configure SMTP (EMAIL_HOST ...)")
        else:
            self.add(OK, "EMAIL_BACKEND", settings.EMAIL_BACKEND.rsplit(".", 1)[-1])
        if settings.FACERIGHTS_SMS_BACKEND == "facerights.sms.LogSmsBackend":
            self.add(
                WARN, "FACERIGHTS_SMS_BACKEND", "no SMS gateway: sign-in by phone code will not work (docs/sms.md)"
            )
        else:
            self.add(OK, "FACERIGHTS_SMS_BACKEND", settings.FACERIGHTS_SMS_BACKEND.rsplit(".", 1)[-1])
        if not settings.METRICS_TOKEN:
            self.add(WARN, "METRICS_TOKEN", "unset: /metrics is off, nothing watches queues and overdue deletions")
        elif len(settings.METRICS_TOKEN) < 32:
            self.add(FAIL, "METRICS_TOKEN", "shorter than 32 characters")
        else:
            self.add(OK, "METRICS_TOKEN", "set")
        if settings.LOG_FORMAT != "json":
            self.add(WARN, "LOG_FORMAT", "plain: log collectors expect json")

    def check_services(self) -> None:
        for component, state in readiness().items():
            self.add(OK if state == "ok" else FAIL, component, state)

    def check_keys(self) -> None:
        known = set(crypto.key_ids())  # the current key and FIELD_ENCRYPTION_OLD_KEYS
        unknown: dict[str, int] = {}
        old: dict[str, int] = {}
        for status in keys_status():
            for key_id, rows in status.under_others().items():
                (old if key_id in known else unknown).setdefault(key_id, 0)
                (old if key_id in known else unknown)[key_id] += rows
        if unknown:
            self.add(FAIL, "encryption keys", f"rows under keys not configured: {unknown} (see docs/keys.md)")
        elif old:
            self.add(WARN, "encryption keys", f"rows still under old keys {old}: run rotate_keys (docs/keys.md)")
        else:
            self.add(OK, "encryption keys", f"everything under the current key {crypto.current_key_id()}")

    def check_journal(self) -> None:
        directory = Path(settings.FACERIGHTS_TOMBSTONE_DIR)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            os.fsync(os.open(probe, os.O_RDONLY))
            probe.unlink()
        except OSError as exc:
            self.add(FAIL, "tombstone journal", f"{directory} is not writable ({exc.strerror})")
            return
        if Path(settings.BASE_DIR) in directory.parents or directory.is_relative_to(settings.VAR_DIR):
            self.add(WARN, "tombstone journal", f"{directory} is beside the application: keep it on other storage")
        else:
            self.add(OK, "tombstone journal", str(directory))

    def check_static(self) -> None:
        root = Path(settings.STATIC_ROOT)
        missing = [name for name in ("admin/css/base.css", "css/portal.css") if not (root / name).exists()]
        if missing:
            self.add(FAIL, "static files", f"not collected in {root}: run manage.py collectstatic")
        else:
            self.add(OK, "static files", str(root))

    def check_processes(self) -> None:
        rows = heartbeats()
        beats = [row for row in rows if row["beat"].kind == "beat" and row["state"] == "alive"]
        if len(beats) > 1:
            names = ", ".join(row["beat"].name for row in beats)
            self.add(FAIL, "beat", f"{len(beats)} running ({names}): exactly one, or every schedule runs twice")
        elif not beats:
            self.add(WARN, "beat", "not running (yet?): start exactly one")
        else:
            self.add(OK, "beat", beats[0]["beat"].name)
        for kind in QUEUE_KINDS:
            consumers = [
                row["beat"].name
                for row in rows
                if row["beat"].kind == "worker"
                and row["state"] == "alive"
                and queue_name(kind) in row["beat"].detail.split(",")
            ]
            if consumers:
                self.add(OK, f"queue {kind}", ", ".join(consumers))
            else:
                self.add(WARN, f"queue {kind}", "no live worker consumes it (yet?)")
