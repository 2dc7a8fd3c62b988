"""The production web process: gunicorn with deploy/gunicorn.conf.py serves, logs JSON, hides paths."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.waiting import wait_for

TRACE = "5e0f7c1a2b3d4e5f60718293a4b5c6d7"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_serves_readiness_and_logs_one_json_line_per_request_without_the_path(settings):
    port = _free_port()
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_FORMAT="json",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "facerights.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answers = []

        def answered() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                    answers.append(json.loads(response.read()))
                    return True
            except OSError:
                return False

        assert wait_for(answered, 30, 0.3), "gunicorn never answered"
        assert answers[-1] == {"ready": True, "checks": {"database": "ok", "migrations": "ok", "broker": "ok"}}
        secret_path = "/requests/SECRETREF99/"
        request = urllib.request.Request(f"http://127.0.0.1:{port}{secret_path}", headers={"X-Request-ID": TRACE})
        with urllib.request.urlopen(request, timeout=5) as response:  # to the sign-in page, same id
            assert response.headers["X-Request-ID"] == TRACE
        # A vendor's one-time link posted without its CSRF cookie: Django logs a warning with the path.
        forged = urllib.request.Request(f"http://127.0.0.1:{port}/vendor/deletions/SECRETTOKEN123/", data=b"x=1")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)
        assert refused.value.code == 403
        # A client's id that is not an id (here a phone number) is replaced, never repeated.
        phone = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "13700137000"})
        with urllib.request.urlopen(phone, timeout=5) as response:
            assert response.headers["X-Request-ID"] != "13700137000"
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=30)
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    mine = [e for e in entries if e["request_id"] == TRACE]
    assert mine and mine[0]["route"] == "requests/<str:reference>/"
    assert any(e["logger"] == "django.security.csrf" for e in entries)  # the refusal was logged...
    for secret in ("SECRETREF99", "SECRETTOKEN123", "13700137000"):
        assert secret not in err  # ...but no line, from us or from Django, carries a path or a client's junk
