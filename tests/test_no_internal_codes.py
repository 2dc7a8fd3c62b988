"""No stored code reaches a reader: every portal page a person sees, their deletion certificate and their receipt.

The codes are not a hand-written list: `tests.reading.stored_codes` takes every choice value of
every model of FaceRights' own apps, so a new state or type is checked the day it is added. In
Chinese any of them is a failure; in English, those no English word is spelt as (they have an
underscore). A page is read as a person reads it: its text, not its attributes or scripts.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.services import Provenance
from dataops.deletions.certificates import certificate_pdf
from dataops.deletions.intake import consent_withdrawal_submit, rights_request_submit
from dataops.deletions.propagations import propagation_confirm, propagation_escalate
from dataops.requests.lookup import format_code, request_lookup_issue
from dataops.requests.receipts import receipt_pdf
from dataops.requests.services import request_refuse
from tests import factories
from tests.reading import pdf_text, raw_codes, stored_codes

pytestmark = pytest.mark.django_db

LANGUAGES = {"zh": "zh-hans", "en": "en"}


class _Text(HTMLParser):
    """The text a person reads on a page: no attribute, no script, no style."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    reader = _Text()
    reader.feed(html)
    return " ".join(reader.parts)


@pytest.fixture
def world(client, entity, site, system, purpose, subject):
    """A person with something in every state a page shows: consents, a deletion late at one system and
    done at another, a restriction, a refused request, a completed one."""
    other = factories.active_system(entity=entity, site=site, purpose=purpose)
    third = factories.active_system(entity=entity, purpose=purpose)
    held = factories.holding(subject, system, key="W-1")
    factories.holding(subject, other, key="W-2")
    factories.holding(subject, third, key="W-3")
    factories.subject_login(client, subject)
    deletion = consent_withdrawal_submit(
        actor="t", record=held.consent, provenance=Provenance(channel="portal", ip_prefix="203.0.113.0/24")
    )
    propagation_escalate(actor="t", propagation=deletion.propagations.get(), reason="past_deadline")
    restriction = rights_request_submit(actor="t", subject=subject, type="restriction", system=third)
    refused = rights_request_submit(actor="t", subject=subject, type="access")
    request_refuse(actor="t", request=refused, reason_code="identity_unverified", text="请携带身份证件到前台。")
    copy = rights_request_submit(actor="t", subject=subject, type="copy")
    finished = rights_request_submit(actor="t", subject=subject, type="deletion", system=other)
    finished_deletion = finished.deletion_requests.get()
    propagation_confirm(
        actor="t", propagation=finished_deletion.propagations.get(), outcome="deleted", evidence={"n": 1}
    )
    return {
        "requests": [restriction, refused, copy, finished],
        "deletions": [deletion, finished_deletion, restriction.deletion_requests.get()],
        "certificate": finished_deletion,
        "systems": [system, other, third],
    }


def _pages(world) -> list[str]:
    urls = [
        reverse("portal:home"),
        reverse("portal:dashboard"),
        reverse("portal:consent_history"),
        reverse("portal:requests"),
        reverse("portal:request_new"),
        reverse("portal:contact"),
        reverse("portal:privacy"),
        reverse("portal:my_notices"),
    ]
    urls += [reverse("portal:request_detail", args=[r.reference]) for r in world["requests"]]
    urls += [reverse("portal:deletion_status", args=[d.reference]) for d in world["deletions"]]
    urls += [reverse("portal:processing_rules", args=[s.pk]) for s in world["systems"]]
    return urls


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_page_a_person_reads_shows_a_stored_code(client, world, lang):
    assert {"deletion_pending", "consent_withdrawn", "subject_request"} <= stored_codes()  # the list is real
    for url in _pages(world):
        response = client.get(url, headers={"Accept-Language": LANGUAGES[lang]})
        assert response.status_code == 200, url
        found = raw_codes(page_text(response.content.decode()), lang)
        assert found == set(), (url, found)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_lookup_page_shows_no_stored_code(client, world, lang):
    request = world["requests"][0]
    code = request_lookup_issue(actor="t", request=request)
    client.logout()
    response = client.post(
        reverse("portal:lookup"),
        {"reference": request.reference, "code": format_code(code)},
        headers={"Accept-Language": LANGUAGES[lang]},
    )
    text = page_text(response.content.decode())
    assert request.reference in text
    assert raw_codes(text, lang) == set()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_certificate_and_the_receipt_show_no_stored_code(world, entity, lang):
    certificate = pdf_text(certificate_pdf(world["certificate"], language=LANGUAGES[lang]))
    assert world["certificate"].reference in certificate
    assert raw_codes(certificate, lang) == set(), raw_codes(certificate, lang)
    receipt = pdf_text(
        receipt_pdf(actor="t", requests=world["requests"], entity=entity, printed_on=timezone.localdate())
    )
    # The receipt prints both languages on one slip: English words ("deletion") stand beside the Chinese, so
    # the English rule applies to it all (the labels come from the same place as the pages').
    assert raw_codes(receipt, "en") == set(), raw_codes(receipt, "en")


def test_a_planted_code_is_caught():
    assert raw_codes("状态：deletion_pending", "zh") == {"deletion_pending"}
    assert raw_codes("State: deletion_pending", "en") == {"deletion_pending"}
    assert raw_codes("State: deleted, sent", "en") == set()  # English words, not codes


def test_an_english_page_names_things_in_english_wherever_a_translation_exists(client, world, entity, site):
    from dataops.registry.models import LegalEntity, ProcessingSystem, Site

    LegalEntity.objects.filter(pk=entity.pk).update(name_en="West Lake Hotels Ltd")
    Site.objects.filter(pk=site.pk).update(name_en="West Lake branch")
    for n, system in enumerate(world["systems"]):
        ProcessingSystem.objects.filter(pk=system.pk).update(
            name_en=f"Gate {n}", retention_justification_en="The shortest time needed"
        )
    chinese = {entity.name_zh, site.name_zh, "最短必要期限", *(s.name_zh for s in world["systems"])}
    for url in _pages(world):
        text = page_text(client.get(url, headers={"Accept-Language": "en"}).content.decode())
        assert {name for name in chinese if name in text} == set(), url
