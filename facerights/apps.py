from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FaceRightsConfig(AppConfig):
    name = "facerights"
    verbose_name = _("FaceRights kernel")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .roles import roles_ensure

        post_migrate.connect(roles_ensure, dispatch_uid="facerights.roles_ensure")
