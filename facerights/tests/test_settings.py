"""Settings come from the environment and fail loudly, naming the variable."""

import ast
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


DEVELOPMENT_KEYS = (
    "from django.conf import settings; import base64; print(settings.SECRET_KEY); "
    "print(base64.b64encode(settings.FIELD_ENCRYPTION_KEYS[0]).decode()); "
    "print(base64.b64encode(settings.IDENTIFIER_HASH_KEY).decode()); "
    "print(base64.b64encode(settings.FACERIGHTS_SIGNING_KEY).decode())"
)
UNSET = dict.fromkeys(("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "IDENTIFIER_HASH_KEY", "FACERIGHTS_SIGNING_KEY"))


def test_each_development_install_makes_its_own_random_keys_kept_private(tmp_path):
    # Used to pass: with DEBUG on and no SECRET_KEY, every install signed with a key written in the
    # source, so anyone could forge an email-confirmation key (and the encryption keys were constants too).
    first, second = tmp_path / "one", tmp_path / "two"
    keys = {}
    for var in (first, second):
        result = start(var, DEVELOPMENT_KEYS, DEBUG="true", **UNSET)
        assert result.returncode == 0, result.stderr
        keys[var] = result.stdout.split()
    assert len(keys[first]) == 4 and all(len(set(k)) > 10 for k in keys[first])
    assert not set(keys[first]) & set(keys[second])  # nothing shared between installs
    again = start(first, DEVELOPMENT_KEYS, DEBUG="true", **UNSET)
    assert again.stdout.split() == keys[first]  # the same install keeps its keys (its data stays readable)
    for path in first.iterdir():
        if path.name in ("secret-key", "field-encryption-key", "identifier-hash-key", "signing-key"):
            assert path.stat().st_mode & 0o077 == 0, path  # readable by its owner only


def test_a_value_signed_with_the_old_source_key_is_refused(tmp_path):
    forge = (
        "from django.core import signing; "
        "token = signing.dumps(1, key='insecure-development-key-only-for-debug', salt='account'); "
        "signing.loads(token, salt='account')"
    )
    result = start(tmp_path, "import django; django.setup(); " + forge, DEBUG="true", **UNSET)
    assert result.returncode != 0 and "BadSignature" in result.stderr


def test_the_settings_hold_no_secret_of_their_own():
    """No key is a literal, and none is derived from one (the old development keys were both)."""
    secrets_named = {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "IDENTIFIER_HASH_KEY", "FACERIGHTS_SIGNING_KEY"}
    for path in (ROOT / "facerights" / "settings").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and (t.id in secrets_named or t.id.startswith(("_field", "_hash", "_signing")))
                for t in node.targets
            ):
                assert not isinstance(node.value, ast.Constant), ast.unparse(node)  # a key written out
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("sha256", "blake2b", "md5"):
                assert not any(isinstance(a, ast.Constant) for a in node.args), ast.unparse(node)


def test_a_demo_database_from_the_old_built_in_keys_is_named_not_misread(tmp_path):
    (tmp_path / "facerights.sqlite3").write_bytes(b"")  # made before each install had its own keys
    result = start(tmp_path, DEBUG="true", **UNSET)
    assert result.returncode != 0 and "delete it (or all of var/)" in result.stderr
