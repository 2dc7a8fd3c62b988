"""The dashboard is cheap (issue 20) and still shows what is true at once: the registry cache is never stale."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consent.services import subject_link_user
from dataops.deletions.intake import consent_withdrawal_submit
from dataops.registry.services import system_save
from facerights.services import record_save
from tests import factories

pytestmark = pytest.mark.django_db

ENGLISH = {"Accept-Language": "en"}
PROVENANCE = factories.Provenance(channel="portal", ip_prefix="203.0.113.0/24")


@pytest.fixture
def me(client, subject):
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    return user


def page(client, *, url=None, headers=None) -> str:
    response = client.get(url or reverse("portal:dashboard"), headers=headers or {})
    assert response.status_code == 200
    return response.content.decode()


def test_the_dashboard_takes_eight_statements_whatever_it_shows(client, me, subject, entity, site, purpose):
    """Session, user, the user again with their records and roles, holdings with consents and notices, deletions
    with the open ones counted, requests, wards, security notices; the systems come from the registry cache."""
    systems = [factories.active_system(entity=entity, site=site if n % 2 else None, purpose=purpose) for n in range(4)]
    holdings = [factories.holding(subject, system) for system in systems]
    consent_withdrawal_submit(actor="t", record=holdings[0].consent, provenance=PROVENANCE)
    factories.ward_of(subject)
    page(client)  # the registry cache is filled: two statements more (the systems, their purposes) when it is not
    with CaptureQueriesContext(connection) as statements:
        body = page(client)
    assert body.count('class="holding"') == 4 and "王小宝" in body
    assert len(statements) == 8, [query["sql"][:80] for query in statements.captured_queries]


def test_the_cache_is_filled_once_and_only_for_the_systems_shown(client, me, subject, system):
    factories.holding(subject, system)
    with CaptureQueriesContext(connection) as cold:
        page(client)
    with CaptureQueriesContext(connection) as warm:
        page(client)
    assert len(cold) == len(warm) + 2


def test_a_renamed_system_site_and_operator_show_at_once_in_both_languages(client, me, subject, system):
    factories.holding(subject, system)
    assert system.name_zh in page(client) and system.name_zh in page(client, headers=ENGLISH)  # cached now
    system.name_zh, system.name_en = "新闸机", "New gate"
    system_save(actor="t", system=system)
    system.site.name_zh, system.site.name_en = "新门店", "New shop"
    record_save(actor="t", instance=system.site)
    system.entity.name_zh, system.entity.name_en = "新公司", "New Company"
    record_save(actor="t", instance=system.entity)
    chinese, english = page(client), page(client, headers=ENGLISH)
    assert all(name in chinese for name in ("<h3>新闸机</h3>", "<h2>新门店</h2>", "<dd>新公司</dd>"))
    assert all(name in english for name in ("<h3>New gate</h3>", "<h2>New shop</h2>", "<dd>New Company</dd>"))


def test_a_changed_purpose_storage_and_retention_reason_show_at_once(client, me, subject, system, purpose):
    factories.holding(subject, system)
    assert "<dd>Access control</dd>" in page(client, headers=ENGLISH)
    purpose.name_en = "Entry to the building"
    record_save(actor="t", instance=purpose)
    assert "<dd>Entry to the building</dd>" in page(client, headers=ENGLISH)
    system.storage_location = "server"
    system.retention_justification_en = "Kept while you are a member"
    system_save(actor="t", system=system, purposes=[purpose, factories.purpose()])
    english = page(client, headers=ENGLISH)
    assert "<dd>on the company&#x27;s server</dd>" in english
    assert "why: Kept while you are a member" in english
    assert "<dd>Entry to the building, Access control</dd>" in english


def test_a_system_with_no_english_name_is_shown_in_chinese_on_the_english_page(client, me, subject, system):
    factories.holding(subject, system)
    assert f"<h3>{system.name_zh}</h3>" in page(client, headers=ENGLISH)


def test_the_summary_counts_every_open_deletion_and_only_the_open_ones(client, me, subject, entity, purpose):
    systems = [factories.active_system(entity=entity, purpose=purpose) for _n in range(3)]
    holdings = [factories.holding(subject, system) for system in systems]
    assert "deletion" not in page(client, headers=ENGLISH).split('class="summary"')[1].split("</p>")[0]
    for holding in holdings[:2]:
        consent_withdrawal_submit(actor="t", record=holding.consent, provenance=PROVENANCE)
    summary = page(client, headers=ENGLISH).split('class="summary"')[1].split("</p>")[0]
    assert "2 deletions in progress" in summary


def test_a_guardian_sees_the_childs_holdings_and_a_stranger_gets_404(client, me, subject, system):
    child = factories.ward_of(subject)
    record = factories.consent(child, system, method="guardian", guardian=subject)
    factories.holding(child, system, consent=record)
    url = reverse("portal:ward_dashboard", args=[child.uuid])
    body = page(client, url=url, headers=ENGLISH)
    assert f"<h3>{system.name_zh}</h3>" in body and "Your consent as the child's guardian" in body
    stranger = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=factories.subject(phone="13700137000"), user=stranger)
    client.force_login(stranger)
    assert client.get(url).status_code == 404
