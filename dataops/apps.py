from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataOpsConfig(AppConfig):
    name = "dataops"
    verbose_name = _("Registry and requests")

    def ready(self) -> None:
        from consent.signals import notice_published

        from .notify import notice_change_notify

        notice_published.connect(notice_change_notify, dispatch_uid="dataops.notice_change_notify")
