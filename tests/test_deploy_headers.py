"""Security headers and cookie flags on real responses, and Django's deployment checklist with production settings.

The suite runs with DEBUG off, so the headers are the production ones; requests go over
HTTPS (`secure=True`, as nginx forwards them with X-Forwarded-Proto) because HSTS is only
ever sent over HTTPS. The two things the suite's environment changes (SECURE_SSL_REDIRECT
off, so that plain test requests are served) are checked in a process started with
the production environment alone. docs/reliability.md, "Deployment checks", lists the values.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from consent.services import subject_link_user
from tests import factories

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
YEAR = 365 * 24 * 60 * 60


def _directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_security_headers(response, what: str) -> None:
    """Every header of the issue, exactly: a year of HSTS, a CSP with no inline script, and the rest."""
    hsts = {
        name.strip(): value
        for name, _eq, value in (item.partition("=") for item in response["Strict-Transport-Security"].split(";"))
    }
    assert int(hsts["max-age"]) >= YEAR and "includeSubDomains" in hsts, (what, hsts)

    csp = _directives(response["Content-Security-Policy"])
    scripts = csp.get("script-src", csp["default-src"])
    assert scripts == ["'self'"], (what, scripts)  # no 'unsafe-inline', no 'unsafe-eval', no other origin
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"], what
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'self'"], what
    assert csp["form-action"] == ["'self'"], what

    assert response["X-Content-Type-Options"] == "nosniff", what
    assert response["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer"), what
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", what
    assert response["X-Frame-Options"] == "DENY", what
    assert "camera=()" in response["Permissions-Policy"], what


@pytest.fixture
def person(subject):
    user = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=subject, user=user)
    return user


def _pages(client: Client, person, system) -> dict[str, object]:
    """Representative answers: public, signed in, staff, API, probes, and errors."""

    responses = {
        "home": client.get(reverse("portal:home"), secure=True),
        "sign-in": client.get(reverse("account_login"), secure=True),
        "not found": client.get("/no-such-page/", secure=True),
        "readyz": client.get("/readyz", secure=True),
        "healthz": client.get("/healthz", secure=True),
        "openapi": client.get("/api/openapi.json", secure=True),
    }
    device, token = factories.pull_system(
        entity=system.entity, purpose=system.purposes.first()
    )  # a feed is a pull device's
    responses["api feed"] = client.get(
        f"/api/v1/systems/{device.pk}/deletions", secure=True, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    responses["api without token"] = client.get(f"/api/v1/systems/{device.pk}/deletions", secure=True)
    client.force_login(person)
    responses["personal page"] = client.get(reverse("portal:dashboard"), secure=True)
    responses["consent history"] = client.get(reverse("portal:consent_history"), secure=True)
    client.logout()
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    responses["admin"] = client.get(reverse("admin:index"), secure=True)
    responses["admin list"] = client.get(reverse("admin:dataops_processingsystem_changelist"), secure=True)
    return responses


def test_every_kind_of_answer_carries_the_security_headers(client, person, system):
    responses = _pages(client, person, system)
    expected = {"not found": 404, "api without token": 401, "readyz": (200, 503)}
    for what, response in responses.items():
        status = expected.get(what, 200)
        assert response.status_code in (status if isinstance(status, tuple) else (status,)), what
        assert_security_headers(response, what)


def test_pages_with_a_person_in_them_are_not_kept_by_browsers_or_proxies(client, person, system):
    responses = _pages(client, person, system)
    for what in ("personal page", "consent history", "admin", "admin list"):
        assert "no-store" in responses[what]["Cache-Control"], what


def test_a_real_sign_in_sets_secure_httponly_samesite_cookies():

    user = factories.user_with_role("data_subject", username="wang")
    EmailAddress.objects.create(user=user, email="wang@example.com", verified=True, primary=True)
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("account_login"), secure=True)
    csrf_cookie = page.cookies["csrftoken"]
    response = client.post(
        reverse("account_login"),
        {
            "login": "wang@example.com",
            "password": "correct horse 42",
            "csrfmiddlewaretoken": csrf_cookie.value,
        },
        secure=True,
        HTTP_REFERER="https://testserver" + reverse("account_login"),  # checked on HTTPS, as a browser sends it
    )
    assert response.status_code == 302 and client.get(reverse("portal:dashboard"), secure=True).status_code == 200

    session = response.cookies["sessionid"]
    assert session["secure"] is True and session["httponly"] is True and session["samesite"] == "Lax"
    rotated = response.cookies["csrftoken"]  # a new CSRF secret at sign-in
    for cookie in (csrf_cookie, rotated):
        assert cookie["secure"] is True and cookie["samesite"] == "Lax"
    # The CSRF cookie stays readable by the page on purpose (Django's default): it is not a credential.
    assert_security_headers(response, "sign-in answer")


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment .ci/run gives `check --deploy`: production values, nothing from the test run."""
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": key,
        "IDENTIFIER_HASH_KEY": key,
        "FACERIGHTS_SIGNING_KEY": key,
        "ALLOWED_HOSTS": "facerights.example.com",
        "FACERIGHTS_VAR_DIR": str(tmp_path / "var"),
        **extra,
    }


def test_the_deployment_checklist_has_nothing_to_say_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_plain_http_is_redirected_to_https_in_production(tmp_path):
    """With nothing but the production environment: SECURE_SSL_REDIRECT is on by default, behind nginx too."""
    script = textwrap.dedent(
        """
        import django
        django.setup()
        from django.test import Client
        client = Client(HTTP_HOST="facerights.example.com")
        plain = client.get("/me/?tab=1")
        print("plain", plain.status_code, plain["Location"], plain.has_header("Strict-Transport-Security"))
        proxied = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
        print("proxied", proxied.status_code, proxied["Strict-Transport-Security"])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=_production_env(tmp_path, DJANGO_SETTINGS_MODULE="facerights.settings"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.startswith(("plain", "proxied")))
    assert lines["plain"] == "301 https://facerights.example.com/me/?tab=1 False"  # no HSTS over plain HTTP
    status, hsts = lines["proxied"].split(" ", 1)
    assert status == "200" and re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts)
    assert int(re.search(r"\d+", hsts)[0]) >= YEAR
