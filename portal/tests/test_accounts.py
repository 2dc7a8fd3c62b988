"""Signing in without a face: email or phone with a one-time code; no answer reveals an account."""

import re
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from facerights.accounts import user_phone_get, user_phone_set
from facerights.sms import MemorySmsBackend

pytestmark = pytest.mark.django_db
User = get_user_model()


def _code(text: str) -> str:
    return re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", text).group(1)


def test_sign_up_with_an_email_address_and_no_password(client):
    response = client.post(reverse("account_signup"), {"email": "new@example.com"})
    assert response.status_code == 302
    user = User.objects.get(emailaddress__email="new@example.com")
    assert not user.has_usable_password()


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
