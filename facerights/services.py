"""Kernel services shared by the apps."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from .audit import audit_record

_M = TypeVar("_M", bound=models.Model)


class TransitionError(ValidationError):
    """A state change that is not allowed from the current state."""


def content_fields(model: type[models.Model]) -> list[str]:
    """The fields a plain save may write: editable ones. States and stamps
    (editable=False) change only through their own services, so a stale
    instance never overwrites them."""
    return [f.name for f in model._meta.concrete_fields if f.editable and not f.primary_key]


def record_save(*, actor: str, instance: _M, action: str | None = None, data: dict[str, Any] | None = None) -> _M:
    """Validate and save a plain record (no state machine of its own), with its audit event.

    For rows whose only change is their content: legal entities, sites,
    purposes, draft notices. Models with states have their own services.
    """
    with transaction.atomic():
        created = instance._state.adding
        instance.full_clean()
        if created:
            instance.save()
        else:
            instance.save(update_fields=content_fields(type(instance)))
        label = instance._meta.model_name
        audit_record(
            actor=actor,
            action=action or f"{label}.{'created' if created else 'changed'}",
            target=instance,
            data=data or {},
        )
    return instance


def record_delete(*, actor: str, instance: models.Model) -> None:
    """Delete a plain record, with its audit event."""
    with transaction.atomic():
        audit_record(actor=actor, action=f"{instance._meta.model_name}.deleted", target=instance)
        instance.delete()


# --- Staff reads of a person's records (R25) -------------------------------------------------------


def staff_record_read(*, actor: str, target: models.Model) -> None:
    """Record that a staff member opened one record about a person, in that person's chain."""
    with transaction.atomic():
        audit_record(actor=actor, action="record.viewed", target=target, data={"type": target._meta.label_lower})


def staff_records_searched(*, actor: str, model: type[models.Model], results: int) -> None:
    """Record that a staff member searched records about people (the term itself is personal: never kept)."""
    with transaction.atomic():
        audit_record(actor=actor, action="records.searched", data={"type": model._meta.label_lower, "results": results})
