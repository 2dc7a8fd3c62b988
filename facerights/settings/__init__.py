"""FaceRights settings, read from the environment.

Every variable is listed in README.md and .env.example. With nothing set and
DEBUG on, the project runs on its embedded defaults: SQLite in WAL mode and
kombu's filesystem broker under var/.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from .env import env_bool, env_int, env_keys, env_list, env_str, install_secret, install_secret_text

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("FACERIGHTS_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)

# Secrets come from the environment. With DEBUG on and one missing, each install makes its
# own at random under var/ (owner-only files, outside git): no secret is written in the source.
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY: required when DEBUG is off.")
    SECRET_KEY = install_secret_text(VAR_DIR / "secret-key", lambda: secrets.token_urlsafe(50))
# Old keys that still verify what the current one signed (sessions, and the receipt links printed in
# consent receipts: docs/keys.md), after a rotation.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Keys for identifiers -------------------------------------------------
# FIELD_ENCRYPTION_KEY wraps each subject's own data key (envelope encryption);
# FIELD_ENCRYPTION_OLD_KEYS still decrypt during a rotation. IDENTIFIER_HASH_KEY
# keys the lookup hashes of phones, emails and external ids.
_field_keys = env_keys("FIELD_ENCRYPTION_KEY")
_old_field_keys = env_keys("FIELD_ENCRYPTION_OLD_KEYS")
_hash_keys = env_keys("IDENTIFIER_HASH_KEY")
if len(_field_keys) > 1:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY: give exactly one key; older ones go in FIELD_ENCRYPTION_OLD_KEYS."
    )
if len(_hash_keys) > 1:
    raise ImproperlyConfigured("IDENTIFIER_HASH_KEY: give exactly one key.")
if not _field_keys or not _hash_keys:
    if not DEBUG:
        missing = "FIELD_ENCRYPTION_KEY" if not _field_keys else "IDENTIFIER_HASH_KEY"
        raise ImproperlyConfigured(f"{missing}: required when DEBUG is off.")
    if (
        not _field_keys
        and (VAR_DIR / "facerights.sqlite3").exists()
        and not (VAR_DIR / "field-encryption-key").exists()
    ):
        # An install from before each install had its own keys: its data is under a key no longer kept.
        raise ImproperlyConfigured(
            f"{VAR_DIR / 'facerights.sqlite3'} was made with the old built-in development keys, which are gone. "
            "It holds demo data only: delete it (or all of var/) and run `make run` again."
        )
    # Development only: random keys made once for this install (var/), never used with DEBUG off.
    _field_keys = _field_keys or [install_secret(VAR_DIR / "field-encryption-key")]
    _hash_keys = _hash_keys or [install_secret(VAR_DIR / "identifier-hash-key")]
FIELD_ENCRYPTION_KEYS = _field_keys + _old_field_keys
IDENTIFIER_HASH_KEY = _hash_keys[0]

# --- The deployment's signing key (facerights/signing.py, docs/keys.md) ----------
# Ed25519, 32 bytes (urlsafe base64): signs filing documents and deletion certificates.
# Retired keys' public halves stay listed so what they signed still verifies.
_signing_keys = env_keys("FACERIGHTS_SIGNING_KEY")
if len(_signing_keys) > 1:
    raise ImproperlyConfigured("FACERIGHTS_SIGNING_KEY: give exactly one key; retired ones go in the OLD_PUBLIC_KEYS.")
if not _signing_keys:
    if not DEBUG:
        raise ImproperlyConfigured("FACERIGHTS_SIGNING_KEY: required when DEBUG is off.")
    _signing_keys = [install_secret(VAR_DIR / "signing-key")]  # one random key per development install
FACERIGHTS_SIGNING_KEY = _signing_keys[0]
FACERIGHTS_SIGNING_OLD_PUBLIC_KEYS = env_keys("FACERIGHTS_SIGNING_OLD_PUBLIC_KEYS")

# --- Applications -----------------------------------------------------------
INSTALLED_APPS = [
    "facerights",
    "consent",
    "dataops",
    "portal",
    "facerights.admin_site.FaceRightsAdminConfig",  # django.contrib.admin, its index grouped by job
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's passkey list uses it
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_beat",
    "ninja",
]

MIDDLEWARE = [
    "facerights.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "facerights.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "facerights.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "facerights.staff.StaffSecondFactorMiddleware",
]

ROOT_URLCONF = "facerights.urls"
WSGI_APPLICATION = "facerights.wsgi.application"
AUTH_USER_MODEL = "facerights.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        _default_db = dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    except Exception as exc:  # dj-database-url raises several types for bad URLs
        raise ImproperlyConfigured(f"DATABASE_URL: cannot parse it ({exc}).") from None
    if not _default_db.get("ENGINE"):
        raise ImproperlyConfigured("DATABASE_URL: unknown scheme; use postgres://, or leave it unset for SQLite.")
    _default_db["CONN_HEALTH_CHECKS"] = True
    if _default_db["ENGINE"].endswith("postgresql"):
        # An unreachable database fails a request (and /readyz) in seconds, not after TCP's minutes.
        _default_db.setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1))
else:
    # Embedded default: web and worker write at once, so WAL plus a busy
    # timeout, and IMMEDIATE transactions so a writer waits instead of failing.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _default_db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / "facerights.sqlite3"),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        },
        "TEST": {"NAME": VAR_DIR / "test.sqlite3"},
    }
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 behaviour now: a URL typed without a scheme is https

# --- Authentication ---------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in never uses a face (Measures Art 10): email or phone with a one-time
# code, passwordless by default (a password may be added), TOTP or passkeys as
# a second factor. Answers never reveal whether an account exists.
ACCOUNT_ADAPTER = "portal.adapter.AccountAdapter"
ACCOUNT_FORMS = {"signup": "portal.forms.SignupForm", "request_login_code": "portal.forms.RequestLoginCodeForm"}
ACCOUNT_LOGIN_METHODS = {"email", "phone"}
# A password is optional: codes by default. "email*" because allauth's mandatory
# verification asks for it; portal.forms.SignupForm makes the email optional again:
# one of email and phone is required, and a phone-only account proves its number
# instead (portal.adapter.EmailVerificationStage).
ACCOUNT_SIGNUP_FIELDS = ["email*", "phone", "password1"]
SILENCED_SYSTEM_CHECKS = ["account.W001"]  # the phone is optional at sign-up: see above
# "mandatory", by a code: an account exists only once its address is proven, and
# sign-up answers the same whether or not the address already has an account (the
# owner is told by email), as code requests and password reset do.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 15 * 60
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_REAUTHENTICATION_TIMEOUT = 5 * 60  # before a copy or closing the account; never before a withdrawal
# Behind a reverse proxy, the client's address is the one the proxy saw, not the proxy's own:
# otherwise every client shares one rate-limit bucket (docs/deployment.md). Either the number
# of proxies in front that append to X-Forwarded-For (the documented nginx: 1), or a header a
# trusted proxy sets to the client's address (X-Real-IP); neither when nothing is in front.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("FACERIGHTS_TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env_str("FACERIGHTS_CLIENT_IP_HEADER") or None
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "request_login_code": "20/m/ip,3/m/key",
    "confirm_email": "1/10s/key",
    "verify_phone": "1/30s/key,3/m/ip",
    "signup": "20/m/ip",
    "reauthenticate": "10/m/user",
}
ACCOUNT_LOGOUT_ON_GET = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG  # passkeys on http://localhost for the demo only
MFA_TOTP_ISSUER = "FaceRights"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGIN_URL = "account_login"

# --- Internationalisation ----------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"  # never served publicly: certificates are read through views that check access
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email ------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "FaceRights <noreply@localhost>")

# --- Security -----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list binds the whole domain to HTTPS for
        # good: an operator's decision (README), not a default. Say so instead of warning.
        SILENCED_SYSTEM_CHECKS += ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Celery -------------------------------------------------------------------
# Reliability first (docs/architecture.md): the database is the source of truth
# and Celery only carries work. Later work is scheduled in the database and
# picked up by a sweeper on beat, never by long countdowns or ETAs.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any task may run (CELERY_TASK_TIME_LIMIT), so a slow task
        # is never handed to a second worker while the first still holds it.
        "visibility_timeout": 2 * 60 * 60,
    }
else:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL: unsupported scheme in {CELERY_BROKER_URL.split(':', 1)[0]!r}; "
        "use redis:// or leave it unset for the embedded filesystem broker."
    )
# --- Cache (rate limits, sign-in codes) ---------------------------------------------------
# Rate limits must be shared by every web process: Redis when there is one
# (CACHE_URL, else the broker's Redis), the process's memory otherwise.
_cache_url = env_str("CACHE_URL") or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "locmem://")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "fr",
        }
    }
elif _cache_url == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured("CACHE_URL: use redis://host:6379/2, or locmem:// for a single process.")

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 10 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 9 * 60
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # outcomes are recorded in the database, not a result backend
# A worker keeps its database connection between tasks, as a web process does between requests (CONN_MAX_AGE,
# CONN_HEALTH_CHECKS: facerights/celery.py checks it before each task). Celery's Django fix-up would otherwise
# close it after every task: a new PostgreSQL session per task, most of a short task's time.
CELERY_DB_REUSE_MAX = 1000
# Four queues (facerights.queues): delivery, messages, documents, housekeeping. A prefix
# lets two deployments, or a test run, share one Redis.
FACERIGHTS_QUEUE_PREFIX = env_str("CELERY_QUEUE_PREFIX", "")
CELERY_TASK_QUEUES = [
    Queue(FACERIGHTS_QUEUE_PREFIX + kind) for kind in ("delivery", "messages", "documents", "housekeeping")
]  # a worker started without -Q consumes all four, taking from each in turn
CELERY_TASK_DEFAULT_QUEUE = FACERIGHTS_QUEUE_PREFIX + "housekeeping"
CELERY_TASK_ROUTES = ("facerights.queues.route_task",)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# How often beat sweeps for due, stuck and lost deliveries: the longest a wiped
# broker or a killed worker delays a deletion. The soak (make soak) shortens it.
FACERIGHTS_SWEEP_SECONDS = env_int("FACERIGHTS_SWEEP_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "audit-chain-verify": {
        "task": "facerights.audit_chain_verify",
        "schedule": 24 * 60 * 60,
    },
    "audit-anchors-write": {
        "task": "facerights.audit_anchors_write",
        "schedule": 24 * 60 * 60,
    },
    "propagations-sweep": {
        "task": "deletions.sweep",
        "schedule": FACERIGHTS_SWEEP_SECONDS,
    },
    "person-counts": {
        "task": "filings.person_counts",
        "schedule": 24 * 60 * 60,
    },
    "filing-changes": {
        "task": "filings.changes_check",
        "schedule": 24 * 60 * 60,
    },
    "retention": {
        "task": "deletions.retention_enforce",
        "schedule": 24 * 60 * 60,
    },
    "contracts-end": {
        "task": "deletions.contracts_end",
        "schedule": 24 * 60 * 60,
    },
    "recognition-deletions-resume": {
        "task": "filings.recognition_deletions_resume",
        "schedule": 24 * 60 * 60,
    },
    "processing-records-expire": {
        "task": "registry.processing_records_expire",
        "schedule": 24 * 60 * 60,
    },
    "guardian-consents-come-of-age": {
        "task": "consent.guardian_consents_come_of_age",
        "schedule": 24 * 60 * 60,
    },
    "exports-expire": {
        "task": "copies.expire",
        "schedule": 60 * 60,
    },
    "subjects-shred": {
        "task": "deletions.shred_sweep",
        "schedule": 24 * 60 * 60,
    },
    "feed-retention": {
        "task": "deletions.feed_retention",
        "schedule": 6 * 60 * 60,
    },
    "queued-work-sweep": {
        "task": "workbench.queued_work_sweep",
        "schedule": 5 * 60,
    },
    "clocks-recompute": {
        "task": "workbench.clocks_recompute",
        "schedule": 24 * 60 * 60,
    },
    "requests-reminders": {
        "task": "requests.reminder_sweep",
        "schedule": 60 * 60,
    },
    "incidents-escalate": {
        "task": "incidents.escalate_sweep",
        "schedule": FACERIGHTS_SWEEP_SECONDS,
    },
    "incident-notices-sweep": {
        "task": "incidents.notices_sweep",
        "schedule": FACERIGHTS_SWEEP_SECONDS,
    },
    "requests-acknowledge-sweep": {
        "task": "requests.acknowledge_sweep",
        "schedule": FACERIGHTS_SWEEP_SECONDS,
    },
}
CELERY_TASK_ALWAYS_EAGER = False

# --- FaceRights ---------------------------------------------------------------
# Security incidents: minutes from discovery to the report to the authority (the
# incident-reporting measures: at most 60 with critical information infrastructure,
# 30 for major and especially major; the rest not read, so 4 hours by default), and
# when the DPO is warned that it nears (this share of the window gone). The two the
# law sets can be shortened, never lengthened (docs/legal-readings.md).
FACERIGHTS_INCIDENT_REPORT_MINUTES_CII = env_int("FACERIGHTS_INCIDENT_REPORT_MINUTES_CII", 60, minimum=1, maximum=60)
FACERIGHTS_INCIDENT_REPORT_MINUTES_SEVERE = env_int(
    "FACERIGHTS_INCIDENT_REPORT_MINUTES_SEVERE", 30, minimum=1, maximum=30
)
FACERIGHTS_INCIDENT_REPORT_MINUTES_OTHER = env_int(
    "FACERIGHTS_INCIDENT_REPORT_MINUTES_OTHER", 240, minimum=1, maximum=24 * 60
)
FACERIGHTS_INCIDENT_WARN_PERCENT = env_int("FACERIGHTS_INCIDENT_WARN_PERCENT", 50, minimum=1, maximum=99)
# Working days a request of any type is answered within, unless the DPO sets a
# per-type figure in the admin; never later than the calendar-day ceiling.
FACERIGHTS_RESPONSE_WORKING_DAYS = env_int("FACERIGHTS_RESPONSE_WORKING_DAYS", 15, minimum=1, maximum=30)
FACERIGHTS_RESPONSE_MAX_CALENDAR_DAYS = 30
# How long a system that accepted an instruction (HTTP 202) has to confirm it
# before the same instruction, with the same idempotency key, is sent again.
FACERIGHTS_CONFIRMATION_WAIT_SECONDS = env_int("FACERIGHTS_CONFIRMATION_WAIT_SECONDS", 3600, minimum=1)
# The first wait before a failed delivery is tried again; each failure doubles it,
# up to six hours (docs/integration.md). The soak (make soak) shortens it.
FACERIGHTS_RETRY_BASE_SECONDS = env_int("FACERIGHTS_RETRY_BASE_SECONDS", 30, minimum=1)
# How long a worker's claim on a delivery lasts: after it, a worker that died
# mid-call has its rows picked up again by the sweeper. Longer than any call.
FACERIGHTS_CLAIM_LEASE_SECONDS = env_int("FACERIGHTS_CLAIM_LEASE_SECONDS", 120, minimum=1)
# After a person refuses a face consent, no new prompt for that system and
# purpose for this many hours (NDSMR Art 22(5); REGULATION.md R8).
FACERIGHTS_REFUSAL_QUIET_HOURS = env_int("FACERIGHTS_REFUSAL_QUIET_HOURS", 48, minimum=48)
# Consent at capture (consent/sessions.py): how long the page a device shows stays open, and how long
# the consent token it gets may wait for the enrolment report.
FACERIGHTS_CONSENT_SESSION_MINUTES = env_int("FACERIGHTS_CONSENT_SESSION_MINUTES", 15, minimum=1)
FACERIGHTS_CONSENT_TOKEN_HOURS = env_int("FACERIGHTS_CONSENT_TOKEN_HOURS", 24, minimum=1)
# The public address of the portal, for links in emails to vendors.
# A device's reconcile may close at most this share of its system's open instructions as not
# found; more waits for the DPO (an empty or truncated inventory cannot clear the ledger).
FACERIGHTS_RECONCILE_AUTO_CLOSE_SHARE = (
    env_int("FACERIGHTS_RECONCILE_AUTO_CLOSE_PERCENT", 10, minimum=0, maximum=100) / 100
)
FACERIGHTS_BASE_URL = env_str("FACERIGHTS_BASE_URL", "http://localhost:8000").rstrip("/")
# Where text messages go: the development backend writes them to the log.
FACERIGHTS_SMS_BACKEND = env_str("FACERIGHTS_SMS_BACKEND", "facerights.sms.LogSmsBackend")
# The signature (【…】) of messages that concern no one company: sign-in codes.
FACERIGHTS_SMS_SIGNATURE = env_str("FACERIGHTS_SMS_SIGNATURE", "FaceRights")
# The tombstone journal (facerights.journal): every deletion, outside the database, so
# a restore can replay them. Put it on other storage than the database and its backups,
# shared by (or collected from) every host (docs/backup-restore.md).
FACERIGHTS_TOMBSTONE_DIR = Path(env_str("FACERIGHTS_TOMBSTONE_DIR", str(VAR_DIR / "tombstones"))).resolve()
# Where the audit log's daily anchors go (facerights.anchors): every chain's head, outside the
# database, on storage its administrators do not control (docs/backup-restore.md).
FACERIGHTS_ANCHOR_DIR = Path(env_str("FACERIGHTS_ANCHOR_DIR", str(FACERIGHTS_TOMBSTONE_DIR))).resolve()

# How often each worker and beat writes its heartbeat (facerights.liveness);
# three missed beats and the dashboard calls it silent.
FACERIGHTS_HEARTBEAT_SECONDS = env_int("FACERIGHTS_HEARTBEAT_SECONDS", 30, minimum=1)
# /metrics answers a Prometheus scraper that sends this bearer token; unset, it is off.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- Logs ---------------------------------------------------------------------------
# JSON lines with a request id (facerights.logs) in production; LOG_FORMAT=plain
# for a person reading a terminal (the default with DEBUG on).
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT: json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "facerights.logs.RequestIdFilter"},
        "no_paths": {"()": "facerights.logs.PathRedactFilter"},
    },
    "formatters": {
        "json": {"()": "facerights.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "no_paths"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Our middleware logs each request once, by route; Django's own lines would repeat it with the path.
        "django.server": {"level": "ERROR"},
        "django.request": {"level": "ERROR"},
        # WeasyPrint and its font library narrate every step of every PDF: only their warnings matter.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
# Celery keeps the logging configured here instead of installing its own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
