"""Computing provisional deadlines again once a year's holiday schedule is known.

When a DPO enters a year (facerights.schedules sends `schedule_changed`), or an update of the
holiday package brings one (the daily run finds it), every open provisional deadline is
computed again: requests first, then the deletions that follow them and their propagations,
then filing obligations and change reviews. Each change is audited where it is made. Each
DPO gets one summary of the dates that moved; a person is told when their request's date
moved later.
"""

from __future__ import annotations

from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from facerights.due import Moved
from facerights.present import due_text
from facerights.queues import enqueue, enqueue_on_commit

from ..deletions.opening import deletions_due_recompute
from ..filings.obligations import obligations_due_recompute
from ..registry.models import LegalEntity
from ..requests.clocks import requests_due_recompute


def clocks_recompute(*, actor: str) -> list[Moved]:
    """Compute every open provisional deadline again; tell the DPOs and, where a date moved later, the person."""
    moved = requests_due_recompute(actor=actor)
    moved += deletions_due_recompute(actor=actor)
    moved += obligations_due_recompute(actor=actor)
    for item in moved:
        if item.later_for_person is not None:
            enqueue("requests.notify", item.later_for_person, "due_changed")
    if moved:
        _summaries(moved)
    return moved


def _summaries(moved: list[Moved]) -> None:
    every_dpo = sorted(set(LegalEntity.objects.values_list("dpo_email", flat=True)))
    by_address: dict[str, list[Moved]] = {}
    for item in moved:
        for address in [item.dpo_email] if item.dpo_email else every_dpo:
            by_address.setdefault(address, []).append(item)
    with translation.override("zh-hans"):
        for address, items in by_address.items():
            lines = [f"{item.what}: {due_text(item.before, 'zh')} → {due_text(item.after, 'zh')}" for item in items]
            send_mail(
                _("%(n)d deadlines computed again with the new holiday schedule") % {"n": len(items)},
                "\n".join(lines),
                None,
                [address],
            )


def schedule_changed_handler(sender=None, year: int | None = None, **kwargs) -> None:
    """A year's schedule became known: compute the deadlines again, in the background."""
    enqueue_on_commit("workbench.clocks_recompute")
