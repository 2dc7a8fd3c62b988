"""The front desk: a walk-in guest withdraws and deletes without a smartphone, and follows it with the slip."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from consent.models import ConsentRecord
from dataops.deletions.models import DeletionRequest
from dataops.desk.models import DeskClerk, DeskVisit
from dataops.requests.lookup import format_code, request_lookup_issue
from dataops.requests.models import Request
from dataops.requests.services import request_submit
from facerights.models import AuditEvent
from facerights.services import record_save
from facerights.sms import MemorySmsBackend
from tests import factories
from tests.reading import pdf_text

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}
PHONE = "13700137000"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def _clerk(entity, site=None) -> DeskClerk:
    user = factories.user_with_role("desk")
    return record_save(actor="test", instance=DeskClerk(user=user, entity=entity, site=site))


@pytest.fixture
def clerk(entity, site):
    return _clerk(entity, site)


@pytest.fixture
def desk(client, clerk):
    factories.staff_login(client, clerk.user)
    return client


@pytest.fixture
def guest(system):
    person = factories.subject(phone=PHONE, name="张秀英")
    factories.holding(person, system, key="ROOM-CARD-0042")
    return person


def _find_by_phone(desk, phone=PHONE):
    return desk.post(reverse("desk:home"), {"found_by": "phone", "phone": phone}, headers=EN)


def _verified_visit(desk) -> DeskVisit:
    response = _find_by_phone(desk)
    assert response.status_code == 302, response.content.decode()
    visit = DeskVisit.objects.latest("pk")
    desk.post(
        reverse("desk:identity", args=[visit.pk]),
        {"step": "document", "document_type": "resident_id", "last4": "123x"},
    )
    visit.refresh_from_db()
    assert visit.verified_at is not None
    return visit


def test_a_clerk_withdraws_a_walk_in_guests_consent_and_the_deletion_starts(desk, clerk, guest, system):
    visit = _verified_visit(desk)
    assert (visit.identity, visit.document_type, visit.document_last4) == ("document", "resident_id", "123X")
    page = desk.get(reverse("desk:visit", args=[visit.pk]), headers=EN).content.decode()
    assert "张秀英" in page and system.name_zh in page
    consent = ConsentRecord.objects.get(subject=guest, system=system)

    desk.post(reverse("desk:withdraw", args=[visit.pk, consent.pk]), headers=EN)

    consent.refresh_from_db()
    assert consent.state == "withdrawn"
    request = Request.objects.get(subject=guest, type="withdrawal")
    assert (request.channel, request.acted_by) == ("desk", "staff")
    deletion = DeletionRequest.objects.get(request=request)
    assert list(deletion.propagations.values_list("system_id", flat=True)) == [system.pk]
    actors = set(AuditEvent.objects.filter(action="request.received").values_list("actor", flat=True))
    assert actors == {f"user:{clerk.user_id}"}


def test_every_lookup_is_audited_and_no_audit_entry_holds_what_was_presented(desk, guest):
    _find_by_phone(desk)
    _find_by_phone(desk, phone="13911112222")  # nobody
    lookups = AuditEvent.objects.filter(action="desk.lookup").order_by("pk")
    assert [event.data["found"] for event in lookups] == [1, 0]
    everything = " ".join(str(event.data) for event in AuditEvent.objects.all())
    assert PHONE not in everything and "13911112222" not in everything


def test_a_person_is_found_by_a_cards_key_and_by_name_with_date_of_birth(desk, guest):
    response = desk.post(reverse("desk:home"), {"found_by": "system_key", "system_key": "ROOM-CARD-0042"})
    assert response.status_code == 302
    response = desk.post(
        reverse("desk:home"),
        {"found_by": "name_birth", "name": "张 秀英", "date_of_birth": factories.ADULT.isoformat()},
    )
    assert response.status_code == 302
    assert DeskVisit.objects.filter(subject=guest).count() == 2


def test_a_clerk_reaches_no_one_another_company_holds(client, guest, purpose):
    other_entity = factories.entity(name_zh="别家酒店有限公司")
    other_clerk = _clerk(other_entity)
    factories.staff_login(client, other_clerk.user)
    response = _find_by_phone(client)
    assert response.status_code == 200
    assert "No one this company holds facial data of matches" in response.content.decode()
    assert not DeskVisit.objects.exists()


def test_a_visit_is_the_clerks_own_and_acts_only_once_identity_is_checked(desk, clerk, guest, site, system):
    _find_by_phone(desk)
    visit = DeskVisit.objects.get()
    consent = ConsentRecord.objects.get(subject=guest)
    # Not yet checked: no acting for them.
    assert desk.post(reverse("desk:withdraw", args=[visit.pk, consent.pk])).status_code == 404
    # Another clerk of the same company cannot open it.
    colleague = Client()
    factories.staff_login(colleague, _clerk(clerk.entity, site).user)
    assert colleague.get(reverse("desk:visit", args=[visit.pk])).status_code == 404
    # Someone who is not a clerk meets nothing there.
    operator = Client()
    factories.staff_login(operator, factories.user_with_role("operator", is_staff=True))
    assert operator.get(reverse("desk:home")).status_code == 404
    consent.refresh_from_db()
    assert consent.state == "active"


def test_a_desk_account_needs_its_second_factor(client, clerk):
    client.force_login(clerk.user)
    response = client.get(reverse("desk:home"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_index")


def test_a_one_time_code_to_the_phone_on_record_checks_identity(desk, guest):
    _find_by_phone(desk)
    visit = DeskVisit.objects.get()
    desk.post(reverse("desk:identity", args=[visit.pk]), {"step": "send_code"})
    [(phone, text)] = MemorySmsBackend.outbox
    assert phone.endswith(PHONE)
    code = re.search(r"验证码：(\d{6})", text).group(1)
    wrong = "000000" if code != "000000" else "111111"
    desk.post(reverse("desk:identity", args=[visit.pk]), {"step": "check_code", "code": wrong})
    visit.refresh_from_db()
    assert visit.verified_at is None and visit.code_attempts == 1
    desk.post(reverse("desk:identity", args=[visit.pk]), {"step": "check_code", "code": code})
    visit.refresh_from_db()
    assert visit.identity == "sms_code" and visit.verified_at is not None


def test_a_deletion_at_the_desk_reaches_only_this_companys_systems(desk, clerk, guest, system, purpose):
    elsewhere = factories.active_system(entity=factories.entity(name_zh="别家酒店有限公司"), purpose=purpose)
    factories.holding(guest, elsewhere)
    visit = _verified_visit(desk)
    response = desk.post(reverse("desk:request", args=[visit.pk]), {"type": "deletion"}, headers=EN)
    assert response.status_code == 302
    request = Request.objects.get(subject=guest, type="deletion")
    deletion = DeletionRequest.objects.get(request=request)
    assert set(deletion.propagations.values_list("system_id", flat=True)) == {system.pk}


def test_a_request_without_what_it_needs_is_explained_and_nothing_is_made(desk, guest):
    visit = _verified_visit(desk)
    response = desk.post(reverse("desk:request", args=[visit.pk]), {"type": "complaint"}, headers=EN, follow=True)
    assert "Write down what the person asks" in response.content.decode()
    assert not Request.objects.filter(type="complaint").exists()


def test_the_receipt_gives_the_reference_deadline_and_a_code_that_follows_the_request(desk, guest, system):
    visit = _verified_visit(desk)
    consent = ConsentRecord.objects.get(subject=guest)
    desk.post(reverse("desk:withdraw", args=[visit.pk, consent.pk]))
    request = Request.objects.get(subject=guest)
    response = desk.post(reverse("desk:receipt", args=[visit.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert request.reference in text and "查询码" in text and "Lookup code" in text and "/lookup/" in text
    assert "张秀英" not in text and PHONE not in text
    # The code on the slip (two groups of five) follows the request without an account.
    code = next(word for word in text.split() if len(word) == 11 and word[5] == "-")
    anyone = Client()
    page = anyone.post(reverse("portal:lookup"), {"reference": request.reference, "code": code}, headers=EN)
    body = page.content.decode()
    assert page.status_code == 200 and "withdrawal of consent" in body and system.name_zh in body
    assert "张秀英" not in body and PHONE not in body


def test_a_wrong_code_reveals_nothing_and_guessing_is_limited_per_reference_from_any_address(guest, system):
    made = request_submit(actor="test", subject=guest, type="copy")
    code = request_lookup_issue(actor="test", request=made)
    anyone = Client()
    wrong = anyone.post(reverse("portal:lookup"), {"reference": made.reference, "code": "AAAAA-AAAAA"}, headers=EN)
    assert "do not match a request" in wrong.content.decode() and "a copy of my data" not in wrong.content.decode()
    for n in range(9):
        Client(REMOTE_ADDR=f"10.0.0.{n}").post(reverse("portal:lookup"), {"reference": made.reference, "code": "X"})
    # The right code now waits too: the reference has had its tries for the hour.
    late = Client(REMOTE_ADDR="10.9.9.9").post(
        reverse("portal:lookup"), {"reference": made.reference, "code": format_code(code)}, headers=EN
    )
    assert late.status_code == 429 and "a copy of my data" not in late.content.decode()


def test_the_dpo_sees_each_requests_channel_and_filters_by_it(desk, guest):
    dpo_client = Client()
    factories.staff_login(dpo_client, factories.user_with_role("dpo", is_staff=True))
    visit = _verified_visit(desk)
    desk.post(reverse("desk:request", args=[visit.pk]), {"type": "copy"})
    request_submit(actor="test", subject=guest, type="access")
    queue = reverse("admin:dataops_request_changelist")
    page = dpo_client.get(queue, {"channel__exact": "desk"}, headers=EN).content.decode()
    assert "at a front desk" in page
    desk_request = Request.objects.get(channel="desk")
    portal_request = Request.objects.get(channel="portal")
    assert desk_request.reference in page and portal_request.reference not in page
