"""What people read: dates in Beijing time and their language, provisional deadlines marked, labels, names."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db.models import Choices

from dataops.registry.models import Alternative
from facerights.due import Due
from facerights.present import (
    actor_text,
    choice_label,
    choices_text,
    date_text,
    due_text,
    field_choices,
    field_label,
    moment_text,
)
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
D = dt.date


def test_a_date_reads_naturally_in_each_language():
    assert date_text(D(2027, 1, 5), "zh") == "2027年1月5日"
    assert date_text(D(2027, 1, 5), "en") == "5 January 2027"


def test_a_moment_is_shown_in_beijing_time():
    moment = dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC)  # already 1 January in Beijing
    assert moment_text(moment, "zh") == "2027年1月1日 01:30"
    assert moment_text(moment, "en") == "1 January 2027, 01:30 (Beijing time)"


def test_a_provisional_deadline_says_so_and_gives_its_earliest_date_in_each_language():
    due = Due(on=D(2027, 1, 14), earliest=D(2027, 1, 10), provisional=True)
    assert due_text(due, "zh") == "2027年1月14日（暂定，不早于2027年1月10日）"
    assert due_text(due, "en") == "14 January 2027 (provisional: no earlier than 10 January 2027)"
    assert due_text(Due.firm(D(2027, 1, 14)), "zh") == "2027年1月14日"


def test_codes_are_shown_as_labels_in_each_language():
    assert choices_text(Alternative, ["card", "qr_code"], "en") == "card, QR code"
    assert choices_text(Alternative, ["card", "qr_code"], "zh") == "卡片、二维码"
    assert choices_text(Alternative, [], "zh") == "无"


@pytest.mark.django_db
def test_an_actor_is_a_name_and_a_role_never_user_n():
    dpo = factories.user_with_role("dpo", username="linxiaowen")
    dpo.first_name, dpo.last_name = "晓雯", "林"
    dpo.save()
    assert actor_text(f"user:{dpo.pk}", "en") == "林晓雯 (data-protection officer)"
    assert actor_text(f"user:{dpo.pk}", "zh") == "林晓雯（个人信息保护负责人）"
    assert actor_text("task:sweep", "zh") == "FaceRights（自动处理）"


# --- One formatter: nothing a person or a regulator reads formats a date itself ------------------

DATE_FILTERS = re.compile(r"\|\s*(date|time|naturalday|naturaltime)\b|\|slice:\"?:1[069]")


def test_no_template_formats_a_date_itself():
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if DATE_FILTERS.search(line)
    ]
    assert found == []


MESSAGE_MODULES = [
    "consent/messaging.py",
    "dataops/requests/notify.py",
    "dataops/deletions/notify.py",
    "dataops/deletions/delivery/manual.py",
    "dataops/filings/obligations.py",
    "dataops/filings/changes.py",
    "dataops/workbench/clocks.py",
]


@pytest.mark.parametrize("module", MESSAGE_MODULES)
def test_no_message_to_a_person_formats_a_date_itself(module):
    """Emails and texts take their dates from facerights.present: never isoformat() or strftime()."""
    tree = ast.parse((ROOT / module).read_text())
    offenders = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", "")) in (
            "send_mail",
            "subject_tell",
        ):
            for node in ast.walk(call):
                if isinstance(node, ast.Attribute) and node.attr in ("isoformat", "strftime"):
                    offenders.append(node.lineno)
    assert offenders == []


# --- Every code of every model has a label in both languages ---------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2}")


def _choice_fields():
    for config in apps.get_app_configs():
        if config.label not in ("facerights", "consent", "dataops"):
            continue
        for model in config.get_models():
            for field in model._meta.get_fields():
                base = getattr(field, "base_field", None)
                if getattr(field, "choices", None) or (base is not None and base.choices):
                    yield f"{config.label}.{model.__name__}.{field.name}"


@pytest.mark.parametrize("spec", sorted(set(_choice_fields())))
def test_every_stored_code_of_every_model_reads_as_a_label_in_both_languages(spec):
    for code, _label in field_choices(spec):
        zh, en = field_label(spec, code, "zh"), field_label(spec, code, "en")
        assert CJK.search(zh), f"{spec}={code}: no Chinese label ({zh!r})"
        # An English label may carry the Chinese term beside it ("make-up working day (调休)"), never only that.
        assert LATIN.search(en) and "_" not in en and not en.startswith("["), f"{spec}={code}: English {en!r}"
    assert field_label(spec, "no-such-code", "en") == "[no-such-code]"  # never passed off as a label


def _choice_sets():
    def below(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    ours = ("facerights.", "consent.", "dataops.", "portal.")
    return {f"{c.__module__}.{c.__qualname__}": c for c in below(Choices) if c.__module__.startswith(ours)}


@pytest.mark.parametrize("name", sorted(_choice_sets()))
def test_every_choice_set_reads_as_labels_in_both_languages_even_outside_a_field(name):
    # Some codes live in JSON lists (a system's alternatives) or in no field at all (who attested an age).
    choices = _choice_sets()[name]
    for member in choices:
        zh, en = choice_label(choices, member.value, "zh"), choice_label(choices, member.value, "en")
        assert CJK.search(zh), f"{name}={member.value}: no Chinese label ({zh!r})"
        assert LATIN.search(en) and "_" not in en, f"{name}={member.value}: English {en!r}"
