"""Consent where the face is captured: the device opens a session, the person answers on FaceRights' page, and the
enrolment report carries the single-use token of their consent (consent/sessions.py, dataops/api.py)."""

import datetime as dt
import hashlib
import html
import re
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentRecord, ConsentSession, Purpose
from consent.services import Provenance, consent_withdraw
from consent.written import signed_consent_text
from dataops.models import Holding
from dataops.registry.models import ProcessingSystem
from tests import factories

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _purpose(system):
    return system.purposes.exclude(code=Purpose.TRANSMISSION).first().code  # the one a session asks for


def _open(client, system, token, key="GUEST-1"):
    code = _purpose(system)
    response = client.post(
        "/api/v1/consent-sessions",
        {"purpose": code, "subject_key": key, "language": "en"},
        content_type="application/json",
        **_auth(token),
    )
    return response


def _answer(client, url, answer, born="1990-05-17", version=1):
    path = urlsplit(url).path
    return client.post(
        path, {"answer": answer, "date_of_birth": born, "notice_version": version}, headers=EN, follow=True
    )


def _outcome(client, system, token, session_id):
    return client.get(f"/api/v1/consent-sessions/{session_id}", **_auth(token)).json()


def _enrol(client, system, token, consent_token, key="GUEST-1", purpose=None):
    return client.post(
        "/api/v1/holdings",
        {
            "subject_key": key,
            "data_kind": "template",
            "enrolled_at": timezone.now().isoformat(),
            "identifiers": {"external": "BOOKING-77"},
            "purpose": purpose or _purpose(system),
            "consent_token": consent_token,
        },
        content_type="application/json",
        **_auth(token),
    )


def test_the_person_reads_and_consents_on_their_phone_and_the_enrolment_carries_the_token(client, kiosk):
    system, token = kiosk
    opened = _open(client, system, token)
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["qr_svg"].startswith("<svg") and "/c/" in body["url"]
    page = client.get(urlsplit(body["url"]).path, headers=EN).content.decode()
    assert "Lobby kiosk" in page and "Notice version 1" in page
    assert len(re.findall(r'type="radio"', page)) == 3 and "checked" not in page  # nothing chosen for the person
    done = _answer(client, body["url"], "consent").content.decode()
    assert "Your consent is recorded" in done
    outcome = _outcome(client, system, token, body["id"])
    assert outcome["state"] == "consented" and outcome["consent_token"]

    enrolled = _enrol(client, system, token, outcome["consent_token"])
    assert enrolled.status_code == 201, enrolled.content
    holding = Holding.objects.get(system=system, subject_key="GUEST-1")
    session = ConsentSession.objects.get(public_id=body["id"])
    assert holding.subject == session.subject and holding.consent == session.record
    assert holding.consent.channel == ConsentRecord.Channel.DEVICE and holding.consent.notice.version == 1
    assert holding.subject.date_of_birth == dt.date(1990, 5, 17)
    # The token works once: a replay is refused and records nothing.
    holdings = Holding.objects.count()
    again = _enrol(client, system, token, outcome["consent_token"])
    assert again.status_code == 400 and again.json()["error"] == "consent_token_used"
    assert Holding.objects.count() == holdings
    assert _outcome(client, system, token, body["id"])["consent_token"] is None  # used: no longer handed out


def test_a_system_that_asks_consent_through_facerights_cannot_enrol_on_its_own_word(client, kiosk):
    system, token = kiosk
    report = {
        "subject_key": "GUEST-9",
        "data_kind": "template",
        "enrolled_at": timezone.now().isoformat(),
        "identifiers": {"phone": "13612345678"},
        "date_of_birth": "1990-05-17",
        "consent": {
            "purpose": system.purposes.first().code,
            "notice_version": 1,
            "given_at": timezone.now().isoformat(),
        },
    }
    response = client.post("/api/v1/holdings", report, content_type="application/json", **_auth(token))
    assert response.status_code == 400 and response.json()["error"] == "consent_token_required"
    assert not Holding.objects.filter(subject_key="GUEST-9").exists()


def test_a_token_for_another_key_purpose_or_system_forged_or_expired_is_refused_and_nothing_recorded(
    client, kiosk, entity, purpose, settings
):
    system, token = kiosk
    body = _open(client, system, token).json()
    _answer(client, body["url"], "consent")
    consent_token = _outcome(client, system, token, body["id"])["consent_token"]
    other, other_token = factories.pull_system(entity=entity, purpose=purpose)
    assert _enrol(client, system, token, consent_token, key="SOMEONE-ELSE").json()["error"] == "consent_token_mismatch"
    assert _enrol(client, other, other_token, consent_token).json()["error"] == "consent_token_mismatch"
    forged = signing.dumps({"s": body["id"], "sys": system.pk, "p": "x", "n": 1, "k": "GUEST-1"}, salt="other")
    assert _enrol(client, system, token, forged).json()["error"] == "consent_token_invalid"
    settings.FACERIGHTS_CONSENT_TOKEN_HOURS = 0  # any token is past its age
    assert _enrol(client, system, token, consent_token).json()["error"] == "consent_token_expired"
    assert not Holding.objects.filter(system__in=[system, other]).exclude(subject__is_synthetic=True).exists()
    settings.FACERIGHTS_CONSENT_TOKEN_HOURS = 24
    assert _enrol(client, system, token, consent_token).status_code == 201  # the refusals did not spend it


def test_a_child_is_not_consented_for_and_the_device_hears_a_guardian_must(client, kiosk):
    system, token = kiosk
    body = _open(client, system, token).json()
    done = _answer(
        client, body["url"], "consent", born=(timezone.localdate() - dt.timedelta(days=365 * 10)).isoformat()
    )
    assert "must come from your parent or guardian" in done.content.decode()
    outcome = _outcome(client, system, token, body["id"])
    assert outcome["state"] == "guardian_needed" and outcome["consent_token"] is None
    assert not ConsentRecord.objects.filter(system=system).exists()


def test_no_age_no_consent_but_saying_no_needs_none(client, kiosk):
    system, token = kiosk
    body = _open(client, system, token).json()
    page = _answer(client, body["url"], "consent", born="").content.decode()
    assert "Give your date of birth" in page
    assert _outcome(client, system, token, body["id"])["state"] == "open"
    declined = _answer(client, body["url"], "decline", born="").content.decode()
    assert "you will not be asked again for a while" in declined


def test_a_no_is_respected_by_the_device_for_the_quiet_period_and_the_service_stays_open(client, kiosk, settings):
    system, token = kiosk
    body = _open(client, system, token).json()
    done = _answer(client, body["url"], "alternative", born="").content.decode()
    assert "Your face will not be used" in done and "card" in done  # the alternative, named
    outcome = _outcome(client, system, token, body["id"])
    assert outcome["state"] == "alternative" and outcome["suppressed_until"]
    code = system.purposes.first().code
    prompt = client.post(
        "/api/v1/consent-prompt",
        {"subject_key": "GUEST-1", "purpose": code},
        content_type="application/json",
        **_auth(token),
    ).json()
    assert prompt["allowed"] is False and prompt["suppressed_until"] == outcome["suppressed_until"]
    again = _open(client, system, token)
    assert again.status_code == 409 and again.json()["error"] == "prompt_suppressed"
    other = client.post(
        "/api/v1/consent-prompt",
        {"subject_key": "GUEST-2", "purpose": code},
        content_type="application/json",
        **_auth(token),
    ).json()
    assert other == {"allowed": True, "suppressed_until": None}  # only that person


def test_a_notice_changed_while_reading_is_read_again_and_an_expired_page_records_nothing(client, kiosk, settings):
    system, token = kiosk
    body = _open(client, system, token).json()
    stale = _answer(client, body["url"], "consent", version=99).content.decode()
    assert "The notice changed while you were reading it" in stale
    ConsentSession.objects.filter(public_id=body["id"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    gone = client.get(urlsplit(body["url"]).path, headers=EN)
    assert gone.status_code == 410
    assert _outcome(client, system, token, body["id"])["state"] == "expired"
    assert not ConsentRecord.objects.filter(system=system).exists()


def test_a_device_sees_only_its_own_sessions(client, kiosk, entity, purpose):
    system, token = kiosk
    body = _open(client, system, token).json()
    _other, other_token = factories.pull_system(entity=entity, purpose=purpose)
    assert client.get(f"/api/v1/consent-sessions/{body['id']}", **_auth(other_token)).status_code == 404
    assert client.get("/api/v1/consent-sessions/not-a-uuid", **_auth(token)).status_code == 404
    assert client.get(urlsplit(body["url"]).path[:-5] + "xxxx/").status_code == 410  # a guessed page


def test_the_page_token_is_kept_only_as_its_fingerprint(client, kiosk):
    system, token = kiosk
    body = _open(client, system, token).json()
    page_token = urlsplit(body["url"]).path.split("/")[2]
    session = ConsentSession.objects.get(public_id=body["id"])
    assert page_token not in str(session.__dict__) and len(session.page_token_sha256) == 64


def _child_answers(client, system, token, child_born, key="GUEST-1"):
    body = _open(client, system, token, key=key).json()
    done = _answer(client, body["url"], "consent", born=child_born.isoformat())
    assert "must come from your parent or guardian" in done.content.decode()
    return body, urlsplit(body["url"]).path


def _guardian_code(client, path, phone):
    page = client.post(path + "guardian/", {"action": "send_code", "guardian-phone": phone}, headers=EN)
    from facerights.sms import MemorySmsBackend  # noqa: PLC0415 (the outbox is a test's view of the gateway)

    return page, re.search(r"验证码：(\d{6})", MemorySmsBackend.outbox[-1][1])[1]


def test_a_verified_guardian_consents_for_their_child_with_a_code_and_the_device_enrols_the_child(
    client, kiosk, subject, ward
):
    system, token = kiosk
    body, path = _child_answers(client, system, token, ward.date_of_birth)
    page, code = _guardian_code(client, path, "13800138000")  # the guardian's number on record
    assert "We texted a code to +86138****8000" in page.content.decode()
    done = client.post(
        path + "guardian/",
        {"action": "confirm", "code": code, "child_date_of_birth": ward.date_of_birth.isoformat()},
        headers=EN,
        follow=True,
    )
    assert "parent's or guardian's consent is recorded" in done.content.decode()
    record = ConsentRecord.objects.get(system=system)
    assert (record.subject, record.guardian, record.method) == (ward, subject, ConsentRecord.Method.GUARDIAN)
    assert record.channel == ConsentRecord.Channel.DEVICE
    outcome = _outcome(client, system, token, body["id"])
    assert outcome["state"] == "consented"
    assert _enrol(client, system, token, outcome["consent_token"]).status_code == 201
    assert Holding.objects.get(system=system, subject_key="GUEST-1").subject == ward


def test_a_phone_code_alone_never_makes_anyone_a_childs_guardian(client, kiosk, subject, other_subject, ward):
    system, token = kiosk
    _body, path = _child_answers(client, system, token, ward.date_of_birth)
    # Someone with a phone but no verified guardianship of this child: the code is right, nothing is recorded.
    _page, code = _guardian_code(client, path, "13900139000")
    page = client.post(
        path + "guardian/",
        {"action": "confirm", "code": code, "child_date_of_birth": ward.date_of_birth.isoformat()},
        headers=EN,
    ).content.decode()
    assert "no verified record that you are the guardian" in page
    # The guardian, with the wrong date of birth for their child: refused too, and the code is spent.
    _page, code = _guardian_code(client, path, "13800138000")
    page = client.post(
        path + "guardian/", {"action": "confirm", "code": code, "child_date_of_birth": "2017-01-01"}, headers=EN
    ).content.decode()
    assert "no verified record that you are the guardian" in page
    page = client.post(
        path + "guardian/",
        {"action": "confirm", "code": code, "child_date_of_birth": ward.date_of_birth.isoformat()},
        headers=EN,
    ).content.decode()
    assert "Ask for a code first." in page
    assert not ConsentRecord.objects.filter(system=system).exists()
    assert ConsentSession.objects.get().state == ConsentSession.State.GUARDIAN_NEEDED


def test_a_wrong_code_five_times_spends_it_and_the_page_closes_half_an_hour_after_the_childs_answer(
    client, kiosk, subject, ward
):
    system, token = kiosk
    _body, path = _child_answers(client, system, token, ward.date_of_birth)
    _page, code = _guardian_code(client, path, "13800138000")
    wrong = "000000" if code != "000000" else "111111"
    form = {"action": "confirm", "child_date_of_birth": ward.date_of_birth.isoformat()}
    assert (
        "The code does not match."
        in client.post(path + "guardian/", {**form, "code": wrong}, headers=EN).content.decode()
    )
    for _ in range(4):
        client.post(path + "guardian/", {**form, "code": wrong}, headers=EN)
    page = client.post(path + "guardian/", {**form, "code": code}, headers=EN).content.decode()
    assert "This code can no longer be used" in page
    _page, code = _guardian_code(client, path, "13800138000")
    ConsentSession.objects.update(answered_at=timezone.now() - dt.timedelta(minutes=31))
    page = client.post(path + "guardian/", {**form, "code": code}, headers=EN).content.decode()
    assert "This page has expired" in page
    assert not ConsentRecord.objects.filter(system=system).exists()


def test_behind_the_proxy_the_consent_keeps_the_persons_network_not_the_proxys(client, kiosk, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1  # the documented nginx in front
    system, token = kiosk
    body = _open(client, system, token).json()
    client.post(
        urlsplit(body["url"]).path,
        {"answer": "consent", "date_of_birth": "1990-05-17", "notice_version": 1},
        headers={**EN, "X-Forwarded-For": "198.51.100.23"},
        REMOTE_ADDR="10.0.0.2",
    )
    assert ConsentRecord.objects.get(system=system).ip_prefix == "198.51.100.0/24"


@pytest.fixture
def written_kiosk(kiosk):
    """The kiosk, for a use the law requires written consent for (R4)."""
    system, token = kiosk
    ProcessingSystem.objects.filter(pk=system.pk).update(requires_written_consent=True)
    system.refresh_from_db()
    return system, token


def _to_sign(page: str) -> tuple[str, str]:
    text = html.unescape(re.search(r'<pre class="signed-text" tabindex="0">(.*?)</pre>', page, re.S)[1])
    return text, re.search(r'name="shown_sha256" value="([0-9a-f]{64})"', page)[1]


def test_at_the_device_a_written_consent_is_signed_on_the_page_and_kept_as_signed(client, written_kiosk):
    system, token = written_kiosk
    body = _open(client, system, token).json()
    path = urlsplit(body["url"]).path
    shown, fingerprint = _to_sign(client.get(path, headers=EN).content.decode())
    assert "Lobby kiosk" in shown and "consent in writing" in shown
    answer = {"answer": "consent", "date_of_birth": "1990-05-17", "notice_version": 1, "shown_sha256": fingerprint}

    unsigned = client.post(path, answer, headers=EN).content.decode()
    assert "Type your full name to sign" in unsigned
    assert not ConsentRecord.objects.filter(system=system).exists()
    assert _outcome(client, system, token, body["id"])["state"] == "open"

    done = client.post(path, {**answer, "signature_name": "Li Lei"}, headers=EN, follow=True).content.decode()
    assert (
        "Your consent is recorded" in done
        and reverse("portal:consent_session_signed_record", args=[path[3:-1]]) in done
    )
    record = ConsentRecord.objects.get(system=system)
    assert record.method == ConsentRecord.Method.WRITTEN
    signed = client.get(reverse("portal:consent_session_signed_record", args=[path[3:-1]]))
    assert hashlib.sha256(signed.content).hexdigest() == record.artifact_sha256
    text = signed.content.decode()
    assert text.startswith(shown) and "Signed by: Li Lei" in text and "on the page the device showed" in text
    pdf = client.get(reverse("portal:consent_session_receipt", args=[path[3:-1], "pdf"]))
    assert pdf["Content-Type"] == "application/pdf"

    outcome = _outcome(client, system, token, body["id"])
    assert _enrol(client, system, token, outcome["consent_token"]).status_code == 201

    # Half an hour later the page's address no longer gives the signer's name (the next guest at a desk
    # tablet may find it in the history): the receipt link and the portal still do.
    ConsentSession.objects.filter(public_id=body["id"]).update(answered_at=timezone.now() - dt.timedelta(minutes=31))
    assert client.get(reverse("portal:consent_session_signed_record", args=[path[3:-1]])).status_code == 404
    later = client.get(path, headers=EN).content.decode()
    assert reverse("portal:consent_session_signed_record", args=[path[3:-1]]) not in later
    assert signed_consent_text(record) == text


def test_a_page_shown_again_after_a_new_notice_takes_the_next_answer(client, kiosk):
    system, token = kiosk
    body = _open(client, system, token).json()
    path = urlsplit(body["url"]).path
    client.get(path, headers=EN)
    factories.published_notice(system, other_zh="新增事项。", other_en="A new matter.")
    stale = client.post(path, {"answer": "consent", "date_of_birth": "1990-05-17", "notice_version": 1}, headers=EN)
    page = stale.content.decode()
    assert "The notice changed while you were reading it" in page and "A new matter." in page
    version = re.search(r'name="notice_version" value="(\d+)"', page)[1]
    assert version == "2"  # the page now carries the notice it shows
    client.post(path, {"answer": "consent", "date_of_birth": "1990-05-17", "notice_version": version}, headers=EN)
    assert ConsentRecord.objects.get(system=system).notice.version == 2


def test_saying_no_to_a_written_consent_needs_no_signature(client, written_kiosk):
    system, token = written_kiosk
    body = _open(client, system, token).json()
    done = _answer(client, body["url"], "decline", born="").content.decode()
    assert "your face will not be used" in done
    assert _outcome(client, system, token, body["id"])["state"] == "declined"


def test_a_verified_guardian_signs_a_childs_written_consent_before_the_code_is_spent(
    client, written_kiosk, subject, ward
):
    system, token = written_kiosk
    _body, path = _child_answers(client, system, token, ward.date_of_birth)
    page, code = _guardian_code(client, path, "13800138000")
    shown, fingerprint = _to_sign(page.content.decode())
    assert "As the parent or guardian of the child" in shown
    confirm = {"action": "confirm", "code": code, "child_date_of_birth": ward.date_of_birth.isoformat()}
    unsigned = client.post(path + "guardian/", {**confirm, "shown_sha256": fingerprint}, headers=EN)
    assert "Type your full name to sign" in unsigned.content.decode()
    done = client.post(
        path + "guardian/",
        {**confirm, "shown_sha256": fingerprint, "signature_name": "王小明"},
        headers=EN,
        follow=True,
    )
    assert "parent's or guardian's consent is recorded" in done.content.decode()  # the same code still worked
    record = ConsentRecord.objects.get(system=system)
    assert (record.subject, record.guardian, record.method) == (ward, subject, ConsentRecord.Method.GUARDIAN)
    text = client.get(reverse("portal:consent_session_signed_record", args=[path[3:-1]])).content
    assert hashlib.sha256(text).hexdigest() == record.artifact_sha256
    assert text.decode().startswith(shown) and "Signed by: 王小明" in text.decode()


def test_a_system_that_sends_faces_over_the_internet_asks_that_consent_separately_on_the_page(client, entity, purpose):
    system, token = factories.pull_system(entity=entity, purpose=purpose, transmits=True, name_en="Cloud kiosk")
    ProcessingSystem.objects.filter(pk=system.pk).update(consent_at_capture=True)
    body = _open(client, system, token).json()
    path = urlsplit(body["url"]).path
    page = client.get(path, headers=EN).content.decode()
    box = re.search(r'<input type="checkbox" name="transmission"[^>]*>', page)[0]
    assert "checked" not in box and "over the internet" in page  # a box of its own, never ticked for the person

    alone = _answer(client, body["url"], "consent").content.decode()
    assert "only with your separate consent to that as well" in alone
    assert not ConsentRecord.objects.filter(system=system).exists()

    client.post(
        path,
        {"answer": "consent", "date_of_birth": "1990-05-17", "notice_version": 1, "transmission": "on"},
        headers=EN,
    )
    session = ConsentSession.objects.get(public_id=body["id"])
    records = ConsentRecord.objects.filter(subject=session.subject, system=system, state="active")
    assert sorted(records.values_list("purpose__code", flat=True)) == sorted([purpose.code, Purpose.TRANSMISSION])
    consent_token = _outcome(client, system, token, body["id"])["consent_token"]

    # Withdrawn on its own before the enrolment: the device may not enrol, and the token is not spent.
    transmission = records.get(purpose__code=Purpose.TRANSMISSION)
    consent_withdraw(actor="t", record=transmission, provenance=Provenance(channel="portal"))
    refused = _enrol(client, system, token, consent_token)
    assert refused.status_code == 400 and refused.json()["error"] == "transmission_consent"
    assert not Holding.objects.filter(system=system, subject_key="GUEST-1").exists()
    assert ConsentSession.objects.get(public_id=body["id"]).token_used_at is None


def test_a_guardian_consents_to_a_childs_face_going_over_the_internet_separately(
    client, entity, purpose, subject, ward
):
    system, token = factories.pull_system(entity=entity, purpose=purpose, transmits=True)
    ProcessingSystem.objects.filter(pk=system.pk).update(consent_at_capture=True)
    body, path = _child_answers(client, system, token, ward.date_of_birth)
    _page, code = _guardian_code(client, path, "13800138000")
    confirm = {"action": "confirm", "code": code, "child_date_of_birth": ward.date_of_birth.isoformat()}
    alone = client.post(path + "guardian/", confirm, headers=EN).content.decode()
    assert "only with your separate consent to that as well" in alone
    client.post(path + "guardian/", {**confirm, "transmission": "on"}, headers=EN)  # the same code: not spent
    given = ConsentRecord.objects.filter(subject=ward, system=system, guardian=subject, state="active")
    assert sorted(given.values_list("purpose__code", flat=True)) == sorted([purpose.code, Purpose.TRANSMISSION])
    outcome = _outcome(client, system, token, body["id"])
    assert _enrol(client, system, token, outcome["consent_token"]).status_code == 201


def test_a_guardian_of_twins_is_sent_to_the_desk_not_told_they_are_nobodys_guardian(client, kiosk, subject):
    system, token = kiosk
    born = dt.date(2018, 3, 3)
    factories.ward_of(subject, name="王大宝", date_of_birth=born)
    factories.ward_of(subject, name="王小宝", date_of_birth=born)
    _body, path = _child_answers(client, system, token, born)
    _page, code = _guardian_code(client, path, "13800138000")
    page = client.post(
        path + "guardian/",
        {"action": "confirm", "code": code, "child_date_of_birth": born.isoformat()},
        headers=EN,
    ).content.decode()
    assert "more than one child born on this day" in page and "no verified record" not in page
    assert not ConsentRecord.objects.filter(system=system).exists()
