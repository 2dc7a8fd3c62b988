"""A fixed-window counter in the cache, for public pages that take guesses (a signature check).

allauth limits its own forms; this is for ours. The client is REMOTE_ADDR: behind the
documented proxy, Django sees the address the proxy passes on (docs/deployment.md).
"""

from __future__ import annotations

import hashlib
import time

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
    return request.META.get("REMOTE_ADDR", "") or "unknown"
