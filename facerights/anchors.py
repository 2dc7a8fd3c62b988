"""Anchoring the audit log outside the database, daily (Measures Art 9, PIPL Art 56, R25).

A hash chain kept only in the database proves nothing against whoever controls the
database: they can rewrite the rows and recompute every hash. So every day the head of
every chain ("chain:seq:sha-256", one per line) is written to a file outside the
database, by default next to the tombstone journal, on storage the database's owners
do not control (docs/backup-restore.md). `manage.py audit_anchors_check FILE` later
tells whether the log still holds each of those rows unchanged: a rewritten history
no longer matches the file.

The file holds chain names (`registry`, `subject:<id>`), sequence numbers and hashes:
no personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from .models import AuditChainHead, AuditEvent

HASH = re.compile(r"^[0-9a-f]{64}$")


def anchor_directory() -> Path:
    return Path(settings.FACERIGHTS_ANCHOR_DIR)


def audit_anchors_write(*, directory: Path | None = None, now: dt.datetime | None = None) -> Path:
    """Write every chain's head to today's anchor file (atomically, fsynced); returns its path."""
    now = now or dt.datetime.now(dt.UTC)
    directory = Path(directory) if directory is not None else anchor_directory()
    host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"
    lines = [
        f"{chain}:{seq}:{digest}\n"
        for chain, seq, digest in AuditChainHead.objects.order_by("chain").values_list("chain", "seq", "hash")
    ]
    payload = "".join(lines).encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-anchors-{now:%Y-%m-%d}-{host}.txt"
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)  # the new name must survive a crash too
    finally:
        os.close(directory_fd)
    return path


@dataclass
class AnchorCheck:
    """What an anchor file says about the log now."""

    checked: int = 0
    sha256: str = ""
    broken: list[str] = field(default_factory=list)  # anchored rows missing or changed
    unreadable: int = 0


def audit_anchors_check(path: Path) -> AnchorCheck:
    """Check every row an anchor file names: it must still be in the log, with the same hash."""
    content = Path(path).read_bytes()
    result = AnchorCheck(sha256=hashlib.sha256(content).hexdigest())
    wanted: dict[tuple[str, int], str] = {}
    for raw in content.decode(errors="replace").splitlines():
        if not raw.strip():
            continue
        chain, _sep, rest = raw.strip().rpartition(":")  # chains may hold a colon ("subject:12")
        chain, _sep, seq = chain.rpartition(":")
        if not (chain and seq.isdigit() and HASH.match(rest)):
            result.unreadable += 1
            continue
        wanted[(chain, int(seq))] = rest
    result.checked = len(wanted)
    for start in range(0, len(wanted), 1000):
        batch = list(wanted.items())[start : start + 1000]
        found = {
            (row_chain, row_seq): row_hash
            for row_chain, row_seq, row_hash in AuditEvent.objects.filter(
                chain__in={key[0] for key, _h in batch}, seq__in={key[1] for key, _h in batch}
            ).values_list("chain", "seq", "hash")
        }
        for key, digest in batch:
            if key[1] == 0:
                continue  # an empty chain: nothing to hold
            if found.get(key) != digest:
                result.broken.append(f"{key[0]}:{key[1]}")
    return result
