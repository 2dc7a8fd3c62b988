"""Print where the demo runs and how to sign in (called by `make run`)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerights.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from dataops.management.commands.seed_demo import DEMO_LOGINS, DEMO_PASSWORD  # noqa: E402

port = os.environ.get("WEB_PORT", "8000")
database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
print(
    f"""
FaceRights is starting (database: {database}; broker: {settings.CELERY_BROKER_URL.split("://")[0]}).

  Portal:  http://localhost:{port}/
  Admin:   http://localhost:{port}/admin/

Demo logins (password for all: {DEMO_PASSWORD}):"""
)
for username, email, _role, what in DEMO_LOGINS:
    print(f"  {email:<24} username {username:<10} {what}")
print("\nCtrl-C stops web, worker and beat.\n")
