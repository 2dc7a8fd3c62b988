from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from . import registry_cache  # models are ready only now: the signals name them

        registry_cache.connect()  # the dashboard's cached registry parts are replaced on any change
