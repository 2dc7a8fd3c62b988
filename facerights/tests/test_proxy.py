"""Behind a reverse proxy, each client has its own rate-limit bucket (issue 15, item 2).

A real proxy hop: a small HTTP proxy in a thread forwards to the live server and appends the
address it saw to X-Forwarded-For, as the documented nginx does. Two clients connect to it
from two loopback addresses (127.0.0.2 and 127.0.0.3).
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

import pytest

from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _proxy(upstream: str) -> ThreadingHTTPServer:
    target = urlsplit(upstream)

    class Hop(BaseHTTPRequestHandler):
        def _forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            drop = ("connection", "x-forwarded-for", "host")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
            headers["Host"] = target.netloc  # the site's name, as nginx passes $host
            forwarded = self.headers.get("X-Forwarded-For")
            headers["X-Forwarded-For"] = (
                f"{forwarded}, {self.client_address[0]}" if forwarded else self.client_address[0]
            )
            upstream_connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            upstream_connection.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream_connection.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _forward

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Client:
    """A browser at one address: keeps its cookies, sends the CSRF token."""

    def __init__(self, proxy: ThreadingHTTPServer, address: str):
        self.port, self.address, self.cookies = proxy.server_address[1], address, {}

    def _call(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(self.address, 0), timeout=30)
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Referer": f"http://127.0.0.1:{self.port}/",
        }
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        for key, value in response.getheaders():
            if key.lower() == "set-cookie":
                name, _sep, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.read().decode()

    def sign_in(self, login: str, password: str) -> tuple[int, str]:
        self._call("GET", "/accounts/login/")
        return self._call("POST", "/accounts/login/", {"login": login, "password": password})


@pytest.mark.parametrize("mode", ["proxy_count", "client_ip_header"])
def test_one_clients_failed_sign_ins_never_lock_out_another_behind_the_proxy(live_server, settings, mode):
    # Used to pass: behind nginx every client counted as the proxy's address, so 11 failed sign-ins
    # from 11 addresses locked a 12th client's correct password out for a minute.
    if mode == "proxy_count":
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    else:
        settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Forwarded-For"  # this hop sets it to the client's address
    factories.user_with_role("data_subject", username="honest", password="correct horse 42")
    proxy = _proxy(live_server.url)
    try:
        guesser, honest = Client(proxy, "127.0.0.2"), Client(proxy, "127.0.0.3")
        for n in range(11):  # different logins: the per-address limit, not the per-login one
            guesser.sign_in(f"nobody{n}", "wrong")
        status, page = guesser.sign_in("nobody99", "wrong")
        assert status == 429 or "too many" in page.lower() or "过多" in page  # the guesser is limited
        status, _page = honest.sign_in("honest", "correct horse 42")
        assert status == 302 and "sessionid" in honest.cookies  # the other client signs in
    finally:
        proxy.shutdown()
