"""The migration that settled the vocabulary keeps every row and renames its words, both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("dataops", "0015_filing_attachment_encrypted")]
AFTER = [("dataops", "0016_house_vocabulary")]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_the_vocabulary_migration_keeps_every_row_and_renames_its_words():
    old = _migrate(BEFORE)
    now = timezone.now()
    entity = old.get_model("dataops", "LegalEntity").objects.create(
        name_zh="迁移测试公司",
        credit_code="91330100716105852F",
        province="31",
        registered_address="上海",
        legal_representative="张三",
        dpo_name="李四",
        dpo_email="dpo@example.com",
    )
    System = old.get_model("dataops", "ProcessingSystem")
    common = {"entity": entity, "kind": "device", "integration": "push", "retention_days": 30}
    suspended = System.objects.create(name_zh="暂停的闸机", status="suspended", **common)
    tested = System.objects.create(name_zh="测过的闸机", status="active", **common)
    Subject = old.get_model("consent", "DataSubject")
    people = [Subject.objects.create(wrapped_key=b"k", is_synthetic=False) for _ in range(3)]
    Holding = old.get_model("dataops", "Holding")
    holding = {"system": tested, "data_kind": "template", "enrolled_at": now, "retention_until": now.date()}
    held = Holding.objects.create(subject=people[0], subject_key="A", status="held", **holding)
    restricted = Holding.objects.create(subject=people[1], subject_key="B", status="restricted", **holding)
    synthetic = Holding.objects.create(subject=people[2], subject_key="C", status="deletion_pending", **holding)
    deletion = old.get_model("dataops", "DeletionRequest").objects.create(
        subject=people[2], trigger="dpo_action", due_on=now.date(), created_at=now
    )
    failed = old.get_model("dataops", "Propagation").objects.create(
        deletion_request=deletion,
        system=tested,
        holding=synthetic,
        subject_key="C",
        state="failed",
        deadline=now.date(),
        created_at=now,
    )
    passed_at = now - dt.timedelta(days=2)
    old.get_model("dataops", "ConnectionTest").objects.create(
        system=tested, deletion_request=deletion, started_at=passed_at, passed_at=passed_at, started_by="t"
    )

    new = _migrate(AFTER)
    holdings = dict(new.get_model("dataops", "Holding").objects.values_list("pk", "status"))
    assert holdings == {held.pk: "active", restricted.pk: "retained", synthetic.pk: "deletion_pending"}
    assert new.get_model("dataops", "Propagation").objects.get(pk=failed.pk).state == "escalated"
    systems = {s.pk: s for s in new.get_model("dataops", "ProcessingSystem").objects.all()}
    assert systems[suspended.pk].deliveries_paused is True  # kept the pause its suspension meant
    assert systems[tested.pk].deliveries_paused is False and systems[tested.pk].enrolments_paused is False
    assert systems[tested.pk].connection_verified_at == passed_at
    assert systems[suspended.pk].connection_verified_at is None

    back = _migrate(BEFORE)
    assert dict(back.get_model("dataops", "Holding").objects.values_list("pk", "status")) == {
        held.pk: "held",
        restricted.pk: "restricted",
        synthetic.pk: "deletion_pending",
    }
    # Every app forward again, not only dataops: a migration of another app that depends on one of the
    # dataops migrations unapplied above (consent 0011, say) would otherwise stay unapplied for the next tests.
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
