from django.core.management.base import BaseCommand

from dataops.deletions.retention import retention_due, retention_enforce


class Command(BaseCommand):
    help = "Open deletions for every holding past its retention period (beat runs this daily)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only show what would be opened.")

    def handle(self, *args, dry_run: bool = False, **options):
        due = retention_due()
        for item in due:
            self.stdout.write(f"{item.system.name_zh} (#{item.system.pk}): {item.holdings} holdings past retention")
        if not due:
            self.stdout.write("Nothing is past its retention period.")
        if dry_run:
            return
        self.stdout.write(self.style.SUCCESS(f"{retention_enforce(actor='command:retention_sweep')} deletions opened."))
