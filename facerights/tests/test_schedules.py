"""A year's holiday schedule is entered in one step, checked line by line, previewed, then complete."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from facerights.models import AuditEvent, CalendarDay, CalendarYear
from facerights.schedules import schedule_parse, schedules_load
from facerights.workdays import year_is_covered

pytestmark = pytest.mark.django_db

NOTICE_2031 = """
# 国务院办公厅关于2031年部分节假日安排的通知（测试用，并非真实通知）
2031-01-01 元旦
2031-01-22..2031-01-29 春节
workday 2031-01-19 春节调休
workday 2031-02-08 春节调休
"""


def test_ranges_and_make_up_days_are_read_as_the_notice_writes_them():
    days = schedule_parse(NOTICE_2031, year=2031)
    holidays = [d.date for d in days if d.kind == "holiday"]
    assert holidays[0] == dt.date(2031, 1, 1) and len(holidays) == 9  # 1 + 8 days of the festival
    assert [d.date for d in days if d.kind == "workday"] == [dt.date(2031, 1, 19), dt.date(2031, 2, 8)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2032-01-01 元旦", "not in 2031"),
        ("workday 2031-01-20 调休", "is a weekday"),
        ("2031-01-01 元旦\n2031-01-01 again", "listed twice"),
        ("2031-13-01 ?", "YYYY-MM-DD"),
        ("2031-01-29..2031-01-22 春节", "ends before it starts"),
    ],
)
def test_a_wrong_line_is_refused_with_what_is_wrong_and_nothing_is_entered(text, words):
    with pytest.raises(ValidationError) as info:
        schedule_parse(text, year=2031)
    assert words in " ".join(info.value.messages)
    assert not CalendarYear.objects.exists()


def test_the_dpo_previews_the_year_then_saves_it_complete_and_deadlines_are_computed_again(
    dpo_client, django_capture_on_commit_callbacks
):
    url = reverse("admin:facerights_calendaryear_enter")
    form = {"year": 2031, "source": "国务院办公厅通知（测试）", "text": NOTICE_2031}
    preview = dpo_client.post(url, {**form, "preview": "1"})
    page = preview.content.decode()
    assert preview.status_code == 200 and "2031年1月" in page and 'name="save"' in page
    assert not CalendarYear.objects.exists()  # a preview saves nothing
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        saved = dpo_client.post(url, {**form, "save": "1"})
    assert saved.status_code == 302
    year = CalendarYear.objects.get(year=2031)
    assert year.is_complete and CalendarDay.objects.filter(date__year=2031).count() == 11
    assert AuditEvent.objects.filter(action="calendar.year_entered").count() == 1
    assert len(callbacks) >= 2  # the cache cleared, and the deadlines computed again in the background


def test_a_wrong_line_in_the_form_comes_back_with_its_error(dpo_client):
    url = reverse("admin:facerights_calendaryear_enter")
    response = dpo_client.post(url, {"year": 2031, "source": "通知", "text": "workday 2031-01-20 调休", "preview": "1"})
    assert (
        response.status_code == 200 and "2031-01-20 是工作日：调休上班日应为周六或周日。" in response.content.decode()
    )


def test_the_repositorys_schedules_load_once_for_years_nobody_knows(tmp_path):
    schedule = tmp_path / "holiday_schedules.csv"
    schedule.write_text(
        "# test\ndate,kind,name,source\n2031-01-01,holiday,元旦,测试\n2031-01-19,workday,春节调休,测试\n",
        encoding="utf-8",
    )
    assert not year_is_covered(2031)
    assert schedules_load(actor="t", path=schedule) == [2031]
    assert year_is_covered(2031)
    assert schedules_load(actor="t", path=schedule) == []
