from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FaceRightsConfig(AppConfig):
    name = "facerights"
    verbose_name = _("FaceRights kernel")

    def ready(self) -> None:
        # Imported here, once the app registry is ready: models cannot load before it.
        from django.db.models.signals import post_delete, post_migrate, post_save

        from . import keys, present
        from .accounts import _aad as phone_aad
        from .accounts import user_name
        from .models import CalendarDay, CalendarYear, User
        from .roles import roles_ensure
        from .workdays import calendar_cache_clear

        keys.register(User, "phone_ciphertext", kind=keys.BLOB, aad=phone_aad)
        present.actor_namer_register("user", user_name)

        post_migrate.connect(roles_ensure, dispatch_uid="facerights.roles_ensure")
        for model in (CalendarYear, CalendarDay):
            post_save.connect(calendar_cache_clear, sender=model, dispatch_uid=f"calendar-cache-save-{model.__name__}")
            post_delete.connect(
                calendar_cache_clear, sender=model, dispatch_uid=f"calendar-cache-delete-{model.__name__}"
            )
