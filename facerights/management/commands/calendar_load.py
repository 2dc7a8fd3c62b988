"""Enter the holiday schedules kept in the repository for years the installed package does not know yet."""

from django.core.management.base import BaseCommand

from facerights.schedules import SCHEDULES_FILE, schedules_load


class Command(BaseCommand):
    help = "Load facerights/data/holiday_schedules.csv: each year not yet known is entered and marked complete."

    def handle(self, *args, **options):
        loaded = schedules_load(actor="command:calendar_load")
        if loaded:
            self.stdout.write(self.style.SUCCESS(f"Entered: {', '.join(str(year) for year in loaded)}"))
        else:
            self.stdout.write(f"Nothing new in {SCHEDULES_FILE.name}: every year listed is already known.")
