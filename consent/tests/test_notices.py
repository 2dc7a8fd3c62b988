import pytest
from django.core.exceptions import ValidationError

from consent.models import Notice, NoticeImmutable
from consent.services import notice_current, notice_publish
from facerights.services import record_save
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft_system(entity, site, purpose):
    return factories.draft_system(entity=entity, site=site, purpose=purpose)


def test_a_notice_missing_a_required_item_cannot_be_published(draft_system):
    notice = record_save(
        actor="t", instance=Notice(system=draft_system, **{**factories.NOTICE_TEXT, "retention_en": " "})
    )
    with pytest.raises(ValidationError) as info:
        notice_publish(actor="t", notice=notice)
    assert set(info.value.message_dict) == {"retention_en"}
    notice.refresh_from_db()
    assert notice.status == Notice.Status.DRAFT


def test_publishing_numbers_versions_and_freezes_the_text(draft_system):
    first = factories.published_notice(draft_system)
    second = factories.published_notice(draft_system, purpose_zh="新的目的")
    assert (first.version, second.version) == (1, 2)
    assert second.snapshot["zh"]["purpose"] == "新的目的"
    assert len(second.digest) == 64 and second.digest != first.digest
    assert notice_current(draft_system) == second


def test_publishing_twice_is_safe(draft_system):
    notice = factories.published_notice(draft_system)
    again = notice_publish(actor="t", notice=notice)
    assert (again.version, again.digest) == (notice.version, notice.digest)


def test_a_published_notice_never_changes(draft_system):
    notice = factories.published_notice(draft_system)
    notice.purpose_zh = "偷偷修改"
    with pytest.raises(NoticeImmutable):
        notice.save()
    with pytest.raises(NoticeImmutable):
        notice.delete()
    notice.refresh_from_db()
    assert notice.purpose_zh == "purpose (zh)"
    assert notice.snapshot["zh"]["purpose"] == "purpose (zh)"


def test_the_admin_offers_no_change_to_a_published_notice(admin_client, draft_system):
    notice = factories.published_notice(draft_system)
    response = admin_client.post(f"/admin/consent/notice/{notice.pk}/change/", {"purpose_zh": "changed"})
    notice.refresh_from_db()
    assert notice.purpose_zh == "purpose (zh)"
    assert response.status_code == 403  # a published notice is evidence: not even a superuser changes it


def test_a_notice_that_names_no_alternative_cannot_be_published(draft_system):
    # Used to pass: the alternatives were optional, so a notice could leave people thinking the face was the only way.
    notice = record_save(
        actor="t",
        instance=Notice(system=draft_system, **{**factories.NOTICE_TEXT, "alternatives_zh": "", "alternatives_en": ""}),
    )
    with pytest.raises(ValidationError) as info:
        notice_publish(actor="t", notice=notice)
    assert set(info.value.message_dict) == {"alternatives_zh", "alternatives_en"}


@pytest.mark.parametrize(
    ("field", "text", "phrase"),
    [
        ("method_zh", "进入大堂必须刷脸，请配合。", "必须刷脸"),
        ("purpose_zh", "本小区只能通过人脸识别进出。", "只能通过人脸"),
        ("method_en", "Face  Scan Required at the gate.", "Face Scan Required"),
        ("rights_en", "Guests must scan your face to check in.", "must scan your face"),
    ],
)
def test_coercive_wording_is_refused_with_the_phrase_named(draft_system, field, text, phrase):
    with pytest.raises(ValidationError) as info:
        record_save(actor="t", instance=Notice(system=draft_system, **{**factories.NOTICE_TEXT, field: text}))
    assert set(info.value.message_dict) == {field}
    assert f"“{phrase}”" in info.value.message_dict[field][0]
    assert not Notice.objects.filter(system=draft_system).exists()


def test_a_notice_that_mentions_faces_without_compulsion_is_published(draft_system):
    notice = factories.published_notice(
        draft_system,
        method_zh="您可以选择刷脸通行，也可以使用门禁卡或由保安核验证件。",
        method_en="You may use your face at the gate, or your card, or have the guard check your ID.",
    )
    assert notice.status == Notice.Status.PUBLISHED
