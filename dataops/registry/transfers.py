"""A system changes hands (PIPL Art 22): merger, sale, or a move to another entity of the group.

Art 22 lets the recipient carry on only under the same purposes and methods, and
requires that each person be told the recipient's name and contact. So a transfer:

- moves the system (and the site it stands at, if the DPO names the recipient's) to the
  recipient, with its record and an audit event;
- keeps the people's consents (same purposes, same methods: the law allows it), but
  pauses new enrolments, since the published notice still names the old handler: the
  DPO publishes a notice naming the recipient, then resumes them;
- tells everyone the system holds, in the background, who now holds their facial data
  and how to reach them;
- opens the filing change check at once for both entities (a system left one filing
  and joined another).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consent.messaging import subject_tell
from consent.models import DataSubject
from facerights.audit import audit_record
from facerights.present import date_text
from facerights.queues import enqueue_on_commit

from .holdings import LIVE
from .models import Holding, LegalEntity, ProcessingSystem, Site, SystemTransfer


def system_transfer(
    *,
    actor: str,
    system: ProcessingSystem,
    to_entity: LegalEntity,
    kind: str,
    effective_on: dt.date,
    recipient_contact: str,
    site: Site | None = None,
) -> SystemTransfer:
    """Record that `system` now belongs to `to_entity`; raises ValidationError with the reason otherwise."""
    with transaction.atomic():
        system = ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        errors = {}
        if to_entity.pk == system.entity_id:
            errors["to_entity"] = _("The system already belongs to this legal entity.")
        if system.status == ProcessingSystem.Status.RETIRED:
            errors["to_entity"] = _("A retired system processes no one: there is nothing to transfer.")
        if effective_on > timezone.localdate():
            errors["effective_on"] = _("Record a transfer once it has taken effect.")
        if not recipient_contact.strip():
            errors["recipient_contact"] = _("People must be told how to reach the recipient (PIPL Art 22).")
        if site is not None and site.entity_id != to_entity.pk:
            errors["site"] = _("The site belongs to another legal entity.")
        if site is None and system.site is not None and system.site.entity_id != to_entity.pk:
            errors["site"] = _("Choose the recipient's site where the system now stands.")
        if kind not in SystemTransfer.Kind.values:
            errors["kind"] = _("Choose the kind of transfer.")
        if errors:
            raise ValidationError(errors)
        record = SystemTransfer.objects.create(
            system=system,
            from_entity_id=system.entity_id,
            to_entity=to_entity,
            kind=kind,
            effective_on=effective_on,
            recipient_contact=recipient_contact.strip(),
            actor=actor,
        )
        system.entity = to_entity
        if site is not None:
            system.site = site
        # The notice people consented to names the old handler: nobody new consents to it.
        system.enrolments_paused = True
        system.save(update_fields=["entity", "site", "enrolments_paused"])
        audit_record(
            actor=actor,
            action="system.transferred",
            target=system,
            data={"transfer": record.pk, "from": record.from_entity_id, "to": to_entity.pk, "kind": kind},
        )
        enqueue_on_commit("registry.transfer_notify", record.pk)
        enqueue_on_commit("filings.changes_check")
    return record


def transfer_people(transfer: SystemTransfer):
    """Everyone the transferred system holds (real people, each once)."""
    return DataSubject.objects.filter(
        pk__in=Holding.objects.filter(system=transfer.system, status__in=LIVE, subject__is_synthetic=False).values(
            "subject_id"
        ),
        shredded_at__isnull=True,
    ).order_by("pk")


def transfer_people_told(*, transfer: SystemTransfer, told: int) -> SystemTransfer:
    """Record that the people were told (the count reached), with its event."""
    with transaction.atomic():
        transfer = SystemTransfer.objects.select_for_update().get(pk=transfer.pk)
        transfer.people_told = told
        transfer.told_at = timezone.now()
        transfer.save(update_fields=["people_told", "told_at"])
        audit_record(actor="task:transfer", action="system.transfer_told", target=transfer.system, data={"told": told})
    return transfer


def transfer_notify_send(transfer: SystemTransfer) -> int:
    """Tell each person the transferred system holds who holds their facial data now, and how to reach them."""
    system = transfer.system
    told = 0
    with translation.override("zh-hans"):
        for person in transfer_people(transfer).iterator(chunk_size=500):
            told += subject_tell(
                person,
                subject_line=_("%(system)s now belongs to %(entity)s")
                % {"system": system.name_zh, "entity": transfer.to_entity.name_zh},
                body=_(
                    "From %(date)s, %(entity)s holds your facial information in %(system)s, for the same purposes "
                    "and in the same way (PIPL Art 22). Contact: %(contact)s. Your consent and your rights are "
                    "unchanged: you may withdraw or ask for deletion at any time."
                )
                % {
                    "date": date_text(transfer.effective_on, "zh"),
                    "entity": transfer.to_entity.name_zh,
                    "system": system.name_zh,
                    "contact": transfer.recipient_contact,
                },
                sms=(
                    "system_transferred",
                    {
                        "company": transfer.to_entity.name_zh,
                        "date": date_text(transfer.effective_on, "zh"),
                        "system": system.name_zh,
                        "entity": transfer.to_entity.name_zh,
                        "url": f"{settings.FACERIGHTS_BASE_URL}/me/",
                    },
                ),
            )
    return told
