"""A small phone (360 × 740), in both languages: what a person and a regulator see must fit and be tappable.

Measured in Debian's Chromium: the header takes at most a fifth of the screen, no navigation
word breaks across lines, nothing scrolls sideways (tables become cards), every button and
link can be tapped (at least 24 px, and nothing lies on top of it), and axe passes.
"""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from consent.models import ConsentRecord, ConsentSession, Purpose
from consent.services import Provenance, subject_link_user
from consent.sessions import consent_session_open
from consent.written import signed_consent_text
from dataops.deletions.intake import consent_withdrawal_submit
from dataops.filings.services import filing_review, filing_submit
from facerights.sms import MemorySmsBackend
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 360, 740

# Every visible link and button: big enough, and the topmost thing at its centre (a tap reaches it).
UNTAPPABLE = """() => [...document.querySelectorAll('a[href], button, input[type=submit]')]
  .filter(el => el.offsetParent !== null && !el.closest('.skip-link'))
  .map(el => {
    el.scrollIntoView({block: 'center'});
    const s = el.getBoundingClientRect();
    const box = el.getClientRects()[0] || s;  // a link wrapped over two lines: tap its first line
    const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    const reached = top !== null && (top === el || el.contains(top));
    // WCAG 2.5.8: a link inside a line of text may be as tall as the line; everything else is 24 px at least.
    const inline = el.tagName === 'A' && getComputedStyle(el).display === 'inline';
    const small = !inline && (s.height < 24 || s.width < 24);
    return (!reached || small) ? `${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${Math.round(s.width)}x${Math.round(s.height)} reached=${reached}` : null;
  })
  .filter(Boolean)"""

# A navigation entry that wraps: more than one line box, or content taller than one line.
BROKEN_NAV = """() => [...document.querySelectorAll('.site-header nav a, .site-header button')]
  .filter(el => {
    const style = getComputedStyle(el);
    const line = parseFloat(style.lineHeight) || 1.6 * parseFloat(style.fontSize);
    const content = el.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    return el.getClientRects().length > 1 || content > 1.5 * line;
  })
  .map(el => el.textContent.trim())"""


def _context(chromium, live_server, client: Client | None, locale: str):
    context = chromium.new_context(
        base_url=live_server.url, locale=locale, viewport={"width": WIDTH, "height": HEIGHT}, bypass_csp=True
    )
    if client is not None:
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return context


def _fits(page, axe, screenshot, name):
    screenshot(page, name)
    header = page.evaluate("() => document.querySelector('.site-header').getBoundingClientRect().height")
    assert header <= HEIGHT / 5, f"{name}: the header takes {header:.0f} px of {HEIGHT}"
    assert page.evaluate(BROKEN_NAV) == [], f"{name}: navigation words break"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name}: scrolls sideways ({width} px)"
    assert page.evaluate(UNTAPPABLE) == [], f"{name}: cannot be tapped"
    assert axe(page) == [], name


@pytest.fixture
def person(entity, site, purpose):
    systems = [
        factories.active_system(entity=entity, site=site, purpose=purpose, name_zh=zh, name_en=en)
        for zh, en in (("外滩店自助入住机", "Bund check-in kiosk"), ("外滩店门禁闸机", "Bund gates"))
    ]
    subject = factories.subject(phone="13912345678")
    held = [factories.holding(subject, system) for system in systems]
    deletion = consent_withdrawal_submit(
        actor="t", record=held[0].consent, provenance=Provenance(channel="portal", ip_prefix="203.0.113.0/24")
    )
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client = Client()
    client.force_login(user)
    return {"client": client, "deletion": deletion, "systems": systems}


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_persons_pages_fit_a_small_phone_and_every_button_can_be_tapped(
    chromium, live_server, axe, screenshot, person, locale
):
    context = _context(chromium, live_server, person["client"], locale)
    page = context.new_page()
    for path, name in (
        ("/", "home"),
        ("/me/", "dashboard"),
        ("/me/consents/", "consents"),
        ("/me/requests/", "requests"),
        ("/me/requests/new/", "request-new"),
        (f"/requests/{person['deletion'].reference}/", "deletion-status"),
        (f"/rules/{person['systems'][1].pk}/", "rules"),
        ("/verify/", "verify"),  # its "核对" button could not be tapped at 360 px
        ("/lookup/", "lookup"),
        ("/complaint/", "complaint"),
        ("/contact/", "contact"),
    ):
        page.goto(path)
        _fits(page, axe, screenshot, f"phone-{locale}-{name}")
    context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_regulators_filing_fits_a_small_phone(
    chromium, live_server, axe, screenshot, entity, system, subject, locale
):
    filing = factories.filed_filing(entity, system, subject)
    filing_review(actor="dpo", filing=filing)
    filing = filing_submit(actor="dpo", filing=filing, receipt_number="备-2026-0001")
    client = Client()
    factories.regulator_login(client, province=entity.province)
    context = _context(chromium, live_server, client, locale)
    page = context.new_page()
    page.goto("/regulator/")
    _fits(page, axe, screenshot, f"phone-{locale}-regulator")
    page.goto(f"/regulator/filings/{filing.number}/")
    _fits(page, axe, screenshot, f"phone-{locale}-regulator-filing")
    context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_consent_at_capture_on_a_phone_read_consent_or_say_no_and_see_the_alternative(
    chromium, live_server, axe, screenshot, entity, site, purpose, locale
):
    """Scan the device's QR code (its URL), read the notice, answer; a child is sent to a guardian."""
    english = locale == "en-US"
    system = factories.active_system(
        entity=entity, site=site, purpose=purpose, name_zh="大堂自助入住机", name_en="Lobby kiosk"
    )
    context = _context(chromium, live_server, None, locale)
    page = context.new_page()
    answers = {
        "consent": ("1990-05-17", "Your consent is recorded" if english else "您的同意已记录"),
        "decline": ("", "you will not be asked again" if english else "近期也不会再次询问您"),
        "child": (
            (timezone.localdate() - dt.timedelta(days=3650)).isoformat(),
            "parent or guardian" if english else "监护人同意",
        ),
    }
    tokens = {}
    for n, (answer, (born, said)) in enumerate(answers.items()):
        _session, page_token = tokens[answer] = consent_session_open(
            actor="t", system=system, purpose=purpose, subject_key=f"K-{n}", language="en" if english else "zh-hans"
        )
        page.goto(f"/c/{page_token}/")
        _fits(page, axe, screenshot, f"capture-{locale}-{answer}")
        assert page.locator("input[name=answer]:checked").count() == 0  # nothing chosen for the person
        if born:
            page.fill("input[name=date_of_birth]", born)
        page.locator(f"input[name=answer][value={'consent' if answer == 'child' else answer}]").check()
        page.get_by_role("button", name="Send my answer" if english else "提交我的回答").click()
        page.wait_for_load_state()
        assert said in page.content(), answer
        _fits(page, axe, screenshot, f"capture-{locale}-{answer}-done")
    states = set(ConsentSession.objects.filter(system=system).values_list("state", flat=True))
    assert states == {"consented", "declined", "guardian_needed"}

    # The receipt texted to the phone, and the consent withdrawn from its link with the code: no account.
    page.goto(f"/c/{tokens['consent'][1]}/")
    page.fill("input[name=phone]", "13800138999")
    page.get_by_role("button", name="Text me the receipt" if english else "短信发送回执").click()
    page.wait_for_load_state()
    link = re.search(r"/r/[^/\s]+/", MemorySmsBackend.outbox[-1][1])[0]
    page.goto(link)
    _fits(page, axe, screenshot, f"capture-{locale}-receipt-link")
    page.get_by_role("button", name="Text me a code" if english else "发送验证码").click()
    page.wait_for_load_state()
    code = re.search(r"验证码：(\d{6})", MemorySmsBackend.outbox[-1][1])[1]
    page.fill("input[name=code]", code)
    _fits(page, axe, screenshot, f"capture-{locale}-receipt-code")
    page.get_by_role("button", name="Withdraw consent" if english else "撤回同意").click()
    page.wait_for_load_state()
    assert ("The consent is withdrawn" if english else "已撤回同意") in page.content()
    record_id = ConsentSession.objects.get(system=system, state="consented").record_id
    assert ConsentRecord.objects.get(pk=record_id).state == ConsentRecord.State.WITHDRAWN

    # The child's page: their verified parent, beside them, consents with a code to their own phone.
    child_born = dt.date.fromisoformat(answers["child"][0])
    parent = factories.subject(phone="13700137000", date_of_birth=dt.date(1985, 6, 1))
    child = factories.ward_of(parent, date_of_birth=child_born)
    page.goto(f"/c/{tokens['child'][1]}/")
    page.fill("input[name=guardian-phone]", "13700137000")
    page.get_by_role("button", name="Text me a code" if english else "发送验证码").click()
    page.wait_for_load_state()
    page.fill("input[name=code]", re.search(r"验证码：(\d{6})", MemorySmsBackend.outbox[-1][1])[1])
    page.fill("input[name=child_date_of_birth]", child_born.isoformat())
    _fits(page, axe, screenshot, f"capture-{locale}-guardian-code")
    page.get_by_role("button", name="I consent for my child" if english else "我代孩子同意").click()
    page.wait_for_load_state()
    assert ("guardian's consent is recorded" if english else "监护人的同意已记录") in page.content()
    assert ConsentRecord.objects.get(subject=child).guardian == parent

    # A use the law requires written consent for, by a system that sends faces over the internet: the person
    # reads the text to sign, ticks the separate consent to the transmission and signs with their name.
    bank = factories.active_system(
        entity=entity,
        site=site,
        purpose=purpose,
        requires_written_consent=True,
        transmits=True,
        name_en="Account camera",
    )
    _session, page_token = consent_session_open(
        actor="t", system=bank, purpose=purpose, subject_key="K-W", language="en" if english else "zh-hans"
    )
    page.goto(f"/c/{page_token}/")
    page.fill("input[name=date_of_birth]", "1990-05-17")
    page.locator("input[name=answer][value=consent]").check()
    page.locator("input[name=transmission]").check()
    page.fill("input[name=signature_name]", "Li Lei" if english else "李雷")
    _fits(page, axe, screenshot, f"capture-{locale}-written")
    page.get_by_role("button", name="Send my answer" if english else "提交我的回答").click()
    page.wait_for_load_state()
    _fits(page, axe, screenshot, f"capture-{locale}-written-done")
    record = ConsentRecord.objects.exclude(purpose__code=Purpose.TRANSMISSION).get(system=bank)
    assert record.method == ConsentRecord.Method.WRITTEN
    transmission = ConsentRecord.objects.get(system=bank, purpose__code=Purpose.TRANSMISSION)
    assert transmission.state == "active" and transmission.artifact_sha256 == record.artifact_sha256
    assert signed_consent_text(transmission) == signed_consent_text(record)  # one signed text states both
    assert ("Li Lei" if english else "李雷") in signed_consent_text(record)
    context.close()
