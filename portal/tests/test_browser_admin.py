"""The DPO's admin in a real browser: axe on the pages a DPO works in, target size and links in text included."""

import pytest
from django.conf import settings
from django.test import Client

from dataops.deletions.intake import rights_request_submit
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("locale", "width"), [("zh-CN", 1280), ("en-US", 1280), ("zh-CN", 360)])
def test_the_admin_pages_a_dpo_works_in_pass_axe(
    chromium, live_server, axe, screenshot, system, subject, locale, width
):
    factories.holding(subject, system)
    request = rights_request_submit(actor="t", subject=subject, type="deletion")
    client = Client()
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    context = chromium.new_context(
        base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page = context.new_page()
    for path, name in (
        ("/admin/", "index"),
        ("/admin/dataops/request/", "requests"),
        (f"/admin/dataops/request/{request.pk}/change/", "request"),
        ("/admin/dataops/propagation/", "propagations"),
        ("/admin/dataops/processingsystem/", "systems"),
        (f"/admin/dataops/processingsystem/{system.pk}/change/", "system"),
        ("/admin/compliance/", "compliance"),
    ):
        response = page.goto(path)
        assert response.status == 200, path
        screenshot(page, f"admin-{locale}-{width}-{name}")
        assert axe(page) == [], f"{name}: {axe(page)}"
    context.close()
