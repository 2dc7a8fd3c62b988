"""Incident benchmark (issue 16): resolving and queueing a notice for 100,000 people affected.

    .venv/bin/python bench/incident_notices.py [--people 100000]

Loads the people (each with an email, most with a phone; one in twenty a child under 14
with a verified guardian) held by two systems, opens a major incident over both, approves
its notice and times `notice_send`: the affected people resolved from the registry, the
guardians found, one row per person and channel written. Then it times how fast one
process sends (the email and SMS backends in memory), on a sample. Its own database
(facerights_bench_incident).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_incident")
os.environ.setdefault("FACERIGHTS_SMS_BACKEND", "facerights.sms.MemorySmsBackend")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from consent.services import subject_create  # noqa: E402
from dataops.incidents.models import Incident, NoticeDelivery  # noqa: E402
from dataops.incidents.notices import deliveries_claim, deliveries_send, notice_approve, notice_draft, notice_send  # noqa: E402
from dataops.incidents.services import incident_save  # noqa: E402
from tests import factories  # noqa: E402


def copy_rows(table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(row) + "\n")
    buffer.seek(0)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while data := buffer.read(1 << 20):
            copy.write(data)


def load(people: int, systems: list) -> None:
    """People as stand-ins (never decrypted, except the sample that is sent for real)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('consent_datasubject', 'id'))")
        first = cursor.fetchone()[0] + 1
    wrapped = "\\\\x" + os.urandom(61).hex()
    child_born, adult_born = "2019-05-01", "1985-05-01"
    copy_rows(
        "consent_datasubject",
        ["id", "uuid", "wrapped_key", "created_at", "date_of_birth", "is_synthetic"],
        (
            (
                str(first + n),
                os.urandom(16).hex(),
                wrapped,
                "2026-01-01 00:00:00+08",
                child_born if n % 20 == 0 else adult_born,
                "f",
            )
            for n in range(people)
        ),
    )
    guardians = people // 20
    copy_rows(
        "consent_datasubject",
        ["id", "uuid", "wrapped_key", "created_at", "date_of_birth", "is_synthetic"],
        (
            (str(first + people + n), os.urandom(16).hex(), wrapped, "2026-01-01 00:00:00+08", adult_born, "f")
            for n in range(guardians)
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('consent_datasubject', 'id'), %s)", [first + people + guardians]
        )
    copy_rows(
        "consent_guardianship",
        ["ward_id", "guardian_id", "relationship", "verified_at", "verified_by", "created_at"],
        (
            (
                str(first + n * 20),
                str(first + people + n),
                "parent",
                "2026-01-02 00:00:00+08",
                "bench",
                "2026-01-02 00:00:00+08",
            )
            for n in range(guardians)
        ),
    )
    everyone = range(first, first + people + guardians)
    copy_rows(
        "consent_subjectidentifier",
        ["subject_id", "kind", "ciphertext", "lookup_hash", "created_at"],
        (
            row
            for pk in everyone
            for row in (
                (str(pk), "email", "\\\\x00", f"e{pk:063d}", "2026-01-01 00:00:00+08"),
                *(((str(pk), "phone", "\\\\x00", f"p{pk:063d}", "2026-01-01 00:00:00+08"),) if pk % 3 else ()),
            )
        ),
    )
    copy_rows(
        "dataops_holding",
        ["subject_id", "system_id", "subject_key", "data_kind", "enrolled_at", "retention_until", "status"],
        (
            (
                str(first + n),
                str(systems[n % 2].pk),
                f"K{n}",
                "template",
                "2026-01-01 00:00:00+08",
                "2027-12-31",
                "active",
            )
            for n in range(people)
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    common.fresh_database()
    entity, purpose = factories.entity(), factories.purpose()
    systems = [factories.active_system(entity=entity, purpose=purpose) for _ in range(2)]
    started = time.monotonic()
    load(args.people, systems)
    print(f"loaded {args.people:,} people held by 2 systems in {time.monotonic() - started:.0f} s")
    incident = incident_save(
        actor="bench",
        incident=Incident(
            entity=entity,
            summary="Benchmark",
            discovered_at=timezone.now() - dt.timedelta(minutes=5),
            grade=Incident.Grade.MAJOR,
            data_kinds=["templates"],
            cause="基准测试",
            measures="基准测试",
        ),
        systems=systems,
    )
    notice = notice_draft(actor="bench", incident=incident)
    notice.cause_en = notice.remedies_en = "Benchmark"
    notice.save()
    notice_approve(actor="bench:1", notice=notice)
    notice_approve(actor="bench:2", notice=notice)
    started = time.perf_counter()
    summary = notice_send(actor="bench", notice=notice)
    elapsed = time.perf_counter() - started
    print(
        f"resolve and queue: {elapsed:.1f} s for {summary['people']:,} people told "
        f"({summary['rows']:,} rows: portal, email, SMS) (target < 60 s)"
    )
    # Sending: a sample of real people (their identifiers decrypt), through the in-memory backends.
    sample = [
        subject_create(
            actor="bench", name="样本", identifiers=[("email", f"p{n}@example.com"), ("phone", f"1390000{n:04d}")]
        )
        for n in range(200)
    ]
    NoticeDelivery.objects.bulk_create(
        NoticeDelivery(notice=notice, recipient=person, channel=channel)
        for person in sample
        for channel in ("email", "sms")
    )
    NoticeDelivery.objects.exclude(recipient__in=sample).filter(state="pending").update(state="sent")
    started = time.perf_counter()
    sent = 0
    while ids := deliveries_claim():
        sent += deliveries_send(ids)
    elapsed = time.perf_counter() - started
    print(
        f"send: {sent} messages in {elapsed:.2f} s, {sent / elapsed:.0f} per second in one process (in-memory backends)"
    )


if __name__ == "__main__":
    main()
