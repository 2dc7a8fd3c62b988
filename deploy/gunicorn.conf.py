"""Gunicorn for FaceRights: `gunicorn -c deploy/gunicorn.conf.py facerights.wsgi`.

Everything comes from the environment (the same file the systemd units read):
WEB_BIND, WEB_CONCURRENCY, WEB_THREADS, WEB_TIMEOUT.
"""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")  # nginx in front; never exposed directly
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("WEB_THREADS", 1))
timeout = int(os.environ.get("WEB_TIMEOUT", 60))  # a PDF is built by a worker, never in a request
graceful_timeout = 30
max_requests = 2000  # recycle workers now and then: a slow leak never becomes an outage
max_requests_jitter = 200
# nginx on the same host sets X-Forwarded-Proto; trust it only from there.
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
# No access log here: facerights.logs writes one JSON line per request, with the
# route instead of the path (a path may carry a token) and the request id.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's own lines (starting, worker timeouts) in the same JSON as the application's.
if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "facerights.logs.JsonFormatter"}},
        "handlers": {  # the names gunicorn's defaults refer to
            "console": {"class": "logging.StreamHandler", "formatter": "json"},
            "error_console": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "loggers": {"gunicorn.error": {"handlers": ["error_console"], "level": loglevel.upper(), "propagate": False}},
    }
# No control socket: nothing uses it, and the service's home is read-only (ProtectSystem=strict).
control_socket_disable = True
