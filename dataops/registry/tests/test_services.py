"""State changes of the registry: places, systems and their gates, changes of method, assessments."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.models import ConsentRecord, Purpose
from dataops.registry.models import ImpactAssessment, ProcessingSystem, Site
from dataops.registry.services import (
    impact_assessment_deletable,
    impact_assessment_delete,
    impact_assessment_flag,
    system_activate,
    system_retire,
    system_save,
    system_suspend,
)
from facerights.models import AuditEvent
from facerights.services import TransitionError, record_save
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_private_space_is_refused_with_a_clear_error(entity):
    with pytest.raises(ValidationError) as info:
        factories.site(entity, is_private_space=True)
    assert "private spaces" in " ".join(info.value.message_dict["is_private_space"])
    assert not Site.objects.filter(is_private_space=True).exists()


def test_the_database_refuses_a_private_space_even_past_the_service(entity):
    site = factories.site(entity)
    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.filter(pk=site.pk).update(is_private_space=True)


def test_a_public_place_needs_signage(entity):
    with pytest.raises(ValidationError) as info:
        factories.site(entity, signage_present=False)
    assert "signage_present" in info.value.message_dict


def test_no_activation_without_an_approved_assessment(entity, site, purpose):
    system = factories.draft_system(entity=entity, site=site, purpose=purpose)
    factories.published_notice(system)
    with pytest.raises(TransitionError) as info:
        system_activate(actor="t", system=system)
    assert "impact assessment" in " ".join(info.value.messages)
    system.refresh_from_db()
    assert system.status == ProcessingSystem.Status.DRAFT


def test_no_activation_of_a_verifying_system_without_an_alternative(entity, site, purpose):
    system = factories.draft_system(entity=entity, site=site, purpose=purpose, alternatives=[])
    factories.approved_assessment(entity, [system])
    factories.published_notice(system)
    with pytest.raises(TransitionError) as info:
        system_activate(actor="t", system=system)
    assert "non-face alternative" in " ".join(info.value.messages)


def test_a_system_that_recognises_no_one_needs_no_alternative(entity, purpose):
    system = factories.draft_system(
        entity=entity,
        purpose=purpose,
        kind="processor",
        integration="manual",
        recognition="none",
        alternatives=[],
        contract_reference="DPA-1",
    )
    factories.approved_assessment(entity, [system])
    factories.published_notice(system)
    factories.passed_connection_test(system)
    assert system_activate(actor="t", system=system).status == ProcessingSystem.Status.ACTIVE


def test_no_activation_without_a_published_notice(entity, site, purpose):
    system = factories.draft_system(entity=entity, site=site, purpose=purpose)
    factories.approved_assessment(entity, [system])
    with pytest.raises(TransitionError) as info:
        system_activate(actor="t", system=system)
    assert "published notice" in " ".join(info.value.messages)


def test_activation_when_every_gate_passes_is_audited_and_idempotent(system):
    assert system.status == ProcessingSystem.Status.ACTIVE
    assert system_activate(actor="t", system=system).status == ProcessingSystem.Status.ACTIVE
    assert AuditEvent.objects.filter(action="system.active", object_id=str(system.pk)).count() == 1


def test_an_illegal_transition_raises(entity, site, purpose):
    system = factories.draft_system(entity=entity, site=site, purpose=purpose)
    with pytest.raises(TransitionError):
        system_suspend(actor="t", system=system)


def test_an_entrusted_processor_needs_its_contract(entity, purpose):
    with pytest.raises(ValidationError) as info:
        factories.draft_system(entity=entity, purpose=purpose, kind="processor", recognition="none")
    assert "contract_reference" in info.value.message_dict


def test_unknown_alternatives_are_refused(entity, purpose):
    with pytest.raises(ValidationError) as info:
        factories.draft_system(entity=entity, purpose=purpose, alternatives=["smile"])
    assert "alternatives" in info.value.message_dict


def test_a_change_of_storage_flags_the_assessment_and_asks_for_renewed_consent(system, subject):
    record = factories.consent(subject, system)
    system.storage_location = ProcessingSystem.Storage.CLOUD
    system_save(actor="t", system=system)
    assessment = system.assessments.get()
    assert assessment.state == ImpactAssessment.State.NEEDS_REASSESSMENT
    assert "storage_location" in assessment.reassessment_reason
    record.refresh_from_db()
    assert record.state == ConsentRecord.State.NEEDS_RECONSENT
    assert [e.kind for e in record.events.all()] == ["given", "reconsent_required"]


def test_a_flagged_assessment_blocks_reactivation(system):
    system_suspend(actor="t", system=system)
    system.internet_transmission = True
    system_save(actor="t", system=system)
    with pytest.raises(TransitionError):
        system_activate(actor="t", system=system)


def test_a_change_of_contact_flags_nothing(system):
    system.contact_name = "新联系人"
    system_save(actor="t", system=system)
    assert system.assessments.get().state == ImpactAssessment.State.APPROVED


def test_a_change_of_purposes_flags_the_assessment(system):
    system_save(actor="t", system=system, purposes=[*system.purposes.all(), factories.purpose()])
    assert system.assessments.get().state == ImpactAssessment.State.NEEDS_REASSESSMENT


def test_an_approved_assessment_cannot_be_deleted_within_three_years(system):
    assessment = system.assessments.get()
    ImpactAssessment.objects.filter(pk=assessment.pk).update(approved_at=timezone.now() - dt.timedelta(days=2 * 365))
    assessment.refresh_from_db()
    with pytest.raises(TransitionError):
        impact_assessment_delete(actor="t", assessment=assessment)
    assert ImpactAssessment.objects.filter(pk=assessment.pk).exists()


def test_an_assessment_in_use_is_kept_however_old_it_is(system):
    # Used to pass: four years after approval an assessment could be deleted while its system still ran.
    assessment = system.assessments.get()
    ImpactAssessment.objects.filter(pk=assessment.pk).update(approved_at=timezone.now() - dt.timedelta(days=4 * 365))
    assessment.refresh_from_db()
    with pytest.raises(TransitionError):
        impact_assessment_delete(actor="t", assessment=assessment)
    assert ImpactAssessment.objects.filter(pk=assessment.pk).exists()


def test_a_superseded_assessment_is_kept_three_years_from_the_day_it_was_replaced(system):
    old = system.assessments.get()
    new = factories.approved_assessment(system.entity, [system])
    old.refresh_from_db()
    assert old.superseded_at == new.approved_at
    assert AuditEvent.objects.filter(action="assessment.superseded", object_id=str(old.pk)).exists()
    assert not impact_assessment_deletable(old)
    anniversary = _three_years_after(timezone.localdate(old.superseded_at))
    assert not impact_assessment_deletable(old, today=anniversary)
    assert impact_assessment_deletable(old, today=anniversary + dt.timedelta(days=1))
    assert not impact_assessment_deletable(new, today=anniversary + dt.timedelta(days=10 * 365))


def test_an_assessment_is_kept_three_years_from_the_end_of_its_processing(system):
    assessment = system.assessments.get()
    system = system_retire(actor="t", system=system)
    anniversary = _three_years_after(timezone.localdate(system.retired_at))
    assert not impact_assessment_deletable(assessment, today=anniversary)
    assert impact_assessment_deletable(assessment, today=anniversary + dt.timedelta(days=1))


def _three_years_after(day):
    return day.replace(year=day.year + 3) if (day.month, day.day) != (2, 29) else dt.date(day.year + 3, 3, 1)


def test_an_active_system_that_verifies_identity_keeps_an_alternative(system):
    # Used to pass: the DPO could empty the alternatives of a running gate, leaving the face as the only way in.
    assert system.status == ProcessingSystem.Status.ACTIVE and system.verifies_identity
    system.alternatives = []
    with pytest.raises(ValidationError) as info:
        system_save(actor="t", system=system)
    assert set(info.value.message_dict) == {"alternatives"}
    system.refresh_from_db()
    assert system.alternatives == ["card"]


def test_a_system_that_transmits_cannot_be_activated_without_the_transmission_consent(entity, purpose):
    # Used to pass: a system sending faces over the internet went live asking only for the purpose.
    system = factories.draft_system(entity=entity, purpose=purpose, internet_transmission=True)
    factories.approved_assessment(entity, [system])
    factories.published_notice(system)
    factories.passed_connection_test(system)
    with pytest.raises(TransitionError) as info:
        system_activate(actor="t", system=system)
    assert "over the internet" in " ".join(info.value.messages)
    system_save(actor="t", system=system, purposes=[purpose, Purpose.objects.get(code=Purpose.TRANSMISSION)])
    factories.approved_assessment(entity, [system])  # a new purpose is a change to assess
    assert system_activate(actor="t", system=system).status == ProcessingSystem.Status.ACTIVE


def test_an_unapproved_sub_processor_cannot_be_recorded(entity, purpose):
    system = factories.draft_system(
        entity=entity, purpose=purpose, kind=ProcessingSystem.Kind.PROCESSOR, contract_reference="HT-1"
    )
    system.subprocessor = "某云服务公司"
    with pytest.raises(ValidationError) as info:
        system_save(actor="t", system=system)
    assert set(info.value.message_dict) == {"subprocessor"}
    system.subprocessing_approved = True
    assert system_save(actor="t", system=system).subprocessor == "某云服务公司"


def test_flagging_a_draft_is_an_illegal_transition(entity):
    draft = record_save(
        actor="t",
        instance=ImpactAssessment(entity=entity, title="d", lawfulness="a", impact="b", risks="c", measures="d"),
    )
    with pytest.raises(TransitionError):
        impact_assessment_flag(actor="t", assessment=draft, reason="x")


def test_a_rolled_back_change_leaves_no_audit_event(system):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        system_suspend(actor="t", system=system)
        assert AuditEvent.objects.count() == before + 1
        raise RuntimeError("the caller's transaction fails later")
    system.refresh_from_db()
    assert system.status == ProcessingSystem.Status.ACTIVE
    assert AuditEvent.objects.count() == before


def test_a_system_whose_cross_border_transfer_is_unknown_cannot_be_activated(entity, purpose):
    system = factories.draft_system(entity=entity, purpose=purpose, cross_border=None)
    factories.approved_assessment(entity, [system])
    factories.published_notice(system)
    factories.passed_connection_test(system)
    with pytest.raises(TransitionError) as info:
        system_activate(actor="t", system=system)
    assert "outside mainland China" in " ".join(info.value.messages)
    system.cross_border = False
    system_save(actor="t", system=system)
    assert system_activate(actor="t", system=system).status == ProcessingSystem.Status.ACTIVE
