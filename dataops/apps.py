from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataOpsConfig(AppConfig):
    name = "dataops"
    verbose_name = _("Registry and requests")

    def ready(self) -> None:
        from consent.signals import notice_published
        from facerights import keys

        from . import credentials, evidence, exports
        from .models import DataExport, EvidenceExport, FilingAttachment, Request, SystemCredential
        from .notify import notice_change_notify
        from .services import _details_aad

        notice_published.connect(notice_change_notify, dispatch_uid="dataops.notice_change_notify")

        keys.register(
            SystemCredential, "secret_ciphertext", kind=keys.BLOB, aad=lambda row: credentials._aad(row.system)
        )
        keys.register(Request, "details_ciphertext", kind=keys.BLOB, aad=_details_aad)
        # Copies of data and CSV exports can weigh megabytes each: a few per batch.
        keys.register(DataExport, "ciphertext", kind=keys.BLOB, aad=exports._aad, batch_limit=10)
        keys.register(EvidenceExport, "ciphertext", kind=keys.BLOB, aad=evidence._aad, batch_limit=10)
        keys.register(FilingAttachment, "ciphertext", kind=keys.BLOB, aad=lambda row: row.aad, batch_limit=10)
