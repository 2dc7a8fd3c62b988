"""Master-key rotation: re-encrypt every value held under FIELD_ENCRYPTION_KEY under the current key.

The kernel imports no app, so it cannot list the encrypted fields itself: each
app registers its own in `AppConfig.ready()` with `register()`. A field is
either a wrapped data key (rewrapping it rotates everything the data key
protects, without touching those rows) or a blob under the master key with
its associated data. `tests` fail when a model gains a binary field that is
neither registered nor declared as not under the master key.

`keys_rotate` walks each field in primary-key order, one transaction per
batch, and only picks rows whose ciphertext names another key than the
current one. An interrupted run therefore resumes by simply running again:
what was committed is under the current key and is not picked twice, so no
checkpoint is kept. `keys_status` counts rows per key id, which tells the
operator when an old key holds nothing any more and can be retired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.apps import apps
from django.db import models, transaction
from django.db.models import BinaryField, Count, F
from django.db.models.functions import Substr

from . import crypto
from .audit import audit_record

WRAPPED_KEY = "wrapped_key"
BLOB = "blob"

_KEY_ID = "rotation_key_id"  # the annotation holding bytes 1 to 4 of a ciphertext

_M = TypeVar("_M", bound=models.Model)


@dataclass(frozen=True)
class EncryptedField:
    """A column whose values are encrypted under the master key."""

    model_label: str
    field: str
    kind: str
    aad: Callable[[models.Model], bytes] | None = None
    # Rows per batch at most, for columns holding large values (copies of data, CSV exports).
    batch_limit: int | None = None

    @property
    def label(self) -> str:
        return f"{self.model_label}.{self.field}"

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def open(self, row: models.Model) -> bytes:
        """The value in clear (the data key, or the blob's bytes); raises crypto.DecryptionError."""
        value = getattr(row, self.field)
        if self.kind == WRAPPED_KEY:
            return crypto.data_key_unwrap(value)
        return crypto.blob_decrypt(value, aad=self._aad_of(row))

    def reencrypt(self, row: models.Model) -> bytes:
        value = getattr(row, self.field)
        if self.kind == WRAPPED_KEY:
            return crypto.data_key_rewrap(value)
        return crypto.blob_reencrypt(value, aad=self._aad_of(row))

    def _aad_of(self, row: models.Model) -> bytes:
        if self.aad is None:  # register() refuses a blob without its associated data
            raise ValueError(f"{self.label}: a blob needs its associated data (aad)")
        return self.aad(row)

    def rows(self) -> models.QuerySet:
        """Rows holding a value, annotated with the id of the key it is under.

        The base manager, so no default filter hides a row; null and empty
        values (a shredded subject, a destroyed scan) are left alone.
        """
        key_id = Substr(F(self.field), 2, 4, output_field=BinaryField())
        return (
            self.model._base_manager.filter(**{f"{self.field}__isnull": False})
            .exclude(**{self.field: b""})
            .annotate(**{_KEY_ID: key_id})
        )


_registry: dict[str, EncryptedField] = {}


def register(
    model: type[_M] | str,
    field_name: str,
    *,
    kind: str,
    aad: Callable[[_M], bytes] | None = None,
    batch_limit: int | None = None,
) -> EncryptedField:
    """Declare a column encrypted under the master key (from an AppConfig.ready()).

    `aad` computes a blob's associated data from its row, exactly as the code
    that encrypted it did. If the two ever drift apart, rotation reports the
    rows it cannot open and leaves them as they are: it never writes a value
    it could not first decrypt.
    """
    if kind not in (WRAPPED_KEY, BLOB):
        raise ValueError(f"kind must be {WRAPPED_KEY!r} or {BLOB!r}, not {kind!r}")
    if (kind == BLOB) != (aad is not None):
        raise ValueError("a blob needs its associated data (aad); a wrapped key has none")
    label = model if isinstance(model, str) else model._meta.label
    # The registry calls `aad` only with rows of `model`.
    row_aad = cast("Callable[[models.Model], bytes] | None", aad)
    entry = EncryptedField(model_label=label, field=field_name, kind=kind, aad=row_aad, batch_limit=batch_limit)
    _registry[entry.label] = entry
    return entry


def registered() -> list[EncryptedField]:
    """Every registered field, in a stable order (the order rotation walks them)."""
    return [_registry[label] for label in sorted(_registry)]


# --- Status -------------------------------------------------------------------------------------


@dataclass
class FieldStatus:
    label: str
    by_key: dict[str, int]  # key id (hex) -> rows under it

    def under_current(self) -> int:
        return self.by_key.get(crypto.current_key_id(), 0)

    def under_others(self) -> dict[str, int]:
        current = crypto.current_key_id()
        return {key_id: n for key_id, n in sorted(self.by_key.items()) if key_id != current and n}


def keys_status() -> list[FieldStatus]:
    """Rows per master key id for every registered field, counted in the database (no value is read)."""
    found = []
    for entry in registered():
        counts = entry.rows().values(_KEY_ID).annotate(n=Count("pk")).order_by()
        found.append(FieldStatus(entry.label, {bytes(row[_KEY_ID]).hex(): row["n"] for row in counts}))
    return found


# --- Rotation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationError:
    """A value that no configured key opens: named by model and primary key, never by content."""

    label: str
    pk: Any
    reason: str


@dataclass
class RotationResult:
    key_id: str
    reencrypted: dict[str, int] = field(default_factory=dict)
    errors: list[RotationError] = field(default_factory=list)
    batches: int = 0
    complete: bool = True


def _batch(entry: EncryptedField, current: bytes, after: Any, size: int) -> tuple[int, Any, list[RotationError]]:
    """Re-encrypt the next `size` rows after `after` that are not under the current key.

    Returns (rows re-encrypted, last primary key seen, errors); last is None
    when nothing was left. The rows stay locked until the batch commits, so a
    concurrent change (a subject shredded meanwhile) waits for it or is seen
    by it, and only the rotated column is written.
    """
    errors: list[RotationError] = []
    with transaction.atomic():
        queryset = entry.rows().exclude(**{_KEY_ID: current}).select_for_update()
        if after is not None:
            queryset = queryset.filter(pk__gt=after)
        rows = list(queryset.order_by("pk")[:size])
        if not rows:
            return 0, None, errors
        changed = []
        for row in rows:
            try:
                setattr(row, entry.field, entry.reencrypt(row))
            except crypto.DecryptionError as exc:
                errors.append(RotationError(entry.label, row.pk, str(exc)))
                continue
            changed.append(row)
        entry.model._base_manager.bulk_update(changed, [entry.field])
    return len(changed), rows[-1].pk, errors


def _pending(entries: list[EncryptedField], current: bytes, after: Any) -> bool:
    """Whether rows not under the current key remain (after `after` in the first of `entries`)."""
    for index, entry in enumerate(entries):
        queryset = entry.rows().exclude(**{_KEY_ID: current})
        if index == 0 and after is not None:
            queryset = queryset.filter(pk__gt=after)
        if queryset.exists():
            return True
    return False


def keys_rotate(
    *,
    actor: str,
    batch_size: int = 500,
    max_batches: int | None = None,
    progress: Callable[[str, int, Any], None] | None = None,
) -> RotationResult:
    """Re-encrypt every registered value that is not under the current master key.

    Steps, per registered field in primary-key order: lock a batch of rows not
    under the current key, decrypt each with whichever configured key it names,
    encrypt it again under the current key with the same associated data,
    write only that column, commit. Values no configured key opens are
    reported in the result and skipped; the rest carries on.

    `max_batches` stops the run early (an off-peak window); `complete` says
    whether anything was left. `progress(label, rows, last_pk)` is called
    after each committed batch. One audit event per run that changed or
    failed something, with counts only: the batches have their own
    transactions, and what they change is ciphertext, never content.

    If an exception stops the run, a note on it names the field and the last
    committed primary key; running again resumes from there by itself.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    current = bytes.fromhex(crypto.current_key_id())
    result = RotationResult(key_id=current.hex())
    entries = registered()
    for index, entry in enumerate(entries):
        size = min(batch_size, entry.batch_limit or batch_size)
        after = None
        result.reencrypted.setdefault(entry.label, 0)
        while True:
            if max_batches is not None and result.batches >= max_batches:
                result.complete = not _pending(entries[index:], current, after)
                break
            try:
                done, last, errors = _batch(entry, current, after, size)
            except BaseException as exc:
                where = f"after primary key {after}" if after is not None else "at its first batch"
                exc.add_note(f"rotate_keys stopped in {entry.label} {where}; earlier batches are saved.")
                raise
            if last is None:
                break
            after = last
            result.batches += 1
            result.reencrypted[entry.label] += done
            result.errors.extend(errors)
            if progress is not None:
                progress(entry.label, done, last)
        if not result.complete:
            break
    if any(result.reencrypted.values()) or result.errors:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="keys.rotated",
                data={
                    "key_id": result.key_id,
                    "reencrypted": {label: n for label, n in result.reencrypted.items() if n},
                    "errors": len(result.errors),
                    "complete": result.complete,
                },
            )
    return result
