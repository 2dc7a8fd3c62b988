"""Print the demo DPO's current authenticator code (demo only: the secret is published)."""

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dataops.demo.seed import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the demo DPO's current TOTP code (DEBUG only)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_totp is for the demo only (DEBUG on).")
        now = int(time.time())
        code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, now // 30))
        self.stdout.write(f"{code}  (valid for {30 - now % 30} more seconds)")
