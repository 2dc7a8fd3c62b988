"""Structured logs that follow one piece of work across processes.

Every log line carries a request id. A web request takes the id its proxy
sent (X-Request-ID, when it looks like one) or makes a new one; a Celery task
inherits the id of whatever sent it, through a message header; a deletion
remembers the id of the request that opened it (DeletionRequest.request_id),
so every delivery attempt, however much later and from whichever worker,
logs it too. `grep <id>` over the logs of every host tells a deletion's story.

No personal data goes into a log line: messages name rows by id or by their
random reference, never by phone, email or name (a test scans the output of
the end-to-end run for the demo subjects' identifiers).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# What a proxy's id may look like: nginx's $request_id (32 hex digits) or a UUID.
# Nothing else is taken from a client: an id is repeated in every line of a
# deletion's story, and a free-form one could carry a phone number.
_VALID_ID = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
HEADER = "X-Request-ID"

# Attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_get() -> str:
    return _request_id.get()


def request_id_set(value: str) -> contextvars.Token:
    return _request_id.set(value)


def request_id_reset(token: contextvars.Token) -> None:
    _request_id.reset(token)


def request_id_accept(value: str | None) -> str:
    """The proxy's id when it is well-formed, else a new one (a header is input like any other)."""
    return value if value and _VALID_ID.match(value) else request_id_new()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record, for any formatter to use."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = _request_id.get()
        return True


class PathRedactFilter(logging.Filter):
    """Django's loggers print the path of a request; the route pattern says enough.

    A path may carry a sign-in link's key, a vendor's one-time token or an
    export's number, so it never reaches a log line: in any record that carries
    the request (django.request, django.security.csrf, ...), the path and the
    full path with its query are replaced by the route. The development
    server's lines keep only their status.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.server":
            record.msg, record.args = "%s", (getattr(record, "status_code", ""),)
            return True
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if request is not None and isinstance(path, str) and path:
            match = getattr(request, "resolver_match", None)
            route = f"<{match.route}>" if match else "<path>"
            message = record.getMessage()
            for shown in sorted({request.get_full_path(), path}, key=len, reverse=True):
                message = message.replace(shown, route)
            record.msg, record.args = message, ()
        return True


_PLAIN = (str, int, float, bool, type(None), list, dict)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or _request_id.get(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            # Only plain values: an object (Django puts the request on some records) could print a path.
            if key not in _STANDARD and not key.startswith("_") and isinstance(value, _PLAIN):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdMiddleware:
    """Gives each web request its id, answers with it, and logs the request in one line."""

    logger = logging.getLogger("facerights.request")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_accept(request.headers.get(HEADER))
        token = request_id_set(request_id)
        request.request_id = request_id
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            # The route's pattern, never the path: a path may carry a token or a reference.
            match = getattr(request, "resolver_match", None)
            self.logger.info(
                "%s %s %s",
                request.method,
                match.route if match else "-",
                response.status_code,
                extra={"method": request.method, "route": match.route if match else "", "status": response.status_code},
            )
            return response
        finally:
            request_id_reset(token)
