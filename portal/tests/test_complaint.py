"""A complaint without an account (R29), and the contact page that lists every way to reach the company."""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.core.cache import cache
from django.urls import reverse

from consent.models import DataSubject
from dataops.desk.models import DeskClerk
from dataops.requests.models import Request
from facerights.services import record_save
from portal.views.complaint import SALT
from tests import factories

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}
TEXT = "The camera at the east gate films the pavement and the bus stop."


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def _form(entity, *, seconds_ago=10, **extra):
    return {
        "entity": entity.pk,
        "text": TEXT,
        "contact": "",
        "website": "",
        "started": signing.dumps(int(time.time()) - seconds_ago, salt=SALT),
        **extra,
    }


def test_anyone_complains_without_an_account_and_follows_it_with_the_code(client, entity, subject):
    page = client.post(reverse("portal:complaint"), _form(entity, contact="13800138000"), headers=EN)
    body = page.content.decode()
    request = Request.objects.get(type="complaint")
    assert (request.channel, request.entity) == ("web_form", entity)
    # Never filed under the person whose phone was typed: the complainant is a record of their own.
    assert request.subject != subject and DataSubject.objects.count() == 2
    assert request.reference in body
    code = re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}", body).group(0)
    status = client.post(reverse("portal:lookup"), {"reference": request.reference, "code": code}, headers=EN)
    assert "complaint" in status.content.decode() and "received" in status.content.decode()


def test_a_form_filled_by_a_machine_is_refused_and_a_persons_text_is_kept(client, entity):
    trapped = client.post(reverse("portal:complaint"), _form(entity, website="http://spam.example"), headers=EN)
    too_fast = client.post(reverse("portal:complaint"), _form(entity, seconds_ago=0), headers=EN)
    forged = client.post(reverse("portal:complaint"), _form(entity, started="12345"), headers=EN)
    assert trapped.status_code == too_fast.status_code == forged.status_code == 400
    assert TEXT in too_fast.content.decode()  # nothing the person wrote is lost
    assert not Request.objects.exists()


def test_complaints_from_one_address_are_limited(client, entity):
    for _ in range(3):
        assert client.post(reverse("portal:complaint"), _form(entity), headers=EN).status_code == 200
    limited = client.post(reverse("portal:complaint"), _form(entity), headers=EN)
    assert limited.status_code == 429 and "Too many complaints" in limited.content.decode()
    assert Request.objects.count() == 3


def test_a_complaint_too_short_is_explained(client, entity):
    page = client.post(reverse("portal:complaint"), _form(entity, text="bad"), headers=EN)
    assert page.status_code == 200 and "at least 10 characters" in page.content.decode()
    assert not Request.objects.exists()


def test_the_contact_page_lists_every_way_in_including_each_desk(client, entity, site):
    record_save(actor="t", instance=DeskClerk(user=factories.user_with_role("desk"), entity=entity, site=site))
    page = client.get(reverse("portal:contact"), headers=EN).content.decode()
    assert site.address in page and "front desk" in page
    assert reverse("portal:complaint") in page and reverse("portal:lookup") in page
    assert entity.dpo_email in page


def test_each_systems_rules_page_lists_the_ways_to_use_ones_rights(client, entity, site, system):
    record_save(actor="t", instance=DeskClerk(user=factories.user_with_role("desk"), entity=entity, site=site))
    page = client.get(reverse("portal:processing_rules", args=[system.pk]), headers=EN).content.decode()
    assert "Ways to use your rights" in page and site.address in page and entity.dpo_email in page
    assert reverse("portal:complaint") in page


def test_every_page_links_the_portals_own_privacy_notice(client, entity):
    for name in ("portal:home", "portal:contact", "portal:complaint"):
        assert reverse("portal:privacy") in client.get(reverse(name)).content.decode()
    page = client.get(reverse("portal:privacy"), headers=EN).content.decode()
    assert "holds no face image or template" in page and "destroyed when the review ends" in page
    assert entity.dpo_email in page
