"""Connection tests: a synthetic deletion sent to a system to prove it can receive deletions.

The test subject is synthetic (never counted as a person). A test passes when the
system confirms it through the same path as any deletion; a passed test is recorded
on the system (`connection_verified_at`), which its activation requires.
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import cast

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consent.models import DataSubject
from facerights import crypto
from facerights.audit import audit_record

from ..registry.models import Holding, ProcessingSystem
from ..registry.services import system_activate, system_activation_problems, system_connection_verified
from . import states
from .models import ConnectionTest, DeletionRequest
from .opening import deletion_request_open

TEST_KEY_PREFIX = "FACERIGHTS-TEST-"


def connection_test_start(*, actor: str, system: ProcessingSystem, activate_on_pass: bool = False) -> ConnectionTest:
    """Send a synthetic deletion for a test key the system has never seen; it should answer not_found."""
    now = timezone.now()
    with transaction.atomic():
        subject = DataSubject.objects.create(wrapped_key=crypto.data_key_new()[1], is_synthetic=True)
        Holding.objects.create(
            subject=subject,
            system=system,
            subject_key=TEST_KEY_PREFIX + secrets.token_hex(8),
            data_kind=Holding.DataKind.TEMPLATE,
            enrolled_at=now,
            retention_until=timezone.localdate(now),
        )
        deletion = deletion_request_open(
            actor=actor, subject=subject, trigger=DeletionRequest.Trigger.DPO_ACTION, systems=[system]
        )
        test = ConnectionTest.objects.create(
            system=system,
            deletion_request=cast(DeletionRequest, deletion),  # opened: the holding just created is live
            activate_on_pass=activate_on_pass,
            started_at=now,
            started_by=actor,
        )
        audit_record(actor=actor, action="system.connection_test_started", target=system, data={"test": test.pk})
    return test


def connection_tests_complete(*, actor: str, deletion_ids: list[int]) -> None:
    """Called when deletions complete: a test whose system confirmed passes (and may activate it)."""
    for test in ConnectionTest.objects.filter(
        deletion_request_id__in=deletion_ids, passed_at__isnull=True
    ).select_related("system"):
        confirmed = not test.deletion_request.propagations.exclude(state__in=states.TERMINAL).exists()
        if not confirmed:
            continue
        ConnectionTest.objects.filter(pk=test.pk).update(passed_at=timezone.now())
        system_connection_verified(actor=actor, system=test.system, test_id=test.pk)
        test.system.refresh_from_db()
        if test.activate_on_pass and test.system.status == ProcessingSystem.Status.DRAFT:
            try:
                system_activate(actor=test.started_by, system=test.system)
            except ValidationError as exc:  # another gate is still closed: the DPO is told which
                audit_record(
                    actor=actor,
                    action="system.activation_refused",
                    target=test.system,
                    data={"test": test.pk, "problems": exc.messages},
                )
                transaction.on_commit(partial(_not_activated_send, test.system))


def _not_activated_send(system: ProcessingSystem) -> None:
    with translation.override("zh-hans"):
        problems = system_activation_problems(system)  # in the DPO's language
        send_mail(
            _("Connection test of %(system)s passed; the system is not active yet") % {"system": system.name_zh},
            _(
                "The test deletion sent to %(system)s was confirmed, so the system can receive deletions. "
                "It was not activated, because:\n%(problems)s\nComplete these, then activate it in the admin."
            )
            % {"system": system.name_zh, "problems": "\n".join(f"- {p}" for p in problems)},
            None,
            [system.entity.dpo_email],
        )
