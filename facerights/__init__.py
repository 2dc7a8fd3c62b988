"""FaceRights: the project package and the kernel every app may import.

It holds the settings, the Celery app, the user model, the append-only audit
chain, identifier encryption and the PRC working-day calendar. It imports none
of the apps (consent, dataops, portal).
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
