"""Copy quality in Chinese: one form of address (您), Chinese punctuation, and no English left on a Chinese page."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.test_no_internal_codes import page_text

# The compiled catalogue, as the site uses it (`make` compiles it before the tests), read with the standard library.
CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
CJK = r"[\u4e00-\u9fff]"
# Literal tokens a translation must keep as they are typed (a URL scheme, a signature's prefix).
LITERALS = re.compile(r"%\([a-z_]+\)[sd]|\{[^}]*\}|https?://\S+|\bdata:|\bed25519:")
# English a Chinese page must not show: allauth's words its own catalogue leaves in English.
ENGLISH_LEFT = re.compile(r"\b(?:[Pp]asskeys?|E-?mail|Hello)\b")
ZH = {"Accept-Language": "zh-hans"}


def _translations() -> list[tuple[str, str]]:
    with CATALOGUE.open("rb") as file:
        catalogue = gettext.GNUTranslations(file)._catalog  # type: ignore[attr-defined]  # the parsed entries
    return [(str(key[0] if isinstance(key, tuple) else key), text) for key, text in catalogue.items() if key and text]


def test_every_translation_says_nin_never_ni():
    familiar = [msgid for msgid, text in _translations() if "你" in text]
    assert familiar == []


def test_chinese_text_uses_chinese_punctuation():
    mixed = []
    for msgid, text in _translations():
        plain = LITERALS.sub("X", text)
        if re.search(CJK + r"[,;:!?]|[,;:!?]\s*" + CJK + "|" + CJK + r"\s*\(|\)\s*" + CJK, plain):
            mixed.append((msgid[:60], text[:60]))
    assert mixed == []


def test_the_checks_catch_what_they_look_for():
    assert re.search(CJK + r"[,;:!?]", "您好,欢迎")
    assert ENGLISH_LEFT.search("使用 passkey 登录") and ENGLISH_LEFT.search("来自站点的 Hello!")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["account_login", "account_signup", "account_request_login_code", "account_reset_password"]
)
def test_the_sign_in_pages_in_chinese_have_no_english_left(client, name):
    text = page_text(client.get(reverse(name), headers=ZH).content.decode())
    assert ENGLISH_LEFT.findall(text) == []


@pytest.mark.django_db
def test_the_account_pages_in_chinese_have_no_english_left(client):
    user = get_user_model().objects.create_user(username="wang", email="wang@example.com")
    EmailAddress.objects.create(user=user, email="wang@example.com", verified=True, primary=True)
    client.force_login(user)
    for name in ("account_email", "mfa_index"):
        response = client.get(reverse(name), headers=ZH)
        assert response.status_code == 200, name
        assert ENGLISH_LEFT.findall(page_text(response.content.decode())) == [], name


@pytest.mark.django_db
def test_the_sign_in_code_email_in_chinese_has_no_english_greeting(client):
    user = get_user_model().objects.create_user(username="wang", email="wang@example.com")
    EmailAddress.objects.create(user=user, email="wang@example.com", verified=True, primary=True)
    client.post(reverse("account_request_login_code"), {"email": "wang@example.com"}, headers=ZH)
    [email] = mail.outbox
    assert ENGLISH_LEFT.findall(email.subject + email.body) == []
    assert "您" in email.body
