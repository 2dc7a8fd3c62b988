"""Environment defaults for the test run, loaded as a pytest plugin before Django's settings.

Fresh random keys on every run: nothing a test writes can be read with a
development or production key.
"""

import base64
import os
import secrets

os.environ.setdefault("SECRET_KEY", "test-secret-key-" + secrets.token_hex(16))
os.environ.setdefault("FIELD_ENCRYPTION_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
os.environ.setdefault("FACERIGHTS_SIGNING_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
os.environ.setdefault("IDENTIFIER_HASH_KEY", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("CACHE_URL", "locmem://")  # rate-limit counters start empty in every test run
os.environ.setdefault("FACERIGHTS_SMS_BACKEND", "facerights.sms.MemorySmsBackend")
