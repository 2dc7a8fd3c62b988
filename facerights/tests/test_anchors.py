"""The audit log's daily anchors outside the database: a rewritten history no longer matches them (R25)."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from facerights.anchors import audit_anchors_check, audit_anchors_write
from facerights.audit import audit_record
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_anchors_hold_until_someone_rewrites_an_anchored_row(tmp_path, subject, system):
    factories.holding(subject, system)
    path = audit_anchors_write(directory=tmp_path)
    lines = path.read_text().splitlines()
    assert f"{subject.audit_chain}:" in path.read_text() and any(line.startswith("registry:") for line in lines)
    assert path.stat().st_mode & 0o007 == 0  # nobody else on the host reads it
    assert audit_anchors_check(path).broken == []
    with transaction.atomic():  # the log goes on: newer rows do not disturb the anchored ones
        audit_record(actor="t", action="test.more", target=subject)
    call_command("audit_anchors_check", str(path))

    # Someone with the database's keys rewrites the subject's newest anchored row and its hash.
    head = subject.audit_chain
    seq = next(int(line.rsplit(":", 2)[1]) for line in lines if line.startswith(f"{head}:"))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE facerights_auditevent SET action = 'forged', hash = %s WHERE chain = %s AND seq = %s",
            ["f" * 64, head, seq],
        )
    assert audit_anchors_check(path).broken == [f"{head}:{seq}"]
    with pytest.raises(CommandError, match="no longer hold"):
        call_command("audit_anchors_check", str(path))
    assert AuditEvent.objects.filter(action="forged").count() == 1
