"""A check-in kiosk that asks consent through FaceRights (docs/integration.md, Consent at capture).

It opens a consent session, shows the page's QR code (here, a person's phone answers it), reads
the outcome, and enrols the guest only with the consent token the answer gave. Like the other
simulated systems it imports nothing from FaceRights.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from .store import Store


class Kiosk:
    def __init__(self, *, token: str, store: Store, portal_url: str, purpose: str):
        self.token = token
        self.store = store
        self.portal_url = portal_url.rstrip("/")
        self.purpose = purpose

    def _api(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.portal_url}/api/v1{path}",
            data=json.dumps(payload).encode() if payload is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (the portal's own URL)
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def check_in(self, subject_key: str, *, answer: str, date_of_birth: str = "", booking: str = "") -> str:
        """Ask a guest, as the guide says; return how it ended (a session state, or "suppressed")."""
        status, opened = self._api("POST", "/consent-sessions", {"purpose": self.purpose, "subject_key": subject_key})
        if status == 409:
            return "suppressed"  # they said no recently: offer the alternative, do not ask
        if status != 201:
            raise RuntimeError(f"opening a session: {status} {opened}")
        guest_answers(opened["url"], answer=answer, date_of_birth=date_of_birth)
        outcome = {"state": "open"}
        for _ in range(50):
            _status, outcome = self._api("GET", f"/consent-sessions/{opened['id']}")
            if outcome["state"] != "open":
                break
            time.sleep(0.1)
        if outcome["state"] == "consented":
            status, body = self._api(
                "POST",
                "/holdings",
                {
                    "subject_key": subject_key,
                    "data_kind": "template",
                    "enrolled_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                    "identifiers": {"external": booking or subject_key},
                    "purpose": self.purpose,
                    "consent_token": outcome["consent_token"],
                },
            )
            if status != 201:
                raise RuntimeError(f"enrolling: {status} {body}")
            self.store.enrol(subject_key)
        return outcome["state"]


def guest_answers(url: str, *, answer: str, date_of_birth: str) -> None:
    """What the guest does on their phone: open the page, give their date of birth, choose, send."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(url, timeout=15) as response:  # the QR code's address
        page = response.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    version = re.search(r'name="notice_version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrfmiddlewaretoken": csrf, "notice_version": version, "answer": answer, "date_of_birth": date_of_birth}
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(form).encode(), headers={"Referer": url}, method="POST"
    )
    with opener.open(request, timeout=15):
        pass
