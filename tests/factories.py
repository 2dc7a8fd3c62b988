"""Builders for test data. They go through the same services as the application."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from consent.models import ConsentRecord, Notice, Purpose
from consent.services import (
    Provenance,
    consent_grant,
    guardianship_record,
    notice_current,
    notice_publish,
    subject_create,
    subject_link_user,
)
from dataops.deletions.connection_tests import connection_test_start
from dataops.deletions.propagations import propagation_confirm
from dataops.filings.documents import filing_build
from dataops.filings.services import filing_agent_set, filing_attach, filing_create, filing_generate
from dataops.models import ImpactAssessment, LegalEntity, ProcessingSystem, RegulatorAccount, Site
from dataops.registry.credentials import credential_issue
from dataops.registry.holdings import holding_record
from dataops.registry.models import DeviceGroup
from dataops.registry.services import (
    impact_assessment_approve,
    impact_assessment_submit,
    legal_rep_id_record,
    signage_evidence_add,
    system_activate,
    system_save,
)
from facerights.services import record_save

ACTOR = "test"
VALID_CREDIT_CODES = ["9144030071526726XG", "91330100716105852F", "914403001922038216", "91110000100010433L"]
_counter = itertools.count(1)

NOTICE_TEXT = {
    f"{item}_{lang}": f"{item} ({lang})"
    for item in ("handler", "purpose", "method", "retention", "necessity", "impact", "rights", "alternatives")
    for lang in ("zh", "en")
}


def entity(**overrides) -> LegalEntity:
    n = next(_counter)
    fields = {
        "name_zh": f"测试公司{n}",
        "name_en": f"Test Company {n}",
        "credit_code": VALID_CREDIT_CODES[n % len(VALID_CREDIT_CODES)],
        "province": "31",
        "registered_address": "上海市黄浦区",
        "legal_representative": "张三",
        "dpo_name": "李四",
        "dpo_email": "dpo@example.com",
        "mlps_level": "level_2",
        "mlps_record_number": "31010143001-24001",
        "incident_plan_on": dt.date(2026, 1, 10),
        "training_last_on": dt.date(2026, 3, 2),
    }
    fields.update(overrides)
    existing = LegalEntity.objects.filter(credit_code=fields["credit_code"]).first()
    if existing:
        fields["credit_code"] = next(
            c for c in VALID_CREDIT_CODES if not LegalEntity.objects.filter(credit_code=c).exists()
        )
    created = record_save(actor=ACTOR, instance=LegalEntity(**fields))
    return legal_rep_id_record(actor=ACTOR, entity=created, id_type="resident_id", number=RESIDENT_ID)


RESIDENT_ID = "11010519491231002X"  # the standard's own example number (GB 11643): valid, nobody's


def site(entity: LegalEntity, **overrides) -> Site:
    fields = {
        "entity": entity,
        "name_zh": f"门店{next(_counter)}",
        "address": "上海市",
        "is_public_place": True,
        "signage_present": True,
        "collection_area": "大堂",
    }
    fields.update(overrides)
    created = record_save(actor=ACTOR, instance=Site(**fields))
    if created.is_public_place:  # signs are stated from their evidence: a photo of them
        signage_evidence_add(
            actor=ACTOR,
            site=created,
            taken_on=dt.date(2026, 3, 1),
            collection_area=created.collection_area,
            content=SIGN_PHOTO,
            content_type="image/png",
        )
    return created


def purpose(code: str | None = None) -> Purpose:
    code = code or f"purpose-{next(_counter)}"
    return record_save(actor=ACTOR, instance=Purpose(code=code, name_zh="门禁通行", name_en="Access control"))


def draft_system(*, entity: LegalEntity, site: Site | None = None, purpose: Purpose | None = None, **overrides):
    fields = {
        "entity": entity,
        "site": site,
        "name_zh": f"闸机{next(_counter)}",
        "kind": ProcessingSystem.Kind.DEVICE,
        "integration": ProcessingSystem.Integration.PUSH,
        "alternatives": ["card"],
        "webhook_url": "http://127.0.0.1:9/webhook",
        "is_internal": True,
        "contact_email": "vendor@example.com",
        "retention_days": 30,
        "retention_justification_zh": "最短必要期限",
        "cross_border": False,
        "recognition_mode": ProcessingSystem.Mode.REAL_TIME,
    }
    if overrides.get("kind") in (ProcessingSystem.Kind.PROCESSOR, ProcessingSystem.Kind.RECIPIENT):
        fields.update(counterparty_name="示例云科技有限公司", provision_purpose="人脸核验服务")
    fields.update(overrides)
    system = system_save(actor=ACTOR, system=ProcessingSystem(**fields), purposes=[purpose] if purpose else [])
    if system.kind in (ProcessingSystem.Kind.DEVICE, ProcessingSystem.Kind.CENTRAL):
        record_save(actor=ACTOR, instance=DeviceGroup(system=system, kind="gate", count=2, location="大堂入口"))
    return system


def approved_assessment(entity: LegalEntity, systems) -> ImpactAssessment:
    assessment = record_save(
        actor=ACTOR,
        instance=ImpactAssessment(
            entity=entity, title="PIA", lawfulness="a", impact="b", risks="c", measures="d", reviewer="李四"
        ),
    )
    assessment.systems.set(systems)
    impact_assessment_submit(actor=ACTOR, assessment=assessment)
    return impact_assessment_approve(actor=ACTOR, assessment=assessment)


def published_notice(system: ProcessingSystem, **overrides) -> Notice:
    notice = record_save(actor=ACTOR, instance=Notice(system=system, **{**NOTICE_TEXT, **overrides}))
    return notice_publish(actor=ACTOR, notice=notice)


def passed_connection_test(system):
    """Run a connection test and have the system confirm it, as it would over its channel."""

    test = connection_test_start(actor=ACTOR, system=system)
    propagation = test.deletion_request.propagations.get()
    propagation_confirm(actor=ACTOR, propagation=propagation, outcome="not_found", evidence={"connection_test": True})
    return test


def transmission_purpose() -> Purpose:
    """The consent type a migration creates; made again after a transactional test's flush removed it."""
    if not Purpose.objects.filter(code=Purpose.TRANSMISSION).exists():
        importlib.import_module("consent.migrations.0008_transmission_purpose").create(django_apps, None)
    return Purpose.objects.get(code=Purpose.TRANSMISSION)


def active_system(
    *, entity: LegalEntity, site: Site | None = None, purpose: Purpose, transmits: bool = False, **overrides
):
    """An active system; one that `transmits` sends faces over the internet and asks for that consent too."""
    system = draft_system(entity=entity, site=site, purpose=purpose, internet_transmission=transmits, **overrides)
    if transmits:
        system_save(actor=ACTOR, system=system, purposes=[purpose, transmission_purpose()])
    approved_assessment(entity, [system])
    published_notice(system)
    passed_connection_test(system)
    return system_activate(actor=ACTOR, system=system)


ADULT = dt.date(1990, 1, 1)


def subject(*, phone: str | None = None, email: str | None = None, date_of_birth=ADULT, name: str = "王小明"):
    """A person; an adult unless told otherwise (an unknown age is not an adult's: pass None for it)."""
    identifiers = [(kind, value) for kind, value in (("phone", phone), ("email", email)) if value]
    return subject_create(actor=ACTOR, name=name, date_of_birth=date_of_birth, identifiers=identifiers)


def consent(subject, system, **kwargs) -> ConsentRecord:

    return consent_grant(
        actor=ACTOR,
        subject=subject,
        system=system,
        purpose=kwargs.pop("purpose", None) or system.purposes.first(),
        notice=kwargs.pop("notice", None) or notice_current(system),
        provenance=kwargs.pop("provenance", None) or Provenance(channel="portal", ip_prefix="203.0.113.0/24"),
        **kwargs,
    )


def holding(subject, system, *, key: str | None = None, **kwargs):
    record = kwargs.pop("consent", None) or consent(subject, system)
    return holding_record(
        actor=ACTOR,
        subject=subject,
        system=system,
        subject_key=key or f"K{next(_counter)}",
        data_kind="template",
        consent=record,
        **kwargs,
    )


def user_with_role(
    role: str, *, username: str | None = None, is_staff: bool = False, password: str = "correct horse 42"
):
    User = get_user_model()
    user = User.objects.create_user(
        username=username or f"{role}{next(_counter)}", password=password, is_staff=is_staff
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def today() -> dt.date:

    return timezone.localdate()


def push_system(*, entity, purpose, simulator, **overrides):
    """An active push system whose webhook is the given simulator, with its signing secret."""

    system = active_system(
        entity=entity, purpose=purpose, integration="push", webhook_url=simulator.url, is_internal=True, **overrides
    )
    credential_issue(actor=ACTOR, system=system, kind="webhook_secret", value=simulator.secret)
    simulator.system_id = system.pk
    return system


def pull_system(*, entity, purpose, **overrides):
    """An active pull device and its token."""

    system = active_system(entity=entity, purpose=purpose, integration="pull", webhook_url="", **overrides)
    return system, credential_issue(actor=ACTOR, system=system, kind="device_token")


def subject_login(client, subject, **role):
    """Sign a data subject in to the portal, with an account linked to their records."""
    user = user_with_role("data_subject", **role)
    subject_link_user(actor=ACTOR, subject=subject, user=user)
    client.force_login(user)
    return user


def ward_of(guardian, *, name: str = "王小宝", date_of_birth=dt.date(2018, 3, 3)):
    """A child under 14 whose verified guardian is `guardian`."""
    child = subject_create(actor=ACTOR, name=name, date_of_birth=date_of_birth)
    guardianship_record(actor=ACTOR, ward=child, guardian=guardian, relationship="parent", verified=True)
    return child


def regulator_login(client, *, province: str, authority: str = "上海市互联网信息办公室"):
    """Sign in a regulator of one province."""
    user = user_with_role("regulator")
    record_save(actor=ACTOR, instance=RegulatorAccount(user=user, province=province, authority_name=authority))
    return staff_login(client, user)  # a regulator signs in with a second factor, as staff do


def staff_login(client, user, *, second_factor: bool = True):
    """Sign a staff member (or a regulator) in as the admin requires: with a TOTP second factor used in this session."""

    if second_factor and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    now = time.time()
    session["account_authentication_methods"] = [
        {"method": "password", "at": now},
        *([{"method": "mfa", "type": "totp", "at": now}] if second_factor else []),
    ]
    session.save()
    return user


SCAN = b"%PDF-1.4 scanned and sealed"
SIGN_PHOTO = b"\x89PNG\r\n\x1a\n a photo of the signs"


def filed_filing(entity, system, subject):
    """A draft filing of `entity` with its documents built and every attachment uploaded."""
    entity.security_measures = "设备端加密存储；访问控制；安全审计；入侵检测。等保二级。"
    record_save(actor=ACTOR, instance=entity)
    holding(subject, system)
    filing = filing_create(actor=ACTOR, entity=entity, kind="initial")
    filing_agent_set(
        actor=ACTOR,
        filing=filing,
        name="赵六",
        phone="13700137000",
        email="agent@example.com",
        id_type="passport",
        id_number="E98765432",
    )
    for kind in ("credit_code_certificate", "legal_rep_id", "agent_id", "power_of_attorney", "commitment"):
        filing_attach(
            actor=ACTOR, filing=filing, kind=kind, content=SCAN + kind.encode(), content_type="application/pdf"
        )
    filing_generate(actor=ACTOR, filing=filing)
    return filing_build(filing_id=filing.pk)
