"""A vendor's list of the keys exposed in its system: read, checked, kept, and counted against the registry.

The file is plain text, one key per line (a CSV's first column is read, and a header
`subject_key` skipped). It is checked whole before anything is kept: a bad line is
named by its number and nothing is stored, so a corrected file is simply uploaded again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from ..registry.models import Holding, ProcessingSystem
from .models import AffectedKey, AffectedKeyList, Incident, IncidentEvent
from .services import timeline_add

KEYS_MAX_BYTES = 32 * 1024 * 1024  # two million keys of a dozen characters, with room
KEY_MAX_LENGTH = 128  # AffectedKey.subject_key, as Holding.subject_key
HEADERS = {"subject_key", "key", "subject key", "主体标识", "用户标识"}
BATCH = 5000
ERRORS_SHOWN = 5


def keys_parse(content: bytes) -> list[str]:
    """The distinct keys of an uploaded file, in file order; raise ValidationError naming the bad lines."""
    if len(content) > KEYS_MAX_BYTES:
        raise ValidationError(_("The file is larger than 32 MB: split it by system, or ask the vendor for keys only."))
    if b"\x00" in content:
        raise ValidationError(_("This is not a text file. Upload plain text or CSV, one key per line."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _("The file is not UTF-8 text. Save it as UTF-8 (CSV UTF-8 in Excel) and upload it again.")
        ) from exc
    keys: dict[str, None] = {}
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        key = line.split(",", 1)[0].split("\t", 1)[0].strip().strip('"').strip()
        if not key or (number == 1 and key.lower() in HEADERS):
            continue
        if len(key) > KEY_MAX_LENGTH:
            bad.append(_("line %(n)d: longer than %(max)d characters") % {"n": number, "max": KEY_MAX_LENGTH})
        elif not key.isprintable():
            bad.append(_("line %(n)d: holds control characters") % {"n": number})
        else:
            keys[key] = None
    if bad:
        more = len(bad) - ERRORS_SHOWN
        shown = "; ".join(bad[:ERRORS_SHOWN]) + (_("; and %(n)d more") % {"n": more} if more > 0 else "")
        raise ValidationError(
            _("Nothing was kept. Correct these lines and upload again: %(lines)s.") % {"lines": shown}
        )
    if not keys:
        raise ValidationError(_("The file holds no keys: one key per line."))
    return list(keys)


def _batches(keys: list[str]) -> Iterator[list[str]]:
    it = iter(keys)
    while batch := list(islice(it, BATCH)):
        yield batch


def affected_keys_upload(
    *, actor: str, incident: Incident, system: ProcessingSystem, content: bytes
) -> AffectedKeyList:
    """Keep a vendor's list of the keys exposed in one system of the incident; it narrows who is affected there."""
    if incident.state == Incident.State.CLOSED:
        raise ValidationError(_("A closed incident cannot change; add a note instead."))
    if not incident.systems.filter(pk=system.pk).exists():
        raise ValidationError({"system": _("Name the system among the incident's systems first.")})
    keys = keys_parse(content)
    with transaction.atomic():
        key_list = AffectedKeyList.objects.create(
            incident=incident,
            system=system,
            uploaded_by=actor,
            sha256=hashlib.sha256(content).hexdigest(),
            keys_count=len(keys),
            matched=0,
        )
        for batch in _batches(keys):
            AffectedKey.objects.bulk_create(AffectedKey(key_list=key_list, subject_key=key) for key in batch)
        known = Holding.objects.filter(system=system, subject_key=OuterRef("subject_key"))
        key_list.matched = key_list.keys.filter(Exists(known)).count()
        key_list.save(update_fields=["matched"])
        timeline_add(
            incident,
            actor=actor,
            kind=IncidentEvent.Kind.KEYS,
            data={
                "system": system.pk,
                "system_name": system.name_zh,
                "keys": key_list.keys_count,
                "matched": key_list.matched,
                "sha256": key_list.sha256,
            },
        )
    return key_list
