"""A push system: an HTTP server that receives signed deletion webhooks."""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import signing
from .store import Store


class PushSystem:
    """Answers synchronously ("sync") or with 202 and a signed callback ("callback").

    `failure_rate` answers that share of calls with 503; `offline()` stops
    listening until `online()` (connections are refused meanwhile).
    """

    def __init__(
        self,
        *,
        system_id: int,
        secret: str,
        store: Store,
        port: int = 0,
        mode: str = "sync",
        failure_rate: float = 0.0,
        portal_url: str = "",
        host: str = "127.0.0.1",
        delay: float = 0.0,
    ):
        self.system_id = system_id
        self.secret = secret
        self.store = store
        self.mode = mode
        self.failure_rate = failure_rate
        self.portal_url = portal_url.rstrip("/")
        self.host = host
        self.port = port
        self.delay = delay  # seconds to wait before answering (a slow system)
        self.requests_seen = threading.Event()
        self.rejected_signatures = 0
        self.deliveries: list[tuple[str, int]] = []  # (webhook-id, instructions) of each signed delivery
        self._server: ThreadingHTTPServer | None = None
        self._rng = random.Random()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/webhook"

    def online(self) -> PushSystem:
        system = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = system.handle({k.lower(): v for k, v in self.headers.items()}, body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def offline(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, headers: dict, body: bytes) -> tuple[int, dict]:
        self.requests_seen.set()
        if self.delay:
            time.sleep(self.delay)
        if not signing.verify(self.secret, headers, body):
            self.rejected_signatures += 1
            return 401, {"error": "bad signature"}
        if self.failure_rate and self._rng.random() < self.failure_rate:
            return 503, {"error": "simulated failure"}
        try:
            instructions = json.loads(body)["instructions"]
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "malformed body"}
        self.deliveries.append((headers.get("webhook-id", ""), len(instructions)))
        if self.mode == "callback":
            threading.Thread(target=self._confirm_later, args=(instructions,), daemon=True).start()
            return 202, {"results": [{"id": i["id"], "status": "accepted"} for i in instructions]}
        return 200, {"results": [self._apply(i) for i in instructions]}

    def _apply(self, instruction: dict) -> dict:
        outcome, evidence = self.store.apply(
            instruction["id"], instruction["subject_key"], instruction.get("action", "delete")
        )
        return {"id": instruction["id"], "status": outcome, "evidence": evidence}

    def _confirm_later(self, instructions: list[dict]) -> None:
        results = [self._apply(i) for i in instructions]
        body = json.dumps({"results": results}).encode()
        msg_id = "cb_" + instructions[0]["id"]
        request = urllib.request.Request(
            f"{self.portal_url}/api/v1/systems/{self.system_id}/callbacks",
            data=body,
            headers={**signing.headers(self.secret, msg_id, body), "Content-Type": "application/json"},
            method="POST",
        )
        # If this fails, the portal re-sends the instruction and the store answers it from its record.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=10).read()
