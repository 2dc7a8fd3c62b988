"""A deletion for a system that cannot receive it now is never silent: the DPO, the dashboard and the person are told."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from consent.services import subject_link_user
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.tasks import deletions_deliver
from dataops.registry.models import ProcessingSystem
from dataops.registry.services import system_deliveries_pause
from portal.tests.test_me import signed_in_now
from tests import factories

pytestmark = pytest.mark.django_db
EN = {"Accept-Language": "en"}


@pytest.fixture
def waiting(subject, entity, purpose):
    """A person held by a draft system and by an active one whose deliveries are paused."""
    draft = factories.active_system(entity=entity, purpose=purpose, name_zh="未接入的闸机")
    paused = factories.active_system(entity=entity, purpose=purpose, name_zh="暂停的自助机")
    for system in (draft, paused):
        factories.holding(subject, system)
    # Its vendor's holdings were loaded, and it went back to draft to be connected again.
    ProcessingSystem.objects.filter(pk=draft.pk).update(status=ProcessingSystem.Status.DRAFT)
    draft.refresh_from_db()
    system_deliveries_pause(actor="t", system=paused, paused=True)
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    return deletion, draft, paused


def test_the_dpo_is_told_at_once_with_the_reason_and_once_an_hour(waiting, entity):
    deletion, draft, paused = waiting
    mail.outbox.clear()
    deletions_deliver([deletion.pk])
    told = {system.name_zh: [m for m in mail.outbox if system.name_zh in m.subject] for system in (draft, paused)}
    assert [len(messages) for messages in told.values()] == [1, 1]
    assert "连接测试" in told[draft.name_zh][0].body and "暂停" in told[paused.name_zh][0].body
    assert all(m.to == [entity.dpo_email] for m in mail.outbox)
    deletions_deliver([deletion.pk])
    assert len(mail.outbox) == 2  # not again within the hour


def test_the_dashboard_names_systems_that_receive_no_deletions(waiting):
    dpo = Client()
    factories.staff_login(dpo, factories.user_with_role("dpo", is_staff=True))
    page = dpo.get(reverse("admin:index"), headers=EN).content.decode()
    assert "receives no deletions: not connected yet" in page and "receives no deletions: deliveries paused" in page


def test_the_person_reads_that_the_system_has_not_received_it_yet(client, subject, waiting):
    deletion, draft, paused = waiting
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user)
    page = client.get(reverse("portal:deletion_status", args=[deletion.reference]), headers=EN).content.decode()
    assert page.count("has not received the instruction yet") == 2
    assert "not connected yet" in page and "paused by the data-protection officer" in page
    live = client.get(
        reverse("portal:deletion_status_json", args=[deletion.reference]), headers={**EN, "Accept": "application/json"}
    )
    assert all("has not received" in row["waiting"] for row in live.json()["systems"])


def test_every_wait_is_explained_with_who_and_by_when(client, subject, system):
    factories.holding(subject, system)
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request", systems=[system])
    deletion.propagations.update(state="sent")
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    client.force_login(user)
    signed_in_now(client, user)
    page = client.get(reverse("portal:deletion_status", args=[deletion.reference]), headers=EN).content.decode()
    where = system.site.name_zh if system.site else system.name_zh
    assert f"The system at {where} has not answered yet; the company must confirm by" in page
