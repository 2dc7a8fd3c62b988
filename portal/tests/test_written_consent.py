"""Written consent (R4): a person signs the text shown, and FaceRights keeps that signed record itself,
retrievable byte for byte and printable (consent/written.py)."""

import hashlib
import html
import io
import json
import re
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from consent.models import ConsentRecord, SignedConsent
from consent.proof import consent_proof_package
from consent.receipts import consent_receipt
from consent.services import notice_current, subject_shred
from consent.written import signed_consent_text, written_consent_body
from dataops.copies.services import export_data
from dataops.registry.holdings import consent_check
from dataops.registry.services import system_save
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}


@pytest.fixture
def notary(entity, site, purpose):
    """A bank's account-opening camera: the law it works under asks for written consent."""
    return factories.active_system(
        entity=entity, site=site, purpose=purpose, requires_written_consent=True, name_en="Account opening camera"
    )


def _shown(page: str) -> tuple[str, str]:
    """The text the page shows to sign, and the fingerprint the form carries."""
    text = html.unescape(re.search(r'<pre class="signed-text" tabindex="0">(.*?)</pre>', page, re.S)[1])
    return text, re.search(r'name="shown_sha256" value="([0-9a-f]{64})"', page)[1]


def test_a_person_signs_with_their_name_and_downloads_the_signed_record_byte_for_byte(
    subject_client, subject, notary, purpose
):
    url = reverse("portal:consent_give", args=[notary.pk, purpose.code])
    page = subject_client.get(url, headers=EN).content.decode()
    shown, fingerprint = _shown(page)
    assert "Account opening camera" in shown and "consent in writing" in shown
    assert hashlib.sha256(shown.encode()).hexdigest() == fingerprint

    unsigned = subject_client.post(url, {"consent": "1", "agree": "on", "shown_sha256": fingerprint}, headers=EN)
    assert "Type your full name to sign" in unsigned.content.decode()
    assert not ConsentRecord.objects.filter(system=notary).exists()

    signed = subject_client.post(
        url, {"consent": "1", "agree": "on", "shown_sha256": fingerprint, "signature_name": " 王  小明 "}, headers=EN
    )
    assert signed.status_code == 302
    record = ConsentRecord.objects.get(system=notary)
    assert record.method == ConsentRecord.Method.WRITTEN

    download = subject_client.get(reverse("portal:consent_signed_record", args=[record.pk]))
    assert download["Content-Type"] == "text/plain; charset=utf-8"
    assert hashlib.sha256(download.content).hexdigest() == record.artifact_sha256 == download["X-Signed-Record-SHA256"]
    text = download.content.decode()
    assert text.startswith(shown)  # exactly what the page showed, then the signature
    assert "Signed by: 王 小明" in text[len(shown) :] and "Signed through: on the FaceRights portal" in text
    assert subject_client.get(reverse("portal:consent_signed_record", args=[record.pk])).content == download.content

    receipt = subject_client.get(reverse("portal:consent_receipt", args=[record.pk, "json"])).json()
    assert receipt["signed_record_sha256"] == record.artifact_sha256
    history = subject_client.get(reverse("portal:consent_history"), headers=EN).content.decode()
    assert reverse("portal:consent_signed_record", args=[record.pk]) in history
    signed_event = AuditEvent.objects.get(action="consent.signed")
    assert signed_event.data == {"sha256": record.artifact_sha256}


def test_a_text_changed_while_reading_is_signed_again_and_nothing_is_recorded(subject_client, notary, purpose):
    url = reverse("portal:consent_give", args=[notary.pk, purpose.code])
    _shown_text, fingerprint = _shown(subject_client.get(url, headers=EN).content.decode())
    factories.published_notice(
        notary, other_zh="新增：数据在本行北京数据中心处理。", other_en="New: processed in Beijing."
    )
    stale = subject_client.post(
        url, {"consent": "1", "agree": "on", "shown_sha256": fingerprint, "signature_name": "王小明"}, headers=EN
    )
    assert "The text to sign changed while you were reading it" in stale.content.decode()
    assert not ConsentRecord.objects.filter(system=notary).exists()
    shown, fresh = _shown(stale.content.decode())  # the page now shows the new text to sign
    assert "processed in Beijing" in shown and fresh != fingerprint


def test_only_the_person_gets_the_signed_record_and_a_shredded_person_leaves_only_its_fingerprint(
    subject_client, subject, other_subject, notary, purpose
):
    url = reverse("portal:consent_give", args=[notary.pk, purpose.code])
    _text, fingerprint = _shown(subject_client.get(url, headers=EN).content.decode())
    subject_client.post(
        url, {"consent": "1", "agree": "on", "shown_sha256": fingerprint, "signature_name": "王小明"}, headers=EN
    )
    record = ConsentRecord.objects.get(system=notary)
    download = reverse("portal:consent_signed_record", args=[record.pk])
    assert subject_client.get(download).status_code == 200

    someone_else = Client()
    factories.subject_login(someone_else, other_subject)
    assert someone_else.get(download).status_code == 404

    subject_shred(actor="t", subject=subject)
    kept = SignedConsent.objects.get(record=record)
    assert kept.sha256 == ConsentRecord.objects.get(pk=record.pk).artifact_sha256  # the fingerprint stays
    assert signed_consent_text(record) is None  # unreadable once the person's key is destroyed
    assert subject_client.get(download).status_code == 404


def test_a_system_without_written_consent_asks_for_no_signature(subject_client, system, purpose):
    url = reverse("portal:consent_give", args=[system.pk, purpose.code])
    page = subject_client.get(url, headers=EN).content.decode()
    assert "signature_name" not in page and "The text you sign" not in page
    subject_client.post(url, {"consent": "1", "agree": "on"})
    record = ConsentRecord.objects.get(system=system)
    assert record.method == ConsentRecord.Method.SEPARATE and record.artifact_sha256 == ""
    assert subject_client.get(reverse("portal:consent_signed_record", args=[record.pk])).status_code == 404


def test_the_proof_package_and_the_persons_copy_carry_the_signed_record_as_signed(
    subject_client, subject, notary, purpose
):
    url = reverse("portal:consent_give", args=[notary.pk, purpose.code])
    _text, fingerprint = _shown(subject_client.get(url, headers=EN).content.decode())
    subject_client.post(
        url, {"consent": "1", "agree": "on", "shown_sha256": fingerprint, "signature_name": "王小明"}, headers=EN
    )
    record = ConsentRecord.objects.get(system=notary)
    receipt = consent_receipt(record)
    with zipfile.ZipFile(io.BytesIO(consent_proof_package(actor="dpo", subject=subject))) as package:
        signed = package.read(f"signed/{receipt['receipt_id']}.txt")
        manifest = json.loads(package.read("manifest.json"))
    assert hashlib.sha256(signed).hexdigest() == record.artifact_sha256
    assert manifest["files"][f"signed/{receipt['receipt_id']}.txt"] == record.artifact_sha256
    copy = export_data(subject)
    assert [c["signed_record"] for c in copy["consents"] if c["method"] == "written"] == [signed.decode()]


def test_a_written_consent_to_a_system_that_transmits_states_that_consent_in_a_sentence_of_its_own(
    entity, site, purpose
):
    system = factories.active_system(
        entity=entity, site=site, purpose=purpose, requires_written_consent=True, transmits=True
    )
    notice = notice_current(system)
    device = written_consent_body(system=system, purpose=purpose, notice=notice, language="en", with_transmission=True)
    assert "Separately, I consent in writing to this system sending my facial information over the internet" in device
    child = written_consent_body(
        system=system, purpose=purpose, notice=notice, language="zh-hans", for_child=True, with_transmission=True
    )
    assert "另行书面同意该系统通过互联网传输该儿童的人脸信息" in child
    assert f"系统：{system.name_zh}" in child and ": " not in child  # Chinese punctuation in a Chinese text
    # The portal asks the transmission consent on a screen of its own: the purpose's text does not sign it.
    portal = written_consent_body(system=system, purpose=purpose, notice=notice, language="en")
    assert "over the internet" not in portal


def test_a_system_that_comes_to_need_written_consent_asks_everyone_to_sign_afresh(
    subject_client, subject, system, purpose
):
    held = factories.holding(subject, system)
    unsigned = held.consent
    system.requires_written_consent = True
    system_save(actor="dpo", system=system)
    assert ConsentRecord.objects.get(pk=unsigned.pk).state == ConsentRecord.State.NEEDS_RECONSENT
    assert consent_check(system=system, subject_key=held.subject_key, purpose=purpose.code) == (
        False,
        "needs_reconsent",
    )

    url = reverse("portal:consent_give", args=[system.pk, purpose.code])
    _text, fingerprint = _shown(subject_client.get(url, headers=EN).content.decode())
    subject_client.post(
        url, {"consent": "1", "agree": "on", "shown_sha256": fingerprint, "signature_name": "王小明"}, headers=EN
    )
    signed = ConsentRecord.objects.get(subject=subject, system=system, state=ConsentRecord.State.ACTIVE)
    assert signed.pk != unsigned.pk and signed.method == ConsentRecord.Method.WRITTEN
    assert hashlib.sha256(signed_consent_text(signed).encode()).hexdigest() == signed.artifact_sha256
    assert ConsentRecord.objects.get(pk=unsigned.pk).state == ConsentRecord.State.SUPERSEDED
