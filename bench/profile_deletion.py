"""Where one person's deletion spends its CPU, SQL statements and broker messages, stage by stage.

Used by `bench/propagation.py --profile`. Each person presses the portal's button (the
request goes through Django's whole request handling, in this process, with their own
signed-in session); the messages it would send to the broker are kept instead and run
here, one after another, as a worker would run them. The simulator answers over HTTP.

Stages are where the time goes, nested as the code nests them (a stage's figures leave
out the stages inside it):

- request: the HTTP request around the service (middleware, session, form, redirect);
- open: `rights_request_submit`, the service the button calls;
- task: the deliver task around the stages below (which systems, blocked systems);
- claim: `propagations_claim`, the attempt rows before the call;
- send: the signed POST to the system and its answer (`delivery.http.post`);
- confirm: `propagations_confirm`, the outcome, its evidence and audit event;
- complete: `_complete_if_done`, the deletion and its request completed;
- messages: every other task the deletion sends (acknowledgement, notices).

CPU is this process's (time.process_time) and its PostgreSQL session's (/proc, 10 ms
ticks: meaningful over many people, as here).
"""

from __future__ import annotations

import cProfile
import importlib
import time
from collections import Counter, defaultdict
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client

from bench import common
from facerights import queues

STAGES = [
    ("portal.views.account", "rights_request_submit", "open"),
    ("dataops.deletions.delivery", "propagations_claim", "claim"),
    ("dataops.deletions.delivery.http", "post", "send"),
    ("dataops.deletions.delivery.base", "propagations_confirm", "confirm"),
    ("dataops.deletions.delivery.push", "propagations_confirm", "confirm"),
    ("dataops.deletions.propagations", "_complete_if_done", "complete"),
]
ORDER = ["request", "open", "task", "claim", "send", "confirm", "complete", "messages"]


class Profile:
    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.db: dict[str, float] = defaultdict(float)
        self.sql: Counter[str] = Counter()
        self.statements: list[tuple[str, str]] = []  # the last person's, when kept
        self.keep_statements = False
        self.stack = ["idle"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backend = cursor.fetchone()[0]
        self._marks = (time.process_time(), common.cpu_of_process(self.backend))

    def switch(self) -> None:
        """Charge what was spent since the last switch to the stage on top."""
        now = (time.process_time(), common.cpu_of_process(self.backend))
        stage = self.stack[-1]
        self.cpu[stage] += now[0] - self._marks[0]
        self.db[stage] += now[1] - self._marks[1]
        self._marks = (time.process_time(), common.cpu_of_process(self.backend))

    def enter(self, stage: str) -> None:
        self.switch()
        self.stack.append(stage)

    def leave(self) -> None:
        self.switch()
        self.stack.pop()

    def wrap(self, module_name: str, attribute: str, stage: str) -> None:
        module = importlib.import_module(module_name)
        original = getattr(module, attribute, None)
        if original is None:  # not on this path in this version of the code
            return

        def staged(*args: Any, **kwargs: Any) -> Any:
            self.enter(stage)
            try:
                return original(*args, **kwargs)
            finally:
                self.leave()

        setattr(module, attribute, staged)

    def count_sql(self, execute, sql, params, many, context):  # connection.execute_wrapper
        self.sql[self.stack[-1]] += 1
        if self.keep_statements:
            self.statements.append((self.stack[-1], sql))
        return execute(sql, params, many, context)


def profile(
    subject_ids: list[int], cookies: dict[int, str], *, warm_up: int, show_sql: bool = False, pstats_to: str = ""
) -> None:
    """Open and deliver one deletion per subject (signed in with `cookies`), one after another; print the figures."""
    sent: list[tuple[str, tuple]] = []
    messages: Counter[str] = Counter()

    def keep(name: str, *args: Any) -> bool:
        sent.append((name, args))
        return True

    queues.enqueue = keep  # enqueue_on_commit looks it up when the transaction commits
    prof = Profile()
    for module_name, attribute, stage in STAGES:
        prof.wrap(module_name, attribute, stage)
    client = Client(HTTP_HOST="127.0.0.1")
    python_profile = cProfile.Profile()
    measured = subject_ids[warm_up:]
    with connection.execute_wrapper(prof.count_sql):
        for n, subject_id in enumerate(subject_ids):
            if n == warm_up:
                prof.switch()
                prof.cpu.clear(), prof.db.clear(), prof.sql.clear(), messages.clear()
                if pstats_to:
                    python_profile.enable()
            prof.keep_statements = show_sql and subject_id == subject_ids[-1]
            client.cookies[settings.SESSION_COOKIE_NAME] = cookies[subject_id]
            prof.enter("request")
            response = client.post("/me/requests/new/", {"type": "deletion", "system": "", "details": ""})
            prof.leave()
            if response.status_code != 302:
                raise RuntimeError(f"the deletion request was not accepted: HTTP {response.status_code}")
            while sent:
                name, args = sent.pop(0)
                messages[name] += 1
                task = queues.task_named(name)
                prof.enter("task" if name in ("deletions.deliver", "deletions.dispatch") else "messages")
                task(*args)
                prof.leave()
    python_profile.disable()
    if pstats_to:
        python_profile.dump_stats(pstats_to)
    people = len(measured)
    for stage, sql in prof.statements:
        print(f"    [{stage}] {sql[:300]}")
    print(f"profile of {people} deletions, each to 3 push systems, one after another (after {warm_up} to warm up):")
    print(f"    {'stage':<10} {'CPU ms':>8} {'PostgreSQL ms':>14} {'SQL':>6}   (per deletion)")
    for stage in ORDER:
        print(
            f"    {stage:<10} {prof.cpu[stage] * 1000 / people:>8.1f} {prof.db[stage] * 1000 / people:>14.1f} "
            f"{prof.sql[stage] / people:>6.1f}"
        )
    cpu, db, sql = sum(prof.cpu[s] for s in ORDER), sum(prof.db[s] for s in ORDER), sum(prof.sql[s] for s in ORDER)
    print(
        f"    {'total':<10} {cpu * 1000 / people:>8.1f} {db * 1000 / people:>14.1f} {sql / people:>6.1f}"
        f"   = {(cpu + db) / people:.3f} CPU-s (target 0.02; the simulator's share is not counted)"
    )
    print(
        "    broker messages per deletion: "
        + ", ".join(f"{name} {count / people:g}" for name, count in sorted(messages.items()))
    )
