"""Copies of a person's data past their download window are destroyed, each with its audit event."""

import datetime as dt

import pytest
from django.utils import timezone

from dataops.copies.models import DataExport
from dataops.copies.services import export_build, export_request, exports_expire
from facerights.models import AuditEvent
from tests import factories

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
