"""A legal deadline as a value: firm, or provisional with the earliest date it can turn out to be.

Computed by `facerights.workdays.due_after`; stored by models with `facerights.models.Deadline`;
shown by `facerights.present.due_text`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Due:
    """A legal deadline. Firm, or provisional with the earliest date it can turn out to be."""

    on: dt.date  # the deadline (the estimate, when provisional)
    earliest: dt.date  # the same date when firm; what alerts and overdue checks use
    provisional: bool = False

    @classmethod
    def firm(cls, day: dt.date) -> Due:
        return cls(on=day, earliest=day, provisional=False)

    def capped(self, ceiling: dt.date) -> Due:
        """No later than a calendar-day ceiling (a fixed date: if it binds the estimate, only `earliest` stays open)."""
        on, earliest = min(self.on, ceiling), min(self.earliest, ceiling)
        return Due(on=on, earliest=earliest, provisional=self.provisional and earliest < on)


@dataclass(frozen=True)
class Moved:
    """A deadline computed again (a year's schedule became known): what, before and after, and who is told."""

    what: str  # e.g. "request ABC123", "filing obligation (initial)"
    before: Due
    after: Due
    dpo_email: str
    later_for_person: int | None = None  # the request id to tell its person about, when their date moved later
