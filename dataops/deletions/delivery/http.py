"""An HTTP POST that refuses internal addresses, unless the system is marked internal.

The host name is resolved once, every address is checked, and the connection
goes to the checked address (with the name kept for TLS and the Host header),
so a DNS answer that changes between check and connect cannot redirect it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import urllib3

from ...registry.validators import is_public_address

TIMEOUT = urllib3.Timeout(connect=5.0, read=10.0)
MAX_BODY = 1_000_000


class DeliveryError(Exception):
    """A call that failed; `permanent` says whether retrying can help."""

    def __init__(
        self, message: str, *, permanent: bool = False, status: int | None = None, retry_after: int | None = None
    ):
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


def resolve(host: str, port: int, *, allow_internal: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc}") from None
    addresses = sorted({cast(str, info[4][0]) for info in infos})  # IPv4 and IPv6 addresses are strings
    if not allow_internal:
        refused = [address for address in addresses if not is_public_address(address)]
        if refused:
            raise DeliveryError(
                f"{host} resolves to a loopback, private or link-local address ({refused[0]}); "
                "mark the system internal if that is intended",
                permanent=True,
            )
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str], *, allow_internal: bool) -> Response:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {url}", permanent=True)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(parts.hostname, port, allow_internal=allow_internal)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=TIMEOUT,
            retries=False,
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=TIMEOUT, retries=False)
    host_header = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": host_header, "Content-Type": "application/json"},
            redirect=False,
            preload_content=False,
        )
        data = response.read(MAX_BODY + 1)
        response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:250]) from None
    finally:
        pool.close()
    return Response(status=response.status, body=data[:MAX_BODY], headers=dict(response.headers))
