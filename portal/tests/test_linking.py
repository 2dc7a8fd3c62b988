"""Linking an account to its records only through something verified; bad input changes nothing."""

import datetime as dt
import io
import struct
import zlib

import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from consent.linking import enrolment_code_issue, identity_check_approve, identity_check_reject
from consent.models import EnrolmentCode, IdentityCheck
from facerights.accounts import user_phone_set
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(client):
    user = factories.user_with_role("data_subject")
    client.force_login(user)
    return user


def _link(client, **data):
    return client.post(reverse("portal:link"), data)


def test_a_verified_email_in_the_account_finds_the_records(client, account, subject):
    EmailAddress.objects.create(user=account, email="wang@example.com", verified=True, primary=True)
    response = _link(client, action="verified")
    assert response["Location"] == reverse("portal:dashboard")
    subject.refresh_from_db()
    assert subject.user == account


def test_an_unverified_email_reveals_nothing(client, account, subject):
    EmailAddress.objects.create(user=account, email="wang@example.com", verified=False, primary=True)
    response = _link(client, action="verified")
    subject.refresh_from_db()
    assert subject.user is None
    assert response.status_code == 200
    assert "wang" not in response.content.decode()


def test_someone_elses_phone_unverified_links_nothing(client, account, subject):
    user_phone_set(
        actor="test", user=account, phone="+8613800138000", verified=False
    )  # typed, never confirmed by a code
    _link(client, action="verified")
    subject.refresh_from_db()
    assert subject.user is None


def test_a_verified_phone_links(client, account, subject):
    user_phone_set(actor="test", user=account, phone="+8613800138000", verified=True)
    _link(client, action="verified")
    subject.refresh_from_db()
    assert subject.user == account


def test_an_enrolment_code_links_once(client, account, subject):
    code = enrolment_code_issue(actor="t", subject=subject)
    response = _link(client, action="code", code=code.lower().replace("-", " "))
    assert response["Location"] == reverse("portal:dashboard")
    subject.refresh_from_db()
    assert subject.user == account
    other = factories.user_with_role("data_subject")
    client.force_login(other)
    response = _link(client, action="code", code=code)
    assert "此代码无效、已过期或已被使用。" in response.content.decode()  # the portal speaks Chinese first


@pytest.mark.parametrize("case", ["wrong", "expired"])
def test_a_wrong_or_expired_code_gets_a_clear_message_and_links_nothing(client, account, subject, case):
    code = enrolment_code_issue(actor="t", subject=subject)
    if case == "expired":
        EnrolmentCode.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
        typed = code
    else:
        typed = "ZZZZZ-ZZZZZ"
    response = _link(client, action="code", code=typed)
    assert response.status_code == 200
    assert response.context["code_form"].non_field_errors()
    subject.refresh_from_db()
    assert subject.user is None


def _png(width=10, height=10) -> bytes:

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _bomb() -> bytes:
    """A few hundred bytes of PNG claiming 50,000 x 50,000 pixels (2.5 gigapixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"MZ\x90\x00 not an image", "id.png", "PDF, PNG or JPEG"),
        (b"%PDF-" + b"0" * (5 * 1024 * 1024), "id.pdf", "5 MB"),
        ("bomb", "id.png", "pixels"),
        (b"\x89PNG\r\n\x1a\n broken", "id.png", "cannot be read"),
    ],
    ids=["not-an-image", "too-large", "decompression-bomb", "corrupt"],
)
def test_a_bad_identity_scan_is_refused_clearly_and_nothing_is_kept(client, account, content, name, message, settings):
    settings.LANGUAGE_CODE = "en"
    data = _bomb() if content == "bomb" else content
    response = client.post(
        reverse("portal:identity_check"), {"scan": SimpleUploadedFile(name, data)}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not IdentityCheck.objects.exists()


def test_an_identity_check_is_encrypted_reviewed_and_then_destroyed(client, account, subject):
    scan = _png()
    client.post(
        reverse("portal:identity_check"), {"scan": SimpleUploadedFile("id.png", scan), "note": "my phone changed"}
    )
    check = IdentityCheck.objects.get()
    assert scan not in bytes(check.scan_ciphertext)
    identity_check_approve(actor="dpo", check=check, subject=subject)
    check.refresh_from_db()
    subject.refresh_from_db()
    assert (check.state, check.scan_ciphertext, subject.user) == ("approved", None, account)


def test_a_rejected_check_needs_a_reason_and_destroys_the_scan(client, account):
    client.post(reverse("portal:identity_check"), {"scan": SimpleUploadedFile("id.png", _png())})
    check = IdentityCheck.objects.get()
    with pytest.raises(Exception):  # noqa: B017 (LinkError, a ValidationError)
        identity_check_reject(actor="dpo", check=check, reason=" ")
    identity_check_reject(actor="dpo", check=check, reason="证件照片无法辨认")
    check.refresh_from_db()
    assert check.state == "rejected" and check.scan_ciphertext is None


def test_the_dpo_sees_the_scan_and_the_auditor_does_not(client, account):
    client.post(reverse("portal:identity_check"), {"scan": SimpleUploadedFile("id.png", _png())})
    check = IdentityCheck.objects.get()
    url = reverse("admin:consent_identitycheck_scan", args=[check.pk])
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    assert client.get(url)["Content-Type"] == "image/png"
    factories.staff_login(client, factories.user_with_role("auditor", is_staff=True))
    assert client.get(url).status_code == 403


def test_guessing_enrolment_codes_is_limited_per_account(client, account, subject):
    # Used to pass: 40 wrong codes in 4.5 s, none refused for their number.
    code = enrolment_code_issue(actor="t", subject=subject)
    statuses = [_link(client, action="code", code=f"ZZZZZ-ZZZZ{n}").status_code for n in range(5)]
    assert statuses == [200] * 5  # each told the code is wrong
    limited = _link(client, action="code", code=code)  # the sixth in ten minutes, even the right one
    assert limited.status_code == 429 and "十分钟" in limited.content.decode()
    subject.refresh_from_db()
    assert subject.user is None
