"""The tombstone journal: durable appends, one file per day and host, a reader that survives torn lines."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from facerights.journal import JournalError, Tombstone, journal_append, journal_read

T0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)


def _tombstone(minutes: int, **data) -> Tombstone:
    return Tombstone(kind="subject.shredded", at=T0 + dt.timedelta(minutes=minutes), data={"subject": "u", **data})


def test_entries_round_trip_in_time_order_in_one_file_per_day_and_host(settings, tmp_path):
    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path
    journal_append([_tombstone(5, n=2)])
    journal_append([_tombstone(1, n=1), _tombstone(9, n=3)])
    [path] = tmp_path.glob("tombstones-*.jsonl")
    assert path.name.startswith(f"tombstones-{dt.datetime.now(dt.UTC):%Y-%m-%d}-")
    journal = journal_read()
    assert [t.data["n"] for t in journal.tombstones] == [1, 2, 3]
    assert journal.tombstones[0].at == T0 + dt.timedelta(minutes=1)
    assert (journal.files, journal.unreadable) == (1, 0)


def test_a_torn_line_is_skipped_and_the_next_entry_starts_on_a_fresh_line(settings, tmp_path):
    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path
    journal_append([_tombstone(1, n=1)])
    [path] = tmp_path.glob("*.jsonl")
    with path.open("a") as file:
        file.write('{"v":1,"id":"torn","kind":"subject.shr')  # a crash in the middle of a write
    journal_append([_tombstone(2, n=2)])
    journal = journal_read()
    assert [t.data["n"] for t in journal.tombstones] == [1, 2]
    assert journal.unreadable == 1


def test_files_collected_from_several_hosts_are_read_once_each(settings, tmp_path):
    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path / "here"
    journal_append([_tombstone(1, n=1)])
    [path] = (tmp_path / "here").glob("*.jsonl")
    (tmp_path / "here" / "web-2").mkdir()
    (tmp_path / "here" / "web-2" / path.name).write_text(path.read_text())  # the same file, collected twice
    other = json.loads(path.read_text()) | {"id": "other", "n": 2, "at": (T0 + dt.timedelta(minutes=2)).isoformat()}
    (tmp_path / "here" / "web-2" / "tombstones-2025-03-01-web-2.jsonl").write_text(json.dumps(other) + "\n")
    assert [t.data["n"] for t in journal_read().tombstones] == [1, 2]


def test_since_keeps_entries_written_later_whatever_their_event_time(settings, tmp_path):
    """A bulk deletion's later chunks, or a replayed deletion, carry an old event time: still kept."""

    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path
    journal_append([_tombstone(10, n=1)])
    backup_started = timezone.now()
    journal_append([_tombstone(1, n=2)])  # written after the backup, about an event before it
    assert [t.data["n"] for t in journal_read(since=backup_started).tombstones] == [2]


def test_a_journal_that_cannot_be_written_or_found_is_an_error(settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.FACERIGHTS_TOMBSTONE_DIR = blocker / "tombstones"
    with pytest.raises(JournalError):
        journal_append([_tombstone(1)])
    with pytest.raises(JournalError):
        journal_read(tmp_path / "missing")


def test_reserved_keys_cannot_be_overwritten(settings, tmp_path):
    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path
    with pytest.raises(JournalError):
        journal_append([Tombstone(kind="x", at=T0, data={"kind": "y"})])
