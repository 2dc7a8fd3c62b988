"""Create the demo data set for `make run` (dataops/demo/seed.py); running it again changes nothing."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dataops.demo.seed import demo_seed


class Command(BaseCommand):
    help = "Create the demo data set (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never in production).")
        parser.add_argument(
            "--simulator-config",
            default=str(settings.VAR_DIR / "simulator.json"),
            help="Where to write the simulated systems' settings (ports, secrets, tokens, enrolments).",
        )

    def handle(self, *args, force: bool = False, simulator_config: str = "", **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a published password: run it with DEBUG on, or --force."
            )
        simulator = demo_seed()
        if simulator is None:
            self.stdout.write("Demo data already present.")
            return
        Path(simulator_config).write_text(json.dumps(simulator, ensure_ascii=False, indent=2))
        self.stdout.write(self.style.SUCCESS("Demo data created."))
