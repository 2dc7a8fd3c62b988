"""Admin benchmark (issue 5): each main changelist and the dashboard over 1,000,000 subjects.

    .venv/bin/python bench/dashboard.py            # loads the data set once (facerights_bench_dash)
    .venv/bin/python bench/admin_changelists.py    # then this: median of 5 loads per page

Pages are requested in-process through Django's test client by a DPO signed in
with a second factor, so the figure is the server's time for the page.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_dash")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from consent.models import DataSubject  # noqa: E402
from dataops.models import Holding  # noqa: E402
from tests import factories  # noqa: E402

PAGES = [
    ("dashboard (admin index)", "/admin/"),
    ("requests", "/admin/dataops/request/"),
    ("requests, overdue", "/admin/dataops/request/?overdue=yes"),
    ("holdings", "/admin/dataops/holding/"),
    ("holdings of one system", "/admin/dataops/holding/?system__id__exact={system}"),
    ("holding by key", "/admin/dataops/holding/?q={key}"),
    ("data subjects", "/admin/consent/datasubject/"),
    ("consents", "/admin/consent/consentrecord/"),
    ("propagations", "/admin/dataops/propagation/"),
    ("deletion requests", "/admin/dataops/deletionrequest/"),
    ("audit events", "/admin/facerights/auditevent/"),
    ("processing systems", "/admin/dataops/processingsystem/"),
]


def main() -> None:
    import subprocess

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=common.ROOT, env=common.environment(), check=True
    )
    print(f"machine: {common.machine()}")
    print(f"data: {DataSubject.objects.count():,} subjects, {Holding.objects.count():,} holdings")
    client = Client(HTTP_HOST="127.0.0.1")
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True, username=f"benchdpo{time.time_ns()}"))
    holding = Holding.objects.order_by("-pk").first()
    for name, url in PAGES:
        url = url.format(system=holding.system_id, key=holding.subject_key)
        times = []
        for _ in range(6):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        median = statistics.median(times[1:])  # the first load warms caches
        print(f"{name:<28} {median * 1000:7.0f} ms  {'ok' if median < 0.5 else 'OVER 0.5 s'}")


if __name__ == "__main__":
    main()
