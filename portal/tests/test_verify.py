"""Who issued a document: the deployment signs the fingerprints it prints, and anyone can check them."""

import base64
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.urls import reverse

from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import propagation_confirm
from facerights import signing
from tests import factories
from tests.reading import pdf_text

pytestmark = pytest.mark.django_db


def _check(client, fingerprint: str, signature: str) -> str:
    return client.post(reverse("portal:verify"), {"fingerprint": fingerprint, "signature": signature}).content.decode()


def test_a_deletion_certificate_is_signed_and_anyone_can_check_who_issued_it(client, subject, system):
    # Used to pass: the certificate carried only its SHA-256, which anyone could compute for a forged one.
    factories.holding(subject, system)
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    propagation_confirm(actor="t", propagation=deletion.propagations.get(), outcome="deleted", evidence={"n": 1})
    factories.subject_login(client, subject)
    response = client.get(reverse("portal:deletion_certificate", args=[deletion.reference]))
    fingerprint = response["X-Certificate-Fingerprint"]
    signature = signing.sign("certificate", fingerprint)  # what the certificate must carry, as printed
    printed = re.sub(r"\s+", "", pdf_text(response.content, layout=False))
    assert fingerprint in printed and signature in printed
    client.logout()

    page = _check(client, fingerprint, signature)  # no account needed
    assert "Valid." in page or "有效。" in page
    # One character off in either, or the right signature on another document: not valid.
    other = ("0" if fingerprint[0] != "0" else "1") + fingerprint[1:]
    for wrong in ((other, signature), (fingerprint, signing.sign("certificate", other))):
        assert "Not valid." in _check(client, *wrong) or "无效。" in _check(client, *wrong)


def test_filing_documents_are_signed_and_check_as_filing_documents(client, filed):
    for document in filed.documents.all():  # every document, in both languages, prints both
        text = re.sub(r"\s+", "", pdf_text(document.pdf, layout=False))
        assert filed.snapshot_sha256 in text and filed.snapshot_signature in text
    fingerprint, signature = filed.snapshot_sha256, filed.snapshot_signature
    assert "Valid." in _check(client, fingerprint, signature) or "有效。" in _check(client, fingerprint, signature)
    assert signing.verify(fingerprint, signature).kind == "filing"
    assert signing.verify(fingerprint, signature.replace(signature[-5], "A" if signature[-5] != "A" else "B")) is None


def test_what_a_retired_key_signed_still_checks_and_a_stranger_key_never_does(client, settings):
    fingerprint = "ab" * 32
    old = Ed25519PrivateKey.generate()
    settings.FACERIGHTS_SIGNING_KEY, current = (
        old.private_bytes_raw(),
        settings.FACERIGHTS_SIGNING_KEY,
    )
    signed_by_old = signing.sign("certificate", fingerprint)
    settings.FACERIGHTS_SIGNING_KEY = current  # rotated: the old key's public half is kept listed
    assert signing.verify(fingerprint, signed_by_old) is None
    raw = old.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    settings.FACERIGHTS_SIGNING_OLD_PUBLIC_KEYS = [raw]
    verified = signing.verify(fingerprint, signed_by_old)
    assert verified and verified.kind == "certificate" and not verified.current_key
    keys = client.get(reverse("portal:verify_keys")).json()["keys"]
    assert {k["public_key"] for k in keys} >= {base64.urlsafe_b64encode(raw).decode()}
    assert [k["current"] for k in keys].count(True) == 1


def test_a_bad_entry_is_told_plainly_and_guessing_is_limited(client, settings):
    page = client.post(reverse("portal:verify"), {"fingerprint": "xyz", "signature": ""}).content.decode()
    assert "64" in page  # the fingerprint's form is explained
    statuses = [
        client.post(reverse("portal:verify"), {"fingerprint": "ab" * 32, "signature": "ed25519:x"}).status_code
        for _ in range(30)
    ]
    assert statuses[:29] == [200] * 29 and statuses[29] == 429  # the 31st check in ten minutes
