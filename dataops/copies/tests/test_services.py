"""Copies of a person's data past their download window are destroyed, each with its audit event."""

import datetime as dt
import io
import json
import zipfile

import jsonschema_rs
import pytest
from django.utils import timezone

from dataops.copies.models import DataExport
from dataops.copies.services import export_build, export_download, export_request, exports_expire
from dataops.deletions.opening import deletion_request_open
from facerights.models import AuditEvent
from tests import factories
from tests.reading import pdf_text, raw_codes

pytestmark = pytest.mark.django_db


def test_an_expired_copy_is_destroyed_and_recorded_and_a_fresh_one_is_kept(subject):
    user = factories.user_with_role("data_subject")
    old = export_request(actor="t", user=user, subject=subject, language="en")
    fresh = export_request(actor="t", user=user, subject=subject, language="en")
    export_build(export_id=old.pk)
    export_build(export_id=fresh.pk)
    DataExport.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    assert exports_expire(actor="task:copies_expire") == 1
    old.refresh_from_db()
    assert old.state == DataExport.State.EXPIRED and old.ciphertext is None
    assert DataExport.objects.get(pk=fresh.pk).state == DataExport.State.READY
    assert AuditEvent.objects.filter(action="export.expired", object_id=str(old.pk)).count() == 1
    assert exports_expire(actor="task:copies_expire") == 0  # nothing twice


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_copy_shows_every_code_as_its_label_and_explains_the_codes_in_its_data(subject, system, language):
    # Used to pass: the PDF listed "active", "given", "subject_request" and "template" as stored.
    factories.holding(subject, system)
    deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    user = factories.user_with_role("data_subject")
    export = export_request(actor="t", user=user, subject=subject, language=language)
    export_build(export_id=export.pk)
    with zipfile.ZipFile(io.BytesIO(export_download(export=DataExport.objects.get(pk=export.pk), user=user))) as z:
        text = pdf_text(z.read("facerights-data.pdf"))
        data = json.loads(z.read("facerights-data.json"))
    lang = "zh" if language.startswith("zh") else "en"
    assert raw_codes(text, lang) == set(), raw_codes(text, lang)
    expected = {"zh": ("人脸模板", "本人提出申请"), "en": ("face template", "the person asked")}[lang]
    for label in expected:
        assert label in text.replace("\n", " "), label
    # The JSON keeps the codes for machines and says what each means, in both languages.
    assert data["holdings"][0]["kind_of_data"] == "template"
    assert data["legend"]["holdings.kind_of_data"]["template"] == {"zh": "人脸模板", "en": "face template"}


def test_the_copy_is_machine_readable_to_its_documented_schema_and_carries_it(subject, system):
    # PIPL Art 45: a copy the person can hand to another company, with its schema beside it.
    factories.holding(subject, system)
    deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    user = factories.user_with_role("data_subject")
    export = export_request(actor="t", user=user, subject=subject, language="zh-hans")
    export_build(export_id=export.pk)
    with zipfile.ZipFile(io.BytesIO(export_download(export=DataExport.objects.get(pk=export.pk), user=user))) as z:
        data = json.loads(z.read("facerights-data.json"))
        schema = json.loads(z.read("facerights-data.schema.json"))
    assert data["schema"] == schema["$id"] == "facerights-data/1"
    jsonschema_rs.validator_for(schema).validate(data)
    # The schema is strict: a field it does not document is refused, so it cannot drift from the data.
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validator_for(schema).validate({**data, "face_template": "..."})


def test_the_copys_readme_is_in_the_persons_language(subject, system):
    factories.holding(subject, system)
    user = factories.user_with_role("data_subject")
    export = export_request(actor="t", user=user, subject=subject, language="zh-hans")
    export_build(export_id=export.pk)
    with zipfile.ZipFile(io.BytesIO(export_download(export=DataExport.objects.get(pk=export.pk), user=user))) as z:
        readme = z.read("README.txt").decode()
    assert "北京时间" in readme and "人脸" in readme and "Beijing" not in readme
