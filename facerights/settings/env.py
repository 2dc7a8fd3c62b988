"""Typed readers for environment variables.

Each reader fails at start-up with a message that names the variable, so a
malformed value never turns into a surprising default at run time.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
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


def install_secret_text(path: Path, make) -> str:
    """A secret kept in a file only its owner reads, made on first use by `make()` (development only).

    Never a secret written in the source: each install has its own, outside git (var/).
    Processes starting together (web, worker, beat) agree: one creates the file, the
    others wait for it and read it.
    """
    for _attempt in range(50):
        if path.exists():
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.1)  # another process is writing it
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        value = make()
        with os.fdopen(descriptor, "w") as handle:
            handle.write(value + "\n")
        return value
    raise ImproperlyConfigured(f"{path}: empty; delete it to have a new secret made, or set the variable.")


def install_secret(path: Path) -> bytes:
    """A random 32-byte key (urlsafe base64 in its file), made once per install: see install_secret_text."""
    value = install_secret_text(path, lambda: base64.urlsafe_b64encode(os.urandom(32)).decode())
    return decode_key(str(path), value)
