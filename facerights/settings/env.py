"""Typed readers for environment variables.

Each reader fails at start-up with a message that names the variable, so a
malformed value never turns into a surprising default at run time.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import overload

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's value; the default when it is unset or empty."""
    value = _raw(name)
    return value if value else default


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected true or false (1/0, yes/no, on/off), got {value!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}: must be at most {maximum}, got {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if not value:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def decode_key(name: str, value: str) -> bytes:
    """Decode one urlsafe-base64 32-byte key, naming the variable on failure."""
    try:
        key = base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{name}: not valid base64.") from None
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"{name}: must decode to 32 bytes, got {len(key)}. "
            'Generate one with: python -c "import secrets,base64;print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
        )
    return key


def env_keys(name: str) -> list[bytes]:
    """A comma-separated list of urlsafe-base64 32-byte keys."""
    return [decode_key(name, item) for item in env_list(name, [])]


def install_secret(path: Path) -> bytes:
    """A random 32-byte key kept in a file only its owner reads, made on first use (development only).

    Never a key written in the source: each install has its own, outside git (var/).
    """
    if path.exists():
        return decode_key(str(path), path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    value = base64.urlsafe_b64encode(os.urandom(32)).decode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")
    return decode_key(str(path), value)
