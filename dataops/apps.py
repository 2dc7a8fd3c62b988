from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataOpsConfig(AppConfig):
    name = "dataops"
    verbose_name = _("Registry and requests")

    def ready(self) -> None:
        # Imported here, once the app registry is ready: models cannot load before it.
        from facerights import keys, present
        from facerights.schedules import schedule_changed

        from .copies import services as copies
        from .copies.models import DataExport
        from .filings.models import Filing, FilingAttachment
        from .filings.services import agent_id_aad
        from .registry import credentials
        from .registry.models import LegalEntity, SignageEvidence, SystemCredential
        from .registry.selectors import system_actor_name
        from .registry.services import legal_rep_id_aad
        from .requests.models import Request
        from .requests.services import details_aad
        from .workbench import records
        from .workbench.clocks import schedule_changed_handler
        from .workbench.models import EvidenceExport

        keys.register(
            SystemCredential, "secret_ciphertext", kind=keys.BLOB, aad=lambda row: credentials.secret_aad(row.system)
        )
        keys.register(Request, "details_ciphertext", kind=keys.BLOB, aad=details_aad)
        # Copies of data and CSV exports can weigh megabytes each: a few per batch.
        keys.register(DataExport, "ciphertext", kind=keys.BLOB, aad=copies.export_aad, batch_limit=10)
        keys.register(EvidenceExport, "ciphertext", kind=keys.BLOB, aad=records.export_aad, batch_limit=10)
        keys.register(FilingAttachment, "ciphertext", kind=keys.BLOB, aad=lambda row: row.aad, batch_limit=10)
        keys.register(LegalEntity, "legal_rep_id_ciphertext", kind=keys.BLOB, aad=legal_rep_id_aad)
        keys.register(SignageEvidence, "ciphertext", kind=keys.BLOB, aad=lambda row: row.aad, batch_limit=10)
        keys.register(Filing, "agent_id_ciphertext", kind=keys.BLOB, aad=agent_id_aad)
        for kind in ("system", "device", "vendor"):
            present.actor_namer_register(kind, system_actor_name)
        schedule_changed.connect(schedule_changed_handler, dispatch_uid="dataops.clocks_recompute")
