"""A system changes hands (PIPL Art 22): recorded, the people told, consents kept, enrolments paused."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from dataops.registry.holdings import consent_check
from dataops.registry.models import ProcessingSystem, SystemTransfer
from dataops.registry.tasks import transfer_notify_task
from dataops.registry.transfers import system_transfer
from facerights.models import AuditEvent
from facerights.sms import MemorySmsBackend
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def recipient():
    entity = factories.entity(name_zh="新物业公司")
    return entity, factories.site(entity, name_zh="新物业一号门")


def _transfer(system, recipient, **overrides):
    entity, site = recipient
    fields = {
        "to_entity": entity,
        "kind": "sale",
        "effective_on": timezone.localdate(),
        "recipient_contact": "李经理 400-800-1234",
        "site": site,
    }
    return system_transfer(actor="dpo", system=system, **{**fields, **overrides})


def test_a_transfer_moves_the_system_keeps_consents_and_tells_everyone_it_holds(
    subject, other_subject, system, recipient, settings
):
    settings.FACERIGHTS_SMS_BACKEND = "facerights.sms.MemorySmsBackend"
    held = factories.holding(subject, system, key="T-1")
    factories.holding(other_subject, system, key="T-2")
    transfer = _transfer(system, recipient)

    system.refresh_from_db()
    assert (system.entity, system.site) == recipient
    assert system.enrolments_paused  # the notice still names the old handler
    purpose = system.purposes.first().code
    assert consent_check(system=system, subject_key=held.subject_key, purpose=purpose) == (True, "consent_active")
    assert AuditEvent.objects.filter(action="system.transferred", object_id=str(system.pk)).count() == 1

    assert transfer_notify_task(transfer.pk) == 2
    [email] = mail.outbox
    assert email.to == ["wang@example.com"]
    assert "新物业公司" in email.body and "李经理 400-800-1234" in email.body
    [(phone, text)] = MemorySmsBackend.outbox
    assert phone == "+8613900139000" and "新物业公司" in text
    transfer.refresh_from_db()
    assert transfer.people_told == 2 and transfer.told_at is not None
    assert transfer_notify_task(transfer.pk) == 0  # told once


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"effective_on": timezone.localdate() + dt.timedelta(days=1)}, "effective_on"),
        ({"recipient_contact": "  "}, "recipient_contact"),
        ({"site": None}, "site"),
        ({"kind": "gift"}, "kind"),
    ],
    ids=["future", "no-contact", "site-left-behind", "unknown-kind"],
)
def test_a_transfer_that_does_not_hold_is_refused_and_changes_nothing(system, recipient, overrides, field):
    entity = system.entity
    with pytest.raises(ValidationError) as info:
        _transfer(system, recipient, **overrides)
    assert field in info.value.message_dict
    system.refresh_from_db()
    assert system.entity == entity and not system.enrolments_paused
    assert not SystemTransfer.objects.exists()


def test_the_dpo_records_a_transfer_in_the_admin(dpo_client, system, recipient):
    entity, site = recipient
    url = reverse("admin:dataops_processingsystem_changelist")
    action = {"action": "transfer", "_selected_action": [system.pk]}
    assert "新物业公司" in dpo_client.post(url, action).content.decode()
    form = {
        **action,
        "apply": "1",
        "to_entity": entity.pk,
        "kind": "merger",
        "effective_on": timezone.localdate().isoformat(),
        "recipient_contact": "李经理 400-800-1234",
        "site": site.pk,
    }
    refused = dpo_client.post(url, {**form, "recipient_contact": ""})
    assert refused.status_code == 200 and ProcessingSystem.objects.get(pk=system.pk).entity != entity
    assert dpo_client.post(url, form).status_code == 302
    assert ProcessingSystem.objects.get(pk=system.pk).entity == entity
