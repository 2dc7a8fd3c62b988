"""Settings come from the environment and fail loudly, naming the variable."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
GOOD = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 50,
    "FIELD_ENCRYPTION_KEY": KEY,
    "IDENTIFIER_HASH_KEY": KEY,
    "FACERIGHTS_SIGNING_KEY": KEY,
    "ALLOWED_HOSTS": "example.com",
}


def start(tmp_path, code="import django; django.setup()", **overrides):
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(GOOD)
    env["FACERIGHTS_VAR_DIR"] = str(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "facerights.settings"
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_good_settings_start(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "perhaps", "DEBUG: expected true or false"),
        ("SECRET_KEY", None, "SECRET_KEY: required when DEBUG is off"),
        ("FIELD_ENCRYPTION_KEY", None, "FIELD_ENCRYPTION_KEY: required when DEBUG is off"),
        ("FIELD_ENCRYPTION_KEY", "c2hvcnQ=", "FIELD_ENCRYPTION_KEY: must decode to 32 bytes"),
        ("IDENTIFIER_HASH_KEY", "not base64!!", "IDENTIFIER_HASH_KEY: not valid base64"),
        ("DATABASE_URL", "nosuchdb://x/y", "DATABASE_URL"),
        ("CELERY_BROKER_URL", "amqp://guest@localhost//", "CELERY_BROKER_URL: unsupported scheme"),
        ("EMAIL_PORT", "soon", "EMAIL_PORT: expected a whole number"),
        ("FACERIGHTS_RESPONSE_WORKING_DAYS", "45", "FACERIGHTS_RESPONSE_WORKING_DAYS: must be at most 30"),
    ],
)
def test_a_malformed_value_fails_at_start_naming_the_variable(tmp_path, name, value, message):
    result = start(tmp_path, **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_debug_is_off_unless_asked(tmp_path):
    result = start(
        tmp_path,
        code="import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        DEBUG=None,
    )
    assert result.stdout.strip() == "False"


def test_production_settings_are_safe(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000, s.TIME_ZONE, s.LANGUAGE_CODE, s.USE_TZ)"
    )
    result = start(tmp_path, code=code)
    assert result.stdout.split() == ["True", "True", "True", "Asia/Shanghai", "zh-hans", "True"]


def test_the_embedded_database_lets_two_processes_write(tmp_path):
    """With no DATABASE_URL: SQLite in WAL mode with a busy timeout."""
    code = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "print(c.execute('PRAGMA journal_mode').fetchone()[0], c.execute('PRAGMA busy_timeout').fetchone()[0])"
    )
    result = start(tmp_path, code=code, DATABASE_URL=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "20000"]


def test_the_embedded_broker_uses_absolute_folders_under_var(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "o = s.CELERY_BROKER_TRANSPORT_OPTIONS; print(s.CELERY_BROKER_URL, o['data_folder_in'], o['control_folder'])"
    )
    result = start(tmp_path, code=code, CELERY_BROKER_URL=None)
    url, queue, control = result.stdout.split()
    assert url.startswith("filesystem://")
    assert queue.startswith(str(tmp_path)) and control.startswith(str(tmp_path))
    assert Path(queue).is_dir() and Path(control).is_dir()
