"""The tombstone journal: every deletion, written outside the database.

A database restored from an older backup has lost the deletions made after
the backup, and with them the in-database tombstones (shredded keys, withdrawn
consents, deletion requests). This journal keeps a copy of each such event in
plain files, on storage the restore does not touch, so `manage.py
replay_deletions` can apply them again (docs/backup-restore.md).

Shape of the journal:

- One JSON object per line, in `FACERIGHTS_TOMBSTONE_DIR`, one file per UTC day
  and host (`tombstones-YYYY-MM-DD-<host>.jsonl`): hosts sharing a directory
  never write to the same file, since O_APPEND is not atomic across NFS clients.
- Each append takes an exclusive `flock` on the file, writes with O_APPEND,
  and fsyncs before returning. A line torn by a crash is left as it is (the
  reader skips and counts it); the next append starts on a fresh line.
- Entries hold random UUIDs, references, row ids, kinds and times, never
  personal data: the journal may sit on storage with weaker controls than the
  database, and must outlive every backup.

Callers append *before* their transaction commits. A journaled deletion that
then rolls back is replayed as a deletion the person asked for (the safe
side); a committed deletion missing from the journal would bring the person's
data back with the next restore (docs/legal-readings.md).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

FORMAT_VERSION = 1
FILE_GLOB = "tombstones-*.jsonl"
RESERVED = frozenset({"v", "id", "kind", "at", "written_at", "host"})


class JournalError(Exception):
    """The journal cannot be written or read; a deletion must not commit without it."""


@dataclass(frozen=True)
class Tombstone:
    """One deletion event: its kind, when it happened, and the ids it concerns."""

    kind: str
    at: dt.datetime
    data: dict = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def line(self, *, written_at: dt.datetime, host: str) -> str:
        clash = RESERVED & self.data.keys()
        if clash:
            raise JournalError(f"tombstone data may not use the reserved keys {sorted(clash)}")
        entry = {
            "v": FORMAT_VERSION,
            "id": self.id,
            "kind": self.kind,
            "at": self.at.astimezone(dt.UTC).isoformat(),
            "written_at": written_at.isoformat(),
            "host": host,
            **self.data,
        }
        return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str) + "\n"


def journal_directory() -> Path:
    return Path(settings.FACERIGHTS_TOMBSTONE_DIR)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"


def journal_append(tombstones: Iterable[Tombstone]) -> None:
    """Append tombstones to this host's file for today and fsync them; raise JournalError on failure.

    All entries go in one write under the file's lock, so a bulk deletion
    costs one fsync, and writers on this host never interleave.
    """
    tombstones = list(tombstones)
    if not tombstones:
        return
    now = dt.datetime.now(dt.UTC)
    host = _host()
    payload = "".join(t.line(written_at=now, host=host) for t in tombstones).encode()
    directory = journal_directory()
    path = directory / f"tombstones-{now:%Y-%m-%d}-{host}.jsonl"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                payload = b"\n" + payload  # a crash tore the last line: never glue ours to it
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock
        if created:
            _fsync_directory(directory)  # the new file's name must survive a crash too
    except OSError as exc:
        raise JournalError(f"cannot write the tombstone journal in {directory}: {exc.strerror or exc}") from exc


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Journal:
    """What a journal directory holds, in time order."""

    tombstones: list[Tombstone]
    files: int
    unreadable: int  # lines that are not a complete entry (a torn write, a foreign line)


def journal_read(directory: Path | None = None, *, since: dt.datetime | None = None) -> Journal:
    """Every tombstone under `directory` (subfolders too: files collected from several hosts), oldest first.

    Entries written at or after `since` only, when given. Ties keep each file's order.
    """
    directory = Path(directory) if directory is not None else journal_directory()
    if not directory.is_dir():
        raise JournalError(f"no tombstone journal at {directory}")
    keyed = []
    seen: set[str] = set()
    unreadable = 0
    paths = sorted(directory.rglob(FILE_GLOB))
    for path in paths:
        for number, raw in enumerate(path.read_bytes().splitlines()):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                tombstone = Tombstone(
                    kind=entry["kind"],
                    at=dt.datetime.fromisoformat(entry["at"]),
                    data={k: v for k, v in entry.items() if k not in RESERVED},
                    id=entry["id"],
                )
                if tombstone.at.tzinfo is None:
                    raise ValueError("naive time")
            except (ValueError, KeyError, TypeError):
                unreadable += 1
                continue
            if tombstone.id in seen:
                continue  # the same file collected twice (copied from a host, say)
            seen.add(tombstone.id)
            # `since` compares with when the line was written, not the event's own time:
            # a bulk deletion keeps one `at` for all its chunks, committed much later, and
            # a replayed deletion keeps its original `at`.
            written = dt.datetime.fromisoformat(entry.get("written_at") or entry["at"])
            if since is not None and written < since:
                continue
            keyed.append(((tombstone.at, path.name, number), tombstone))
    keyed.sort(key=lambda pair: pair[0])
    return Journal(tombstones=[t for _, t in keyed], files=len(paths), unreadable=unreadable)
