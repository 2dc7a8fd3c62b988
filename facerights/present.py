"""What people read: dates in Beijing time and their language, deadlines with their provisional mark,
labels instead of codes, and names instead of actor strings.

Every page, email, PDF, copy and CSV a person or a regulator reads goes through this module:
- `date_text`, `moment_text`: a date, or a moment in Beijing time, in the reader's language;
- `due_text`: a deadline, with 暂定 / provisional and "no earlier than" when it is not firm;
- `choice_label`, `choices_text`, `field_label`: the label of a stored code in a language;
- `actor_text`: who did something ("user:12" becomes their name and role).
Templates use the same through `{% load present %}` (facerights/templatetags/present.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db.models import Choices
from django.utils import translation
from django.utils.translation import gettext as _

from .due import Due

BEIJING = ZoneInfo("Asia/Shanghai")


def language_of(language: str | None = None) -> str:
    """ "zh" or "en": the reader's language (the active one when not given)."""
    code = (language or translation.get_language() or "zh-hans").lower()
    return "zh" if code.startswith("zh") else "en"


def date_text(day: dt.date | None, language: str | None = None) -> str:
    """A calendar date: 2027年1月15日 / 15 January 2027; an empty string for none."""
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        day = day.astimezone(BEIJING).date()
    if language_of(language) == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def moment_text(moment: dt.datetime | None, language: str | None = None) -> str:
    """A moment, in Beijing time: 2027年1月15日 14:05 / 15 January 2027, 14:05 (Beijing time)."""
    if moment is None:
        return ""
    local = moment.astimezone(BEIJING)
    if language_of(language) == "zh":
        return f"{date_text(local.date(), 'zh')} {local:%H:%M}"
    return f"{date_text(local.date(), 'en')}, {local:%H:%M} (Beijing time)"


def due_text(due: Due | None, language: str | None = None) -> str:
    """A deadline; a provisional one says so and gives the earliest it can turn out to be."""
    if due is None:
        return ""
    lang = language_of(language)
    if not due.provisional:
        return date_text(due.on, lang)
    if lang == "zh":
        return f"{date_text(due.on, lang)}（暂定，不早于{date_text(due.earliest, lang)}）"
    return f"{date_text(due.on, lang)} (provisional: no earlier than {date_text(due.earliest, lang)})"


def choice_label(choices: type[Choices], value: str, language: str | None = None) -> str:
    """The label of a stored code, in the language; an unknown code is shown as itself, marked."""
    with translation.override("zh-hans" if language_of(language) == "zh" else "en"):
        for member in choices:
            if member.value == value:
                return str(member.label)
        return f"[{value}]"


def field_choices(spec: str) -> list[tuple[str, object]]:
    """The (code, label) pairs of a model field named "app_label.Model.field" (a list field's items' choices)."""
    return list(_field_pairs(spec).items())


@functools.cache
def _field_pairs(spec: str) -> dict[str, object]:
    """Code to (lazy) label of a field, read from the model once per process: a page labels many rows."""
    app_label, model_name, field_name = spec.split(".")
    field = apps.get_model(app_label, model_name)._meta.get_field(field_name)
    base = getattr(field, "base_field", None)  # ArrayField: the choices are its items'
    choices = field.choices or (base.choices if base is not None else None)
    if not choices:
        raise ValueError(f"{spec} has no choices")
    return {str(code): label for code, label in choices}


def field_label(spec: str, value: object, language: str | None = None) -> str:
    """The label of a field's stored code ("dataops.Holding.status", "deleted") in a language.

    A list of codes is joined as `choices_text` joins them; an unknown code is shown as itself, marked.
    """
    pairs = _field_pairs(spec)
    lang = language_of(language)
    with translation.override("zh-hans" if lang == "zh" else "en"):
        if isinstance(value, list | tuple):
            if not value:
                return "无" if lang == "zh" else "none"
            return ("、" if lang == "zh" else ", ").join(
                str(pairs[str(v)]) if str(v) in pairs else f"[{v}]" for v in value
            )
        if value is None or value == "":
            return ""
        return str(pairs[str(value)]) if str(value) in pairs else f"[{value}]"


def choices_text(choices: type[Choices], values: Iterable[str], language: str | None = None) -> str:
    """Several codes as labels, joined as the language joins a list (、 / , ); 无 / none when empty."""
    lang = language_of(language)
    labels = [choice_label(choices, value, lang) for value in values]
    if not labels:
        return "无" if lang == "zh" else "none"
    return ("、" if lang == "zh" else ", ").join(labels)


# Who did something: "user:12", "task:sweep", "system:5". The kernel names accounts and
# automatic work; an app registers what it knows (dataops: systems, devices, vendors).
ActorNamer = Callable[[str, str], str]
_NAMERS: dict[str, ActorNamer] = {}


def actor_namer_register(kind: str, namer: ActorNamer) -> None:
    """Name actors of a kind: namer(identifier, language) -> text."""
    _NAMERS[kind] = namer


def actor_text(actor: str, language: str | None = None) -> str:
    """A person by name and role, a system by its name, automatic work as such: never "user:2"."""
    lang = language_of(language)
    kind, _sep, identifier = actor.partition(":")
    namer = _NAMERS.get(kind)
    if namer is not None and identifier:
        return namer(identifier, lang)
    with translation.override("zh-hans" if lang == "zh" else "en"):
        if kind in ("task", "command", "system"):
            return _("FaceRights (automatic)")
        if actor == "anonymous":
            return _("someone not signed in")
        return _("someone else")


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
