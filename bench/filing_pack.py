"""Filing benchmark (issue 6): a complete filing pack for an entity with 50 processing systems.

    .venv/bin/python bench/filing_pack.py

Times the snapshot, the six PDFs (three documents, Chinese and English) and the
ZIP pack, three times, on its own database (facerights_bench_filing).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_filing")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from dataops.filings.documents import filing_build
from dataops.filings.pack import filing_pack
from dataops.filings.services import filing_attach, filing_create, filing_generate  # noqa: E402
from dataops.models import Filing  # noqa: E402
from tests import factories  # noqa: E402


def main() -> None:
    print(f"machine: {common.machine()}")
    common.fresh_database()
    entity, purpose = factories.entity(security_measures="加密、审计、访问控制、入侵检测。"), factories.purpose()
    sites = [factories.site(entity, name_zh=f"门店{n}") for n in range(10)]
    for n in range(50):
        factories.active_system(entity=entity, site=sites[n % 10], purpose=purpose, name_zh=f"人脸识别系统{n}")
    filing = filing_create(actor="bench", entity=entity, kind="initial")
    for kind in ("credit_code_certificate", "legal_rep_id", "agent_id", "power_of_attorney", "commitment"):
        filing_attach(
            actor="bench",
            filing=filing,
            kind=kind,
            content=b"%PDF-1.4 " + os.urandom(200_000),
            content_type="application/pdf",
        )
    from django.db import connection

    connection.close()
    workers = common.start_workers(concurrency=2)
    try:
        for run in range(3):
            started = time.perf_counter()
            filing_generate(actor="bench", filing=filing)  # the snapshot, then one task per document
            while Filing.objects.get(pk=filing.pk).documents.count() < 6:
                time.sleep(0.05)
            pack = filing_pack(Filing.objects.get(pk=filing.pk))
            elapsed = time.perf_counter() - started
            print(
                f"run {run + 1}: {elapsed:.2f} s for the snapshot, 6 PDFs (2 worker processes) "
                f"and the pack ({len(pack) / 1e6:.1f} MB) (target < 5 s)"
            )
    finally:
        common.stop(workers)
    started = time.perf_counter()
    filing_build(filing_id=filing.pk)
    print(f"for comparison, the 6 PDFs in one process: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
