"""A pull device: polls its feed, deletes, acknowledges; reconciles after a long absence."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request

from .store import Store


class PullDevice:
    def __init__(self, *, system_id: int, token: str, store: Store, portal_url: str, poll_seconds: float = 2.0):
        self.system_id = system_id
        self.token = token
        self.store = store
        self.portal_url = portal_url.rstrip("/")
        self.poll_seconds = poll_seconds
        self.cursor = 0
        self.reconciliations = 0
        self.is_online = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _call(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.portal_url}/api/v1/systems/{self.system_id}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (the portal's own URL)
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def _carry_out(self, instructions: list[dict]) -> bool:
        """Carry out each instruction (its action), then acknowledge the page; True when every acknowledgement was taken."""
        acks = []
        for instruction in instructions:
            outcome, evidence = self.store.apply(
                instruction["id"], instruction["subject_key"], instruction.get("action", "delete")
            )
            acks.append({"id": instruction["id"], "status": outcome, "evidence": evidence})
        taken = True
        for start in range(0, len(acks), 500):
            status, _body = self._call("POST", "/deletions/ack", {"acks": acks[start : start + 500]})
            taken = taken and status == 200
        return taken

    def poll_once(self) -> int:
        """Fetch and carry out everything after the cursor; return how many instructions were handled."""
        handled = 0
        while True:
            status, body = self._call("GET", f"/deletions?after={self.cursor}&limit=500")
            if status in (409, 410):  # a cursor ahead of the feed, or older than it: reconcile, as the guide says
                self.reconcile()
                continue
            if status != 200:
                return handled
            if not self._carry_out(body["instructions"]):
                # The guide: keep the cursor until the page is handled. The store answers the
                # repeated instructions from its record, so the next poll only re-acknowledges.
                return handled
            handled += len(body["instructions"])
            if body["next_cursor"] == self.cursor or not body["instructions"]:
                return handled
            self.cursor = body["next_cursor"]

    def reconcile(self) -> None:
        self.reconciliations += 1
        keys = self.store.inventory()
        status, body = self._call(
            "POST", "/reconcile", {"subject_keys": keys, "held_count": len(set(keys)), "complete": True}
        )
        if status != 200:
            return
        self.store.delete_keys(body["stale"])
        self._carry_out(body["delete"])
        self.cursor = body["cursor"]

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.is_online:
                with contextlib.suppress(OSError, ValueError):  # the portal is unreachable: try at the next poll
                    self.poll_once()
            self._stop.wait(self.poll_seconds)

    def start(self) -> PullDevice:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
