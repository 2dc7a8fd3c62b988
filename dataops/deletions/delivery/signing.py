"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

    webhook-id:        the message id (the same on every retry)
    webhook-timestamp: seconds since the epoch
    webhook-signature: space-separated "v1,<base64 HMAC-SHA256>" entries

The signed content is "<id>.<timestamp>.<body>". During a secret rotation the
portal signs with every live secret, so a system can verify with either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

from ...registry.credentials import WEBHOOK_SECRET_PREFIX as SECRET_PREFIX

TOLERANCE_SECONDS = 5 * 60


class SignatureError(Exception):
    pass


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), content, hashlib.sha256).digest()).decode()


def sign_headers(secrets_: list[str], msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret, msg_id, timestamp, body) for secret in secrets_),
    }


def verify(secrets_: list[str], headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> str:
    """Check the headers against any live secret; return the message id or raise SignatureError."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a number") from None
    now = time.time() if now is None else now
    if abs(now - stamp) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is more than five minutes off")
    offered = [item for item in signatures.split() if item.startswith("v1,")]
    for secret in secrets_:
        expected = signature(secret, msg_id, stamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return msg_id
    raise SignatureError("no signature matches")
