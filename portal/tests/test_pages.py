import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent.services import subject_link_user
from dataops.models import Holding, ProcessingSystem
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_home_page_lists_active_systems_and_the_dpo_before_sign_in(client, system, entity):
    draft = factories.draft_system(entity=entity, purpose=system.purposes.first(), name_zh="草稿系统")
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert system.name_zh in body and entity.dpo_email in body
    assert draft.name_zh not in body


def test_a_designated_officer_is_named_as_such_on_the_home_and_contact_pages(client, system, entity):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    for url in ("/", reverse("portal:contact")):
        assert "Personal information contact:" in client.get(url).content.decode()
    entity.pipo_designated = True
    entity.save()
    for url in ("/", reverse("portal:contact")):
        body = client.get(url).content.decode()
        assert "Personal information protection officer (PIPL Art 52):" in body and entity.dpo_email in body


def test_the_page_is_chinese_first_and_english_on_request(client, system):
    assert 'lang="zh-Hans"' in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert 'lang="en"' in client.get("/").content.decode()


def test_the_processing_rules_show_the_published_notice(client, system):
    response = client.get(reverse("portal:processing_rules", args=[system.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "retention (zh)" in body
    assert system.notices.get().digest in body


def test_a_draft_system_has_no_public_rules_page(client, entity, purpose):
    draft = factories.draft_system(entity=entity, purpose=purpose)
    factories.published_notice(draft)
    assert client.get(reverse("portal:processing_rules", args=[draft.pk])).status_code == 404


def test_the_dashboard_needs_sign_in(client):
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_dashboard_lists_my_holdings_and_nobody_elses(client, subject, other_subject, system, entity, purpose):
    mine = factories.holding(subject, system, key="MINE-1")
    theirs_system = factories.active_system(entity=entity, purpose=purpose, name_zh="别人的系统")
    factories.holding(other_subject, theirs_system, key="THEIRS-1")
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    response = client.get(reverse("portal:dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert mine.system.name_zh in body
    assert "别人的系统" not in body
    assert "no-store" in response["Cache-Control"]


def test_an_unlinked_account_sees_a_helpful_empty_state(client):
    client.force_login(factories.user_with_role("data_subject"))
    response = client.get(reverse("portal:dashboard"))
    assert "您的账户尚未关联任何人脸信息。" in response.content.decode()  # the portal speaks Chinese first


def test_the_dashboard_query_count_is_the_same_with_3_holdings_and_with_300(client, subject, system):

    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    fields = {f.name: getattr(system, f.name) for f in ProcessingSystem._meta.concrete_fields if f.name != "id"}
    systems = ProcessingSystem.objects.bulk_create(
        [ProcessingSystem(**{**fields, "name_zh": f"系统{n}"}) for n in range(300)]
    )
    now = timezone.now()

    def hold(some):
        Holding.objects.bulk_create(
            [
                Holding(
                    subject=subject,
                    system=s,
                    subject_key=f"K{s.pk}",
                    data_kind="template",
                    enrolled_at=now,
                    retention_until=now.date(),
                )
                for s in some
            ]
        )

    hold(systems[:3])
    with CaptureQueriesContext(connection) as three:
        assert client.get(reverse("portal:dashboard")).content.decode().count('class="holding"') == 3
    hold(systems[3:])
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("portal:dashboard")).content.decode().count('class="holding"') == 300
    assert len(many) == len(three)
