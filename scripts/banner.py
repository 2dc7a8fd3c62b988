"""Print where the demo runs and how to sign in (called by `make run`)."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerights.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from dataops.demo.seed import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TOTP_SECRET  # noqa: E402

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
print("  (or sign in with a one-time code instead of the password: emails and texts appear in this console)")
print(
    f"\nThe DPO's, the regulator's and the desk's second factor: add the secret {DEMO_TOTP_SECRET} to an authenticator app,\n"
    "or print the current code with: .venv/bin/python manage.py demo_totp   (admin: sign in at /accounts/login/)"
)
simulator = settings.VAR_DIR / "simulator.json"
if simulator.exists():
    code = json.loads(simulator.read_text()).get("demo", {}).get("enrolment_code")
    if code:
        print(f"\nA newcomer's enrolment code (sign up with any email, then Find my records): {code}")
print("\nCtrl-C stops web, worker, beat and the simulated systems.\n")
