from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataOpsConfig(AppConfig):
    name = "dataops"
    verbose_name = _("Registry and requests")
