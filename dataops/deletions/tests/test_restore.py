"""The restore drill: a backup restored, the journal replayed, no deleted person back."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from consent.models import ConsentEvent, ConsentRecord, DataSubject
from consent.services import Provenance, subject_identifiers
from dataops.deletions.intake import consents_withdraw_all, rights_request_submit
from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.propagations import propagation_confirm
from dataops.deletions.shredding import subjects_shred_due
from dataops.deletions.states import OPEN as OPEN_STATES
from dataops.registry.models import Holding, ProcessingSystem
from facerights import crypto
from facerights.celery import app
from facerights.journal import JournalError
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


PHONE_A, EMAIL_A = "13800138000", "wang@example.com"


PHONE_B, EMAIL_B = "13900139000", "li@example.com"


def _pg_tool(name: str) -> str:
    """The client tool of the server's major version (pg_dump refuses a newer server than itself)."""
    major = connection.pg_version // 10000
    tool = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    found = str(tool) if tool.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (the PostgreSQL {major} client tools)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout
    tool_major = int(re.search(r"(\d+)(?:\.\d+)+", version).group(1))
    if tool_major < major:
        pytest.skip(f"{name} is version {tool_major}, older than the server ({major})")
    return found


def _pg_env() -> dict:
    db = connection.settings_dict
    env = dict(os.environ)
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if db.get(key):
            env[variable] = str(db[key])
    return env


def backup(folder: Path) -> Path:
    folder.mkdir()
    name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":
        dump = folder / "facerights.dump"
        subprocess.run([_pg_tool("pg_dump"), "-Fc", "-f", str(dump), name], env=_pg_env(), check=True)
        return dump
    if connection.is_in_memory_db():
        pytest.skip("the drill needs a test database on disk")
    dump = folder / "facerights.sqlite3"
    connection.close()
    with sqlite3.connect(name) as source, sqlite3.connect(dump) as target:
        source.backup(target)
    return dump


def restore(dump: Path) -> None:
    """Put the backup back over the test database; Django's connection is closed first, and reopens."""
    name = connection.settings_dict["NAME"]
    connection.close()
    if connection.vendor == "postgresql":
        command = [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction"]
        subprocess.run([*command, "-d", name, str(dump)], env=_pg_env(), check=True)
        return
    # The backup API rather than a file copy: the live file has WAL and shared-memory companions.
    with sqlite3.connect(dump) as source, sqlite3.connect(name) as target:
        source.backup(target)


@pytest.fixture
def sent_tasks(monkeypatch):
    """Tasks are recorded instead of sent: no worker runs here, and the broker stays clean."""

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args=None, kwargs=None, **options: sent.append((name, args)))
    return sent


def _replay(*args) -> str:
    out = StringIO()
    call_command("replay_deletions", *args, "--allow-root", stdout=out, stderr=out)
    return out.getvalue()


def _state(subject: DataSubject) -> dict:
    return {
        "holdings": sorted(Holding.objects.filter(subject=subject).values_list("pk", "status")),
        "consents": sorted(ConsentRecord.objects.filter(subject=subject).values_list("pk", "state")),
        "deletions": sorted(DeletionRequest.objects.filter(subject=subject).values_list("reference", "state")),
        "shredded": DataSubject.objects.get(pk=subject.pk).shredded_at is not None,
    }


def test_a_restored_backup_brings_no_deleted_subject_back(tmp_path, settings, sent_tasks):
    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path / "tombstones"
    entity, purpose = factories.entity(), factories.purpose()
    pull, _token = factories.pull_system(entity=entity, purpose=purpose)
    systems = [factories.active_system(entity=entity, purpose=purpose), pull]
    a = factories.subject(phone=PHONE_A, email=EMAIL_A, name="王小明")
    b = factories.subject(phone=PHONE_B, email=EMAIL_B, name="李华")
    for person in (a, b):
        for system in systems:
            factories.holding(person, system)
    # Someone already deleted when the backup is taken: their deletion is in it.
    d = factories.subject(phone="13600136000")
    factories.holding(d, pull)
    rights_request_submit(actor="user:d", subject=d, type="deletion")
    b_before = _state(b)

    dump = backup(tmp_path / "backup")

    # A withdraws every consent, both systems confirm, and a day later A's identifiers are shredded.
    deletion = consents_withdraw_all(actor="user:a", subject=a, provenance=Provenance(channel="portal"))
    for propagation in deletion.propagations.all():
        propagation_confirm(actor="vendor", propagation=propagation, outcome="deleted", evidence={"n": propagation.pk})
    assert subjects_shred_due(actor="task:shred", now=timezone.now() + dt.timedelta(days=2)) == 1
    # Someone enrolled after the backup, and deleted since: the backup never held them.
    c = factories.subject(phone="13700137000")
    factories.holding(c, pull)
    rights_request_submit(actor="user:c", subject=c, type="deletion")
    device_cursor = ProcessingSystem.objects.get(pk=pull.pk).feed_seq  # the device may have read this far

    restore(dump)

    # The drill can fail: without the replay, A is back, identifiers and all.
    a.refresh_from_db()
    assert subject_identifiers(a) == [("email", EMAIL_A), ("phone", "+86" + PHONE_A)]
    assert not DataSubject.objects.filter(uuid=c.uuid).exists()
    assert set(Holding.objects.filter(subject=a).values_list("status", flat=True)) == {Holding.Status.ACTIVE}

    sent_tasks.clear()
    output = _replay()

    a.refresh_from_db()
    assert a.shredded_at is not None and a.wrapped_key is None
    with pytest.raises(crypto.DecryptionError):
        subject_identifiers(a)
    assert set(ConsentRecord.objects.filter(subject=a).values_list("state", flat=True)) == {"withdrawn"}
    # The deletion is open again, under its own reference, with a propagation to each system.
    replayed = DeletionRequest.objects.get(subject=a)
    assert replayed.reference == deletion.reference and replayed.trigger == DeletionRequest.Trigger.CONSENT_WITHDRAWN
    assert set(Holding.objects.filter(subject=a).values_list("status", flat=True)) <= {"deletion_pending", "deleted"}
    propagations = Propagation.objects.filter(deletion_request=replayed)
    assert sorted(propagations.values_list("system_id", flat=True)) == sorted(s.pk for s in systems)
    assert set(propagations.values_list("state", flat=True)) <= set(OPEN_STATES)
    assert ("deletions.deliver", ([replayed.pk],)) in sent_tasks  # delivered to every system it concerns
    # The restore rewound the pull feed's counter; the replayed instruction is numbered past the
    # device's cursor all the same, so the device reads it.
    assert propagations.get(system=pull).feed_seq > device_cursor
    # B is untouched.
    assert _state(b) == b_before
    assert subject_identifiers(DataSubject.objects.get(pk=b.pk)) == [("email", EMAIL_B), ("phone", "+86" + PHONE_B)]

    assert "consent.withdrawn: 2 replayed, 0 already applied, 0 unknown" in output
    assert "deletion.opened: 1 replayed, 1 already applied, 1 unknown" in output
    assert "subject.shredded: 1 replayed, 0 already applied, 0 unknown" in output
    assert "feed.reserved: 2 replayed" in output
    journal = "".join(p.read_text() for p in (tmp_path / "tombstones").glob("*.jsonl"))
    for personal in (PHONE_A, EMAIL_A, "王小明", PHONE_B, EMAIL_B, "13700137000"):
        assert personal not in output and personal not in journal

    # A second replay changes nothing.
    counts = [m.objects.count() for m in (DeletionRequest, Propagation, ConsentEvent, AuditEvent)]
    a_after = _state(a)
    again = _replay()
    assert "0 events replayed" in again
    assert [m.objects.count() for m in (DeletionRequest, Propagation, ConsentEvent, AuditEvent)] == counts
    assert _state(a) == a_after and _state(b) == b_before


def test_since_and_dry_run_change_nothing(tmp_path, settings, sent_tasks):
    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path / "tombstones"
    system = factories.active_system(entity=factories.entity(), purpose=factories.purpose())
    a = factories.subject(phone=PHONE_A)
    factories.holding(a, system)
    dump = backup(tmp_path / "backup")
    rights_request_submit(actor="user:a", subject=a, type="deletion")
    restore(dump)

    later = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
    assert "0 events replayed" in _replay("--since", later)
    assert "deletion.opened: 1 would be replayed" in _replay("--dry-run")
    assert not DeletionRequest.objects.filter(subject__uuid=a.uuid).exists()
    assert "1 events replayed" in _replay()


@pytest.mark.django_db
def test_a_deletion_that_cannot_be_journaled_does_not_commit(tmp_path, settings):
    """The journal is written before commit: if it fails, the deletion fails with it, and nothing is lost later."""

    system = factories.active_system(entity=factories.entity(), purpose=factories.purpose())
    a = factories.subject(phone=PHONE_A)
    factories.holding(a, system)
    (tmp_path / "not-a-folder").write_text("")
    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path / "not-a-folder" / "tombstones"
    with pytest.raises(JournalError):
        rights_request_submit(actor="user:a", subject=a, type="deletion")
    assert not DeletionRequest.objects.filter(subject=a).exists()
    assert set(Holding.objects.filter(subject=a).values_list("status", flat=True)) == {Holding.Status.ACTIVE}


@pytest.mark.skipif(os.geteuid() != 0, reason="only root is refused")
def test_the_replay_refuses_to_run_as_root_unless_told(tmp_path, settings):

    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path
    with pytest.raises(CommandError, match="not root"):
        call_command("replay_deletions", stdout=StringIO())
