"""Systems that cannot receive deletions now, said out loud: to the DPO at once, on the dashboard, to the person.

A deletion must never sit as "waiting to be sent" with nothing said. A system still in
draft (its connection test has not passed) receives nothing yet, and one whose deliveries
the DPO paused receives nothing until they flow again: its instructions wait, due. When a
deletion opens for such a system, its company's DPO is told, with the reason, at most once
an hour per system; the person's status page says the system has not received it yet.
"""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from facerights import ratelimit
from facerights.audit import audit_record

from ..registry.models import ProcessingSystem
from .models import Propagation

logger = logging.getLogger(__name__)

REASONS = {
    "not_connected": gettext_lazy("it is not connected yet: its connection test has not passed"),
    "paused": gettext_lazy("its deliveries are paused by the data-protection officer"),
}


def blocked_reason(system: ProcessingSystem) -> str | None:
    """Why the system cannot receive deletion instructions now, or None when it can."""
    if system.status == ProcessingSystem.Status.DRAFT:
        return "not_connected"
    if system.deliveries_paused:
        return "paused"
    return None


def waiting_count(system: ProcessingSystem) -> int:
    """Real people's instructions the system has not received yet."""
    return Propagation.objects.filter(
        system=system,
        state=Propagation.State.PENDING,
        sent_at__isnull=True,
        deletion_request__subject__is_synthetic=False,
    ).count()


def blocked_notify(deletion_ids: list[int]) -> int:
    """Tell the DPO of each system these deletions reach that cannot receive them now; returns how many were told."""
    told = 0
    systems = (
        ProcessingSystem.objects.filter(
            propagations__deletion_request_id__in=deletion_ids,
            propagations__deletion_request__subject__is_synthetic=False,
        )
        .select_related("entity")
        .distinct()
    )
    for system in systems:
        reason = blocked_reason(system)
        if reason is None:
            continue
        if not ratelimit.allow("deletions-blocked-told", str(system.pk), limit=1, window_seconds=3600):
            continue  # told within the hour: the dashboard keeps showing it
        waiting = waiting_count(system)
        with translation.override("zh-hans"):
            send_mail(
                _("Deletions are waiting for %(system)s") % {"system": system.name_zh},
                _(
                    "%(n)d people's deletion instructions have not reached %(system)s: %(reason)s. "
                    "They wait, and their legal clocks run. Connect the system or let its deliveries flow again "
                    "in the admin (Processing systems)."
                )
                % {"n": waiting, "system": system.name_zh, "reason": REASONS[reason]},
                None,
                [system.entity.dpo_email],
            )
        with transaction.atomic():
            audit_record(
                actor="task:deliver",
                action="deletion.blocked_told",
                target=system,
                data={"reason": reason, "waiting": waiting},
            )
        logger.warning("deletions wait for system %s: %s", system.pk, reason)
        told += 1
    return told
