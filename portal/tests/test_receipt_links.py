"""A receipt's link: the receipt again, and withdrawal without an account by a code to the phone given."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentRecord, ReceiptContact
from consent.receipt_links import receipt_link_url
from consent.services import Provenance
from consent.sessions import consent_session_answer, consent_session_open
from dataops.models import DeletionRequest
from facerights.models import AuditEvent
from facerights.sms import MemorySmsBackend
from tests import factories

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _consented_at_a_device(system, purpose, key="ROOM-9"):
    session, token = consent_session_open(actor="t", system=system, purpose=purpose, subject_key=key, language="en")
    session = consent_session_answer(
        session=session,
        answer="consent",
        date_of_birth=dt.date(1980, 1, 1),
        notice_version=system.notices.get().version,
        provenance=Provenance(channel="device"),
    )
    return session, token


def _link_in(text: str) -> str:
    return re.search(r"https?://\S+/r/[^/\s]+/", text)[0]


def _path(url: str) -> str:
    return "/r/" + url.split("/r/", 1)[1]


def test_a_guest_texts_themselves_the_receipt_and_later_withdraws_with_a_code_and_no_account(client, system, purpose):
    session, token = _consented_at_a_device(system, purpose)
    factories.holding(session.subject, system, key="ROOM-9", consent=session.record)  # the device enrolled them
    page = client.get(reverse("portal:consent_session", args=[token]), **EN).content.decode()
    assert "Text me the receipt" in page
    response = client.post(
        reverse("portal:consent_session_receipt_send", args=[token]), {"phone": "138 0013 8999"}, follow=True, **EN
    )
    assert "Sent." in response.content.decode()
    [(phone, text)] = MemorySmsBackend.outbox
    assert phone == "+8613800138999" and "同意回执及撤回同意" in text
    link = _path(_link_in(text))

    # Days later, on their phone: the receipt, and the way to withdraw.
    page = client.get(link, **EN).content.decode()
    assert "given" in page and "+86138****8999" in page
    receipt = json.loads(client.get(link + "receipt.json").content)
    assert _path(receipt["withdrawal_method"]["url"]) == link  # the receipt names this page as how to withdraw

    page = client.post(link, {"action": "send_code"}, **EN).content.decode()
    assert "We texted a code to +86138****8999" in page
    (_, code_text) = MemorySmsBackend.outbox[-1]
    code = re.search(r"验证码：(\d{6})", code_text)[1]
    wrong = "000000" if code != "000000" else "111111"
    page = client.post(link, {"action": "withdraw", "code": wrong}, **EN).content.decode()
    assert "The code does not match." in page
    assert ConsentRecord.objects.get(pk=session.record_id).state == ConsentRecord.State.ACTIVE

    response = client.post(link, {"action": "withdraw", "code": code}, follow=True, **EN)
    assert "The consent is withdrawn." in response.content.decode()
    record = ConsentRecord.objects.get(pk=session.record_id)
    assert record.state == ConsentRecord.State.WITHDRAWN
    # The deletion it calls for is open, to the system that enrolled them.
    assert DeletionRequest.objects.get(subject=record.subject).propagations.get().system == system
    assert json.loads(client.get(link + "receipt.json").content)["state"] == "withdrawn"
    # The number is kept only encrypted, and never in the audit log.
    assert "8999" not in str(list(AuditEvent.objects.values_list("data", flat=True)))
    assert b"8613800138999" not in bytes(ReceiptContact.objects.get().phone_ciphertext)


def test_the_link_alone_withdraws_nothing_without_a_phone_on_record(client, system, purpose):
    session, _token = _consented_at_a_device(system, purpose)
    link = _path(receipt_link_url(session.record))
    page = client.get(link, **EN).content.decode()
    assert "No phone number was given for this receipt" in page and 'name="code"' not in page
    page = client.post(link, {"action": "send_code"}, **EN).content.decode()
    assert "No phone number was given for this consent." in page
    client.post(link, {"action": "withdraw", "code": "123456"}, **EN)
    assert ConsentRecord.objects.get(pk=session.record_id).state == ConsentRecord.State.ACTIVE
    assert MemorySmsBackend.outbox == []


def test_codes_run_out_after_five_wrong_tries_and_after_ten_minutes(client, system, purpose, settings):
    session, token = _consented_at_a_device(system, purpose)
    client.post(reverse("portal:consent_session_receipt_send", args=[token]), {"phone": "13800138999"})
    link = _path(receipt_link_url(session.record))
    client.post(link, {"action": "send_code"})
    code = re.search(r"验证码：(\d{6})", MemorySmsBackend.outbox[-1][1])[1]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post(link, {"action": "withdraw", "code": wrong})
    page = client.post(link, {"action": "withdraw", "code": code}, **EN).content.decode()
    assert "This code can no longer be used" in page
    assert ConsentRecord.objects.get(pk=session.record_id).state == ConsentRecord.State.ACTIVE

    client.post(link, {"action": "send_code"})
    code = re.search(r"验证码：(\d{6})", MemorySmsBackend.outbox[-1][1])[1]
    ReceiptContact.objects.update(code_sent_at=ReceiptContact.objects.get().code_sent_at - dt.timedelta(minutes=11))
    page = client.post(link, {"action": "withdraw", "code": code}, **EN).content.decode()
    assert "This code can no longer be used" in page
    assert ConsentRecord.objects.get(pk=session.record_id).state == ConsentRecord.State.ACTIVE


def test_a_bad_number_gets_a_clear_error_and_nothing_is_kept_or_sent(client, system, purpose):
    _session, token = _consented_at_a_device(system, purpose)
    response = client.post(
        reverse("portal:consent_session_receipt_send", args=[token]), {"phone": "12345"}, follow=True, **EN
    )
    assert "Enter a phone number" in response.content.decode()
    assert not ReceiptContact.objects.exists() and MemorySmsBackend.outbox == []


def test_a_receipt_is_texted_at_most_five_times_for_one_consent(client, system, purpose):
    _session, token = _consented_at_a_device(system, purpose)
    for _ in range(5):
        client.post(reverse("portal:consent_session_receipt_send", args=[token]), {"phone": "13800138999"})
    response = client.post(
        reverse("portal:consent_session_receipt_send", args=[token]), {"phone": "13800138999"}, follow=True, **EN
    )
    assert "sent too many times" in response.content.decode() and len(MemorySmsBackend.outbox) == 5


def test_only_a_consent_given_on_the_page_can_be_texted_and_a_forged_link_is_not_found(client, system, purpose):
    session, token = consent_session_open(actor="t", system=system, purpose=purpose, subject_key="ROOM-10")
    response = client.post(reverse("portal:consent_session_receipt_send", args=[token]), {"phone": "13800138999"})
    assert response.status_code == 404 and MemorySmsBackend.outbox == []
    record = factories.consent(factories.subject(), system)
    link = _path(receipt_link_url(record))
    assert client.get(link[:-3] + "xx/").status_code == 404
    assert client.get(link.replace(link.split("/")[2], "bm90LW91cnM")).status_code == 404


def test_the_first_number_stays_and_the_page_stops_texting_half_an_hour_after_the_answer(client, system, purpose):
    # Whoever else holds the page's address (the device, a photo of the QR code, the next guest at a shared
    # tablet) must not swap in their own number and so gain the power to withdraw.
    session, token = _consented_at_a_device(system, purpose)
    send = reverse("portal:consent_session_receipt_send", args=[token])
    client.post(send, {"phone": "13800138999"})
    response = client.post(send, {"phone": "13900139111"}, follow=True, **EN)
    assert "A number is already on record for this receipt" in response.content.decode()
    client.post(send, {"phone": "13800138999"})  # the same number again: sent again
    assert [phone for phone, _text in MemorySmsBackend.outbox] == ["+8613800138999", "+8613800138999"]
    session.__class__.objects.filter(pk=session.pk).update(answered_at=timezone.now() - dt.timedelta(minutes=31))
    response = client.post(send, {"phone": "13800138999"}, follow=True, **EN)
    assert "no longer sends receipts" in response.content.decode() and len(MemorySmsBackend.outbox) == 2


def test_after_twenty_wrong_codes_the_link_withdraws_no_more(client, system, purpose):
    session, token = _consented_at_a_device(system, purpose)
    client.post(reverse("portal:consent_session_receipt_send", args=[token]), {"phone": "13800138999"})
    link = _path(receipt_link_url(session.record))
    for _round in range(4):  # four codes, five wrong tries each
        client.post(link, {"action": "send_code"})
        code = re.search(r"验证码：(\d{6})", MemorySmsBackend.outbox[-1][1])[1]
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            client.post(link, {"action": "withdraw", "code": wrong})
    page = client.post(link, {"action": "send_code"}, **EN).content.decode()
    assert "Too many wrong codes for this consent" in page
    assert ConsentRecord.objects.get(pk=session.record_id).state == ConsentRecord.State.ACTIVE
