"""A fixed-window counter in the cache, for public pages that take guesses (a signature check).

allauth limits its own forms; this is for ours. The client's address is read as allauth reads it
(FACERIGHTS_TRUSTED_PROXY_COUNT or FACERIGHTS_CLIENT_IP_HEADER, docs/deployment.md).
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def allow(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt of `key` in `scope`; False once `limit` attempts were made in the window.

    The key is hashed, so no address or reference is kept in the cache as such.
    """
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    name = f"ratelimit:{scope}:{window}:{digest}"
    cache.add(name, 0, timeout=window_seconds + 1)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr: a new window
        cache.set(name, 1, timeout=window_seconds + 1)
        count = 1
    return count <= limit


def client_address(request) -> str:
    """The client's address as allauth's limits see it: behind the configured proxies, the one they saw."""
    header = settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER
    if header:
        return request.headers.get(header, "").strip() or "unknown"
    count = settings.ALLAUTH_TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
