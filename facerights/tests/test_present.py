"""What people read: dates in Beijing time and their language, provisional deadlines marked, labels, names."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from dataops.registry.models import Alternative
from facerights.due import Due
from facerights.present import actor_text, choices_text, date_text, due_text, moment_text
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
