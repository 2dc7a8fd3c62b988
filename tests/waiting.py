"""Waiting for something another process or thread does: poll until it holds or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], object], timeout: float = 45.0, interval: float = 0.2) -> bool:
    """True as soon as `predicate()` is truthy; False once `timeout` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
