from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from facerights.anchors import audit_anchors_check


class Command(BaseCommand):
    help = (
        "Check an audit anchor file kept outside the database: every row it names must still be in the log, unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="an audit-anchors-YYYY-MM-DD-<host>.txt file")

    def handle(self, *args, **options):
        path = options["file"]
        if not path.is_file():
            raise CommandError(f"No anchor file at {path}.")
        result = audit_anchors_check(path)
        for row in result.broken:
            self.stderr.write(f"CHANGED OR MISSING: {row}")
        if result.unreadable:
            self.stderr.write(f"{result.unreadable} line(s) are not anchors.")
        if result.broken:
            raise CommandError(f"{len(result.broken)} of {result.checked} anchored rows no longer hold.")
        self.stdout.write(
            self.style.SUCCESS(f"All {result.checked} anchored rows hold (file SHA-256 {result.sha256}).")
        )
