import argparse
import datetime as dt
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dataops.deletions.restore import ALREADY_APPLIED, REPLAYED, UNKNOWN, deletions_replay
from facerights.journal import JournalError
from facerights.logs import request_id_get, request_id_new, request_id_set

LABELS = {REPLAYED: "replayed", ALREADY_APPLIED: "already applied", UNKNOWN: "unknown here (made after the backup)"}


class Command(BaseCommand):
    help = (
        "After restoring a backup, apply again every deletion recorded in the tombstone journal "
        "that the database does not reflect (docs/backup-restore.md). Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--journal", type=Path, help="The journal directory (default: FACERIGHTS_TOMBSTONE_DIR).")
        parser.add_argument(
            "--since",
            type=_aware_datetime,
            help="Only events from this time on (ISO 8601; take the backup's start, minus a margin). Default: all.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be replayed; change nothing.")
        parser.add_argument(
            "--allow-root",
            action="store_true",
            help="Run as root anyway (a machine where every process runs as root, such as a test runner).",
        )

    def handle(self, *args, journal=None, since=None, dry_run=False, allow_root=False, **options):
        if os.geteuid() == 0 and not (dry_run or allow_root):
            raise CommandError(
                "run this as the application's user (sudo -E -u facerights ...), not root: the journal file "
                "it writes must stay writable by the web and the workers (docs/backup-restore.md)."
            )
        # One request id for the whole replay: every deletion it reopens carries it, so their
        # deliveries can be found in the logs (facerights.logs).
        request_id_set(request_id_new())
        self.stdout.write(f"request id {request_id_get()}")
        try:
            report = deletions_replay(directory=journal, since=since, dry_run=dry_run)
        except JournalError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{report.files} journal files" + (f", since {since.isoformat()}" if since else ""))
        if report.unreadable:
            self.stderr.write(self.style.WARNING(f"{report.unreadable} unreadable lines skipped (torn writes?)"))
        verb = "would be replayed" if dry_run else "replayed"
        for kind in sorted(report.counts):
            counts = report.counts[kind]
            parts = [
                f"{counts[o]} {verb if o == REPLAYED else LABELS[o]}" for o in (REPLAYED, ALREADY_APPLIED, UNKNOWN)
            ]
            self.stdout.write(f"{kind}: " + ", ".join(parts))
        if not report.counts:
            self.stdout.write("The journal holds no deletions.")
        summary = f"{report.replayed} events {verb}."
        self.stdout.write(self.style.SUCCESS(summary) if not dry_run else summary)


def _aware_datetime(value: str) -> dt.datetime:
    """An ISO 8601 time; without an offset, in TIME_ZONE (the time an operator reads off the backup)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
