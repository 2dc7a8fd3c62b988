"""Signing in without a face: email or phone with a one-time code; no answer reveals an account."""

import re
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from facerights.accounts import user_phone_get, user_phone_set
from facerights.sms import MemorySmsBackend

pytestmark = pytest.mark.django_db
User = get_user_model()


def _code(text: str) -> str:
    return re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", text).group(1)


def _sms_code(text: str) -> str:
    return re.search(r"\b(\d{6}|[A-Z0-9]{4}-[A-Z0-9]{4})\b", text).group(1)


def _verified_email_user(username: str, email: str):
    user = User.objects.create_user(username=username, email=email)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def test_sign_up_with_an_email_address_and_no_password_signs_in_once_the_code_is_entered(client):
    response = client.post(reverse("account_signup"), {"email": "new@example.com"})
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session  # nobody is signed in on an unproven address
    message = mail.outbox[-1]
    assert message.to == ["new@example.com"]
    client.post(reverse("account_email_verification_sent"), {"code": _code(message.body)})
    user = client.get(reverse("portal:dashboard")).context["user"]
    assert user.emailaddress_set.get().email == "new@example.com" and user.emailaddress_set.get().verified
    assert not user.has_usable_password()


def test_sign_up_answers_the_same_whether_or_not_the_email_has_an_account(client):
    owner = _verified_email_user("wang", "wang@example.com")
    fresh = client.post(reverse("account_signup"), {"email": "new@example.com"}, headers={"Accept-Language": "en"})
    fresh_page = client.get(fresh["Location"], headers={"Accept-Language": "en"})
    client.cookies.clear()
    taken = client.post(reverse("account_signup"), {"email": "wang@example.com"}, headers={"Accept-Language": "en"})
    taken_page = client.get(taken["Location"], headers={"Accept-Language": "en"})
    assert fresh.status_code == taken.status_code == 302
    assert fresh["Location"] == taken["Location"]
    assert fresh_page.status_code == taken_page.status_code == 200
    assert fresh_page.templates[0].name == taken_page.templates[0].name
    assert "already" not in taken_page.content.decode().lower()
    # The owner is told, without a code; no second account is made.
    notice = mail.outbox[-1]
    assert notice.to == ["wang@example.com"] and "already" in notice.body
    assert not re.search(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b", notice.body)
    assert list(User.objects.filter(emailaddress__email="wang@example.com")) == [owner]
    assert "_auth_user_id" not in client.session


def test_sign_up_answers_the_same_whether_or_not_the_phone_has_an_account(client):
    owner = User.objects.create_user(username="li")
    user_phone_set(actor="test", user=owner, phone="+8613700137000", verified=True)
    en = {"Accept-Language": "en"}
    fresh = client.post(reverse("account_signup"), {"phone": "13600136000"}, headers=en)
    client.cookies.clear()
    taken = client.post(reverse("account_signup"), {"phone": "137 0013 7000"}, headers=en)
    assert fresh.status_code == taken.status_code == 302
    assert fresh["Location"] == taken["Location"] == reverse("account_verify_phone")
    (first_phone, first_text), (second_phone, second_text) = MemorySmsBackend.outbox[-2:]
    assert first_phone == "+8613600136000" and re.search(r"\d{6}|[A-Z0-9]{4}-[A-Z0-9]{4}", first_text)
    assert second_phone == "+8613700137000" and "已有账号使用此号码" in second_text
    assert User.objects.filter(phone_hash=owner.phone_hash).count() == 1


def test_an_account_made_with_a_phone_signs_in_without_an_email_step(client):
    client.post(reverse("account_signup"), {"phone": "13600136000"})
    client.post(reverse("account_verify_phone"), {"code": _sms_code(MemorySmsBackend.outbox[-1][1])})
    user = client.get(reverse("portal:dashboard")).context["user"]
    assert user.is_authenticated and not user.emailaddress_set.exists()
    client.logout()
    client.post(reverse("account_request_login_code"), {"phone": "13600136000"})
    client.post(reverse("account_confirm_login_code"), {"code": _code(MemorySmsBackend.outbox[-1][1])})
    assert client.get(reverse("portal:dashboard")).context["user"] == user


def test_sign_up_needs_an_email_or_a_phone(client):
    response = client.post(reverse("account_signup"), {})
    assert response.status_code == 200
    assert not User.objects.exists()


def test_sign_in_by_email_code(client):
    user = User.objects.create_user(username="wang", email="wang@example.com")
    EmailAddress.objects.create(user=user, email="wang@example.com", verified=True, primary=True)
    client.post(reverse("account_request_login_code"), {"email": "wang@example.com"})
    code = _code(mail.outbox[-1].body)
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("portal:dashboard")).context["user"] == user


def test_asking_for_a_code_with_neither_email_nor_phone_says_what_is_missing(client):
    response = client.post(reverse("account_request_login_code"), {}, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "Enter your email address or your phone number." in response.content.decode()
    assert not mail.outbox and not MemorySmsBackend.outbox


def test_sign_in_by_phone_code_through_the_sms_backend(client):
    user = User.objects.create_user(username="li")
    user_phone_set(actor="test", user=user, phone="+8613700137000", verified=True)
    client.post(reverse("account_request_login_code"), {"phone": "137 0013 7000"})
    phone, text = MemorySmsBackend.outbox[-1]
    assert phone == "+8613700137000"
    client.post(reverse("account_confirm_login_code"), {"code": _code(text)})
    assert client.get(reverse("portal:dashboard")).context["user"] == user


def test_the_account_phone_is_stored_encrypted(db):
    user = User.objects.create_user(username="zhao")
    user_phone_set(actor="test", user=user, phone="+8613600136000", verified=False)
    user.refresh_from_db()
    assert b"13600136000" not in bytes(user.phone_ciphertext)
    assert "13600136000" not in user.phone_hash
    assert user_phone_get(user) == ("+8613600136000", False)


@pytest.mark.parametrize("wrong", ["000000", "ABCDEF", ""])
def test_a_wrong_code_signs_nobody_in(client, wrong):
    user = User.objects.create_user(username="wang", email="wang@example.com")
    EmailAddress.objects.create(user=user, email="wang@example.com", verified=True, primary=True)
    client.post(reverse("account_request_login_code"), {"email": "wang@example.com"})
    response = client.post(reverse("account_confirm_login_code"), {"code": wrong})
    assert response.status_code in (200, 302)
    assert "_auth_user_id" not in client.session


def test_a_used_code_cannot_be_used_again(client):
    user = User.objects.create_user(username="wang", email="wang@example.com")
    EmailAddress.objects.create(user=user, email="wang@example.com", verified=True, primary=True)
    client.post(reverse("account_request_login_code"), {"email": "wang@example.com"})
    code = _code(mail.outbox[-1].body)
    client.post(reverse("account_confirm_login_code"), {"code": code})
    client.logout()
    client.post(reverse("account_confirm_login_code"), {"code": code})
    assert "_auth_user_id" not in client.session


def test_asking_for_a_code_reveals_nothing_about_accounts(client):
    User.objects.create_user(username="wang", email="wang@example.com")
    EmailAddress.objects.create(user=User.objects.get(), email="wang@example.com", verified=True, primary=True)
    known = client.post(reverse("account_request_login_code"), {"email": "wang@example.com"})
    client.cookies.clear()
    unknown = client.post(reverse("account_request_login_code"), {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_sending_codes_is_rate_limited(client):
    statuses = []
    for _ in range(5):
        client.cookies.clear()
        statuses.append(client.post(reverse("account_request_login_code"), {"email": "target@example.com"}).status_code)
    assert statuses == [302, 302, 302, 200, 200]  # the fourth within a minute is refused on the form
    assert len(mail.outbox) <= 3


def test_three_wrong_codes_spend_the_code(client):
    user = User.objects.create_user(username="wang", email="wang@example.com")
    EmailAddress.objects.create(user=user, email="wang@example.com", verified=True, primary=True)
    client.post(reverse("account_request_login_code"), {"email": "wang@example.com"})
    code = _code(mail.outbox[-1].body)
    for wrong in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
        client.post(reverse("account_confirm_login_code"), {"code": wrong})
    client.post(reverse("account_confirm_login_code"), {"code": code})
    assert "_auth_user_id" not in client.session


def test_a_second_factor_can_be_added_with_an_authenticator_app(client):

    user = User.objects.create_user(username="wang", email="wang@example.com", password="correct horse 42")
    EmailAddress.objects.create(user=user, email="wang@example.com", verified=True, primary=True)
    client.force_login(user)
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [{"method": "password", "at": time.time(), "reauthenticated": True}]
    session.save()
    index = client.get(reverse("mfa_index")).content.decode()
    assert reverse("mfa_activate_totp") in index and reverse("mfa_list_webauthn") in index  # TOTP and passkeys
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    client.post(reverse("mfa_activate_totp"), {"code": code})
    kinds = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


def test_too_many_sign_ups_from_one_address_get_a_readable_page_not_an_error():
    # allauth: at most 20 sign-ups a minute from one address; then a page in the person's language.
    statuses = [
        Client().post(reverse("account_signup"), {"email": f"flood{n}@example.com"}, headers={"Accept-Language": "en"})
        for n in range(21)
    ]
    assert 429 not in [r.status_code for r in statuses[:20]] and all(r.status_code < 500 for r in statuses)
    limited = statuses[-1]
    assert limited.status_code == 429
    assert "Too many tries" in limited.content.decode() and reverse("portal:contact") in limited.content.decode()


def test_sign_up_says_one_identifier_is_needed_and_the_password_is_optional(client):
    page = client.get(reverse("account_signup"), headers={"Accept-Language": "en"}).content.decode()
    assert "One of the two is needed: an email address or a phone number." in page
    assert "Password (optional)" in page and "Leave it empty to sign in with a one-time code" in page
    assert "can’t be entirely numeric" not in page  # no rules list for a password nobody has to set
