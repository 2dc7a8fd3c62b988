"""Journeys in a real browser (Debian's Chromium, Playwright), with axe-core on every page.

Screenshots go to test-artifacts/screenshots/.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.test import Client

from consent.linking import enrolment_code_issue
from consent.services import subject_link_user
from dataops.deletions.propagations import propagation_confirm
from dataops.desk.models import DeskClerk
from dataops.incidents.models import Incident
from dataops.incidents.notices import notice_approve, notice_draft, notice_save, notice_send
from dataops.incidents.services import incident_save
from dataops.models import DeletionRequest
from facerights.services import record_save
from tests import factories
from tests.reading import pdf_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def enrolled():
    """A person enrolled at two systems, not yet with an account, and the code printed at enrolment."""
    entity, purpose = factories.entity(), factories.purpose()
    site = factories.site(entity, name_zh="上海外滩店", name_en="Shanghai Bund hotel")
    systems = [
        factories.active_system(entity=entity, site=site, purpose=purpose, name_zh=name, name_en=en)
        for name, en in (("外滩店自助入住机", "Bund check-in kiosk"), ("外滩店门禁闸机", "Bund gates"))
    ]
    subject = factories.subject(phone="13912345678", date_of_birth=dt.date(1988, 3, 3))
    for system in systems:
        factories.holding(subject, system)
    return {"subject": subject, "systems": systems, "code": enrolment_code_issue(actor="test", subject=subject)}


def _checked(page, axe, screenshot, name):
    screenshot(page, name)
    violations = axe(page)
    assert violations == [], f"{name}: {violations}"


def _journey(page, axe, screenshot, enrolled, *, english: bool):
    page.goto("/")
    if english:
        page.get_by_role("button", name="English").click()
    _checked(page, axe, screenshot, "home")
    page.goto("/accounts/signup/")
    _checked(page, axe, screenshot, "signup")
    page.fill("input[name=email]", "new.person@example.com")
    page.locator("form").filter(has=page.locator("input[name=email]")).locator("button[type=submit]").click()
    page.wait_for_url("**/accounts/confirm-email/")
    _checked(page, axe, screenshot, "signup-code")
    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", mail.outbox[-1].body).group(1)
    page.fill("input[name=code]", code)
    page.locator("form").filter(has=page.locator("input[name=code]")).locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto("/me/")
    _checked(page, axe, screenshot, "unlinked")
    page.goto("/me/link/")
    _checked(page, axe, screenshot, "link")
    page.fill("input[name=code]", enrolled["code"])
    page.get_by_role("button", name="Link with this code" if english else "用此代码关联").click()
    page.wait_for_url("**/me/")
    body = page.content()
    assert enrolled["systems"][0].name_en in body if english else enrolled["systems"][0].name_zh in body
    _checked(page, axe, screenshot, "dashboard")
    page.get_by_role("link", name="Withdraw consent" if english else "撤回同意").first.click()
    _checked(page, axe, screenshot, "withdraw")
    page.get_by_role("button", name="Confirm withdrawal" if english else "确认撤回").click()
    page.wait_for_url(re.compile(r".*/requests/[A-Z0-9]{10}/$"))
    _checked(page, axe, screenshot, "deletion-status")
    assert DeletionRequest.objects.filter(subject=enrolled["subject"]).count() == 1
    return page


def test_sign_up_link_see_withdraw_in_chinese_then_switch_to_english(page, axe, screenshot, enrolled):
    _journey(page, axe, screenshot, enrolled, english=False)
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Deletion" in page.content()
    page.goto("/me/")
    assert page.locator("html").get_attribute("lang") == "en"  # the choice is remembered


def test_the_same_journey_in_english(page, axe, screenshot, enrolled):
    _journey(page, axe, screenshot, enrolled, english=True)
    assert page.locator("html").get_attribute("lang") == "en"


def test_the_public_pages_pass_axe_on_a_small_phone(chromium, live_server, axe, screenshot, enrolled):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 360, "height": 740}, bypass_csp=True)
    page = context.new_page()
    for path, name in (
        ("/", "home"),
        (f"/rules/{enrolled['systems'][0].pk}/", "rules"),
        ("/rules/children/", "children"),
        ("/contact/", "contact"),
        ("/complaint/", "complaint"),
        ("/lookup/", "lookup"),
        ("/privacy/", "privacy"),
        ("/accounts/login/", "login"),
    ):
        page.goto(path)
        _checked(page, axe, screenshot, f"phone-{name}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"{name} scrolls sideways at 360 px ({width})"
    context.close()


def test_security_notices_read_well_and_pass_axe_at_both_widths(chromium, live_server, axe, screenshot, enrolled):
    """A person told of an incident: the banner, their notices and the public page, in both languages."""
    system = enrolled["systems"][0]
    incident = incident_save(
        actor="test",
        incident=Incident(
            entity=system.entity,
            summary="A copy of the gate templates was taken.",
            discovered_at=dt.datetime.now(dt.UTC),  # after the enrolments: they were exposed
            grade="larger",
            data_kinds=["templates"],
            cause="运维笔记本电脑丢失。",
            measures="已远程擦除。",
        ),
        systems=[system],
    )
    notice = notice_draft(actor="test", incident=incident)
    notice.cause_en, notice.remedies_en = "A maintenance laptop was lost.", "It was wiped remotely."
    notice = notice_approve(actor="dpo:1", notice=notice_save(actor="test", notice=notice))
    notice_send(actor="dpo:1", notice=notice)
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="test", subject=enrolled["subject"], user=user)
    store = SessionStore()
    store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    for width, locale in ((1280, "zh-CN"), (360, "en-US")):
        context = chromium.new_context(
            base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
        )
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": live_server.url}]
        )
        page = context.new_page()
        for path, name in (
            ("/me/", "dashboard"),
            ("/me/notices/", "notices"),
            (f"/notices/{notice.reference}/", "notice"),
            ("/notices/", "announcements"),
        ):
            page.goto(path)
            _checked(page, axe, screenshot, f"incident-{name}-{width}")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width, f"{name} at {width} px"
        page.goto("/me/")
        assert ("安全通知" if locale == "zh-CN" else "Security notices") in page.content()
        context.close()


@pytest.mark.parametrize(("locale", "width"), [("zh-CN", 1280), ("en-US", 360)])
def test_a_desk_clerk_withdraws_for_a_walk_in_guest_who_follows_it_with_the_slip(
    chromium, live_server, axe, screenshot, enrolled, locale, width
):
    """The front desk and the lookup page, in both languages: no account, no smartphone, no face."""
    english = locale == "en-US"
    system = enrolled["systems"][0]
    clerk = factories.user_with_role("desk")
    record_save(actor="test", instance=DeskClerk(user=clerk, entity=system.entity, site=system.site))
    signed_in = Client()
    factories.staff_login(signed_in, clerk)  # a desk signs in with its second factor, as staff do
    context = chromium.new_context(
        base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": signed_in.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.goto("/desk/")
    _checked(page, axe, screenshot, f"desk-find-{width}")
    page.check("input[name=found_by][value=phone]")
    page.fill("input[name=phone]", "13912345678")
    page.get_by_role("button", name="Find" if english else "查找").click()
    page.wait_for_url(re.compile(r".*/desk/visits/\d+/$"))
    _checked(page, axe, screenshot, f"desk-identity-{width}")
    page.select_option("select[name=document_type]", "resident_id")
    page.fill("input[name=last4]", "5678")
    page.get_by_role("button", name="The document matches" if english else "证件相符").click()
    page.wait_for_load_state()
    _checked(page, axe, screenshot, f"desk-visit-{width}")
    page.get_by_role("button", name="Withdraw and delete" if english else "撤回并删除").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Print the receipt" if english else "打印回执").count() == 1
    _checked(page, axe, screenshot, f"desk-withdrawn-{width}")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    # Print the slip (the form opens the PDF in a new tab; here it is fetched with the page's own cookies).
    form = page.locator("form[action$='receipt.pdf']")
    receipt = page.request.post(
        form.get_attribute("action"),
        form={"csrfmiddlewaretoken": form.locator("input[name=csrfmiddlewaretoken]").get_attribute("value")},
    )
    assert receipt.headers["content-type"] == "application/pdf"
    slip = pdf_text(receipt.body())
    reference = re.search(r"\b[2-9A-HJ-NP-Z]{10}\b", slip).group(0)
    code = re.search(r"\b[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}\b", slip).group(0)
    context.close()

    # The guest, or a relative they give the slip to: no account.
    guest = chromium.new_context(
        base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    page = guest.new_page()
    page.goto("/lookup/")
    _checked(page, axe, screenshot, f"lookup-{width}")

    def follow():
        page.goto("/lookup/")
        page.fill("input[name=reference]", reference)
        page.fill("input[name=code]", code)
        page.get_by_role("button", name="Show the status" if english else "查看状态").click()
        page.wait_for_load_state()

    follow()
    assert reference in page.content() and (system.name_en if english else system.name_zh) in page.content()
    _checked(page, axe, screenshot, f"lookup-status-{width}")
    deletion = DeletionRequest.objects.get(subject=enrolled["subject"])
    for propagation in deletion.propagations.all():
        propagation_confirm(actor="test", propagation=propagation, outcome="deleted", evidence={"deleted": 1})
    follow()
    with page.expect_download() as download:
        page.get_by_role(
            "button", name="Download the deletion certificate (PDF)" if english else "下载删除证明（PDF）"
        ).click()
    assert deletion.reference in pdf_text(Path(download.value.path()).read_bytes())
    guest.close()
