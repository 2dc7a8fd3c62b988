from django.core.management.base import BaseCommand, CommandError

from facerights.audit import audit_chain_verify
from facerights.models import AuditChainHead


class Command(BaseCommand):
    help = "Verify every audit chain; exit non-zero and name the first broken row of each broken chain."

    def handle(self, *args, **options):
        breaks = audit_chain_verify()
        if breaks:
            for found in breaks:
                self.stderr.write(f"BROKEN: {found}")
            raise CommandError(f"{len(breaks)} audit chain(s) broken.")
        count = AuditChainHead.objects.count()
        self.stdout.write(self.style.SUCCESS(f"All {count} audit chains hold."))
