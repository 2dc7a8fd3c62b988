"""A restriction (PIPL Art 44) and its lifting travel the deletion ledger as instructions: push, pull and manual."""

import pytest
from django.core import mail
from django.urls import reverse

from dataops.deletions.delivery.manual import ManualChannel, confirmation_link
from dataops.deletions.delivery.push import PushChannel
from dataops.deletions.intake import rights_request_submit
from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.propagations import PropagationError, propagation_confirm
from dataops.deletions.tasks import propagations_dispatch
from dataops.registry.holdings import consent_check
from dataops.registry.models import Holding
from dataops.requests.models import Request
from tests import factories

pytestmark = pytest.mark.django_db

Action = DeletionRequest.Action


def _restrict(subject, system=None, *, lift=False) -> Request:
    return rights_request_submit(
        actor="user:1",
        subject=subject,
        type=Request.Type.RESTRICTION_LIFT if lift else Request.Type.RESTRICTION,
        system=system,
    )


def _instruction(request: Request) -> DeletionRequest:
    return request.deletion_requests.get()


def test_a_restriction_is_sent_to_each_system_and_the_request_completes_when_all_confirm(subject, system, entity):
    other = factories.active_system(entity=entity, purpose=system.purposes.first())
    held = [factories.holding(subject, system, key="R-1"), factories.holding(subject, other, key="R-2")]
    request = _restrict(subject)
    instruction = _instruction(request)
    assert instruction.action == Action.RESTRICT
    assert sorted(instruction.propagations.values_list("subject_key", flat=True)) == ["R-1", "R-2"]
    assert Request.objects.get(pk=request.pk).state == Request.State.RECEIVED  # open until every system confirms
    first, second = instruction.propagations.order_by("subject_key")
    propagation_confirm(actor="system:1", propagation=first, outcome="applied", evidence={"log": 1})
    assert Request.objects.get(pk=request.pk).state == Request.State.RECEIVED
    propagation_confirm(actor="system:2", propagation=second, outcome="applied", evidence={"log": 2})
    assert Request.objects.get(pk=request.pk).state == Request.State.COMPLETED
    # Confirming a restriction deletes nothing: the data is kept, and processing stays refused.
    assert {h.status for h in Holding.objects.filter(pk__in=[h.pk for h in held])} == {Holding.Status.RESTRICTED}
    assert consent_check(system=system, subject_key="R-1", purpose=held[0].consent.purpose.code) == (
        False,
        "restricted",
    )


def test_a_restriction_cannot_be_confirmed_as_a_deletion_nor_a_deletion_as_applied(subject, system):
    factories.holding(subject, system, key="R-1")
    restriction = _instruction(_restrict(subject)).propagations.get()
    with pytest.raises(PropagationError):
        propagation_confirm(actor="t", propagation=restriction, outcome="deleted", evidence={"x": 1})
    with pytest.raises(PropagationError):
        propagation_confirm(actor="t", propagation=restriction, outcome="held", evidence={"x": 1}, reason="law")
    assert Propagation.objects.get(pk=restriction.pk).state == Propagation.State.PENDING
    assert Holding.objects.get(subject_key="R-1").status == Holding.Status.RESTRICTED
    deletion = _instruction(
        rights_request_submit(actor="user:1", subject=subject, type=Request.Type.DELETION)
    ).propagations.get()
    with pytest.raises(PropagationError):
        propagation_confirm(actor="t", propagation=deletion, outcome="applied", evidence={"x": 1})


def test_lifting_sends_a_lift_instruction_only_where_the_restriction_was(subject, system, entity):
    other = factories.active_system(entity=entity, purpose=system.purposes.first())
    factories.holding(subject, system, key="R-1")
    factories.holding(subject, other, key="R-2")
    _restrict(subject, system)
    lifted = _instruction(_restrict(subject, lift=True))
    assert lifted.action == Action.LIFT_RESTRICTION
    assert list(lifted.propagations.values_list("subject_key", flat=True)) == ["R-1"]  # R-2 was never restricted


def test_a_system_that_does_not_receive_restrictions_learns_it_from_the_consent_check_only(subject, system):
    system.receives_restrictions = False
    system.save(update_fields=["receives_restrictions"])
    holding = factories.holding(subject, system, key="R-1")
    request = _restrict(subject)
    assert not request.deletion_requests.exists()
    assert Request.objects.get(pk=request.pk).state == Request.State.COMPLETED
    assert consent_check(system=system, subject_key="R-1", purpose=holding.consent.purpose.code) == (
        False,
        "restricted",
    )


def test_push_carries_the_action_and_the_system_keeps_the_data(entity, purpose, subject, simulated_push):
    simulator = simulated_push(keys=["KEY-1"])
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    factories.holding(subject, system, key="KEY-1")
    request = _restrict(subject)
    propagations_dispatch(system.pk)
    p = _instruction(request).propagations.get()
    assert p.state == Propagation.State.APPLIED
    assert p.evidence["system_evidence"]["log_id"] == p.idempotency_key
    assert simulator.store.inventory() == ["KEY-1"] and simulator.store.is_restricted("KEY-1")
    lift = _instruction(_restrict(subject, lift=True))
    propagations_dispatch(system.pk)
    assert lift.propagations.get().state == Propagation.State.APPLIED
    assert not simulator.store.is_restricted("KEY-1") and simulator.store.inventory() == ["KEY-1"]
    assert Request.objects.filter(type__startswith="restriction", state=Request.State.COMPLETED).count() == 2


def test_a_push_answer_that_deleted_instead_of_restricting_is_no_confirmation(
    entity, purpose, subject, simulated_push, monkeypatch
):
    simulator = simulated_push(keys=["KEY-1"])
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    factories.holding(subject, system, key="KEY-1")
    p = _instruction(_restrict(subject)).propagations.select_related("deletion_request").get()
    monkeypatch.setattr(simulator.store, "apply", lambda *args: ("deleted", {"oops": True}))
    PushChannel().deliver(system, [p])
    p.refresh_from_db()
    assert p.state == Propagation.State.PENDING  # sent again later, the DPO sees why
    assert "'deleted'" in p.last_error and "restricted" in p.last_error


def test_a_pull_device_reads_the_action_and_acknowledges_with_the_answer_that_fits(client, subject, device):
    system, token = device
    factories.holding(subject, system, key="DEV-1")
    request = _restrict(subject)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    [item] = client.get(f"/api/v1/systems/{system.pk}/deletions?after=1", **auth).json()["instructions"]
    assert item["action"] == "restrict" and item["subject_key"] == "DEV-1"
    url = f"/api/v1/systems/{system.pk}/deletions/{item['id']}/ack"
    wrong = client.post(url, {"status": "deleted", "evidence": {"n": 1}}, content_type="application/json", **auth)
    assert wrong.status_code == 400 and wrong.json()["error"] == "outcome"
    assert "restricted" in wrong.json()["detail"]
    right = client.post(url, {"status": "restricted", "evidence": {"n": 1}}, content_type="application/json", **auth)
    assert right.status_code == 200 and right.json()["state"] == "applied"
    assert Request.objects.get(pk=request.pk).state == Request.State.COMPLETED
    assert Holding.objects.get(subject_key="DEV-1").status == Holding.Status.RESTRICTED


def test_a_vendor_without_an_api_is_asked_to_restrict_and_confirms_on_its_page(client, subject, entity, purpose):
    system = factories.active_system(entity=entity, purpose=purpose, integration="manual", webhook_url="")
    factories.holding(subject, system, key="V-1")
    request = _restrict(subject)
    p = _instruction(request).propagations.select_related("deletion_request").get()
    mail.outbox.clear()
    ManualChannel().deliver(system, [p])
    [email] = mail.outbox
    assert "V-1" in email.body and "限制" in email.subject
    link = confirmation_link(Propagation.objects.get(pk=p.pk))
    page = client.get(link, headers={"Accept-Language": "en"})
    text = page.content.decode()
    assert "Confirm a restriction" in text and 'value="restricted"' in text and 'value="deleted"' not in text
    done = client.post(
        link,
        {"outcome": "restricted", "performed_by": "Li, IT", "performed_at": "2026-12-01T10:00"},
        headers={"Accept-Language": "en"},
    )
    assert done.status_code == 200
    assert Propagation.objects.get(pk=p.pk).state == Propagation.State.APPLIED
    assert Request.objects.get(pk=request.pk).state == Request.State.COMPLETED


def test_the_person_follows_the_restriction_at_each_system_and_gets_no_deletion_certificate(client, subject, system):
    factories.holding(subject, system, key="R-1")
    factories.subject_login(client, subject)
    request = _restrict(subject)
    instruction = _instruction(request)
    detail = client.get(reverse("portal:request_detail", args=[request.reference]), headers={"Accept-Language": "en"})
    assert reverse("portal:deletion_status", args=[instruction.reference]) in detail.content.decode()
    propagation_confirm(actor="t", propagation=instruction.propagations.get(), outcome="applied", evidence={"log": 1})
    page = client.get(
        reverse("portal:deletion_status", args=[instruction.reference]), headers={"Accept-Language": "en"}
    )
    text = page.content.decode()
    assert "Restrict processing" in text and "restricted: kept, and no one is processed with it" in text
    assert "deletion certificate" not in text
    certificate = reverse("portal:deletion_certificate", args=[instruction.reference])
    assert client.get(certificate).status_code == 404
    dashboard = client.get(reverse("portal:dashboard"), headers={"Accept-Language": "en"}).content.decode()
    assert instruction.reference not in dashboard  # "my deletions" lists deletions only
