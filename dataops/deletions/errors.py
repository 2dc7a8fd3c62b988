"""A delivery's error, as the DPO reads it: what went wrong in words, the technical detail one click away.

The raw text (`ReadTimeoutError: HTTPConnectionPool…`, `HTTP 503`) stays on the row for the
vendor and the logs; people see the explanation first.
"""

from __future__ import annotations

import re

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

# First match wins: the more specific causes first.
EXPLANATIONS = (
    (re.compile(r"no webhook secret", re.I), _("The system has no signing secret yet: issue one in the registry.")),
    (
        re.compile(r"unknown status", re.I),
        _("The system answered with a status the guide does not define; it is asked again later: tell the vendor."),
    ),
    (re.compile(r"HTTP 429\b"), _("The system asked us to slow down; the instruction is sent again later.")),
    (re.compile(r"HTTP 5\d\d\b"), _("The system failed while handling it (its own error); it is sent again later.")),
    (
        re.compile(r"HTTP 4\d\d\b"),
        _("The system refused the instruction: check its address and secret with the vendor."),
    ),
    (re.compile(r"SSL|certificate", re.I), _("The system's secure connection was refused (its TLS certificate).")),
    (re.compile(r"timed? ?out|Timeout", re.I), _("The system did not answer in time; it is sent again later.")),
    (
        re.compile(r"Connection|refused|resolve|Name or service|unreachable|Max retries", re.I),
        _("The system could not be reached at its address; it is sent again later."),
    ),
    (
        re.compile(r"private|loopback|internal", re.I),
        _("The address is on a private network, which this system may not use."),
    ),
)


def error_explained(raw: str) -> str:
    """The error in words, or an empty string when there is none."""
    if not raw:
        return ""
    for pattern, text in EXPLANATIONS:
        if pattern.search(raw):
            return str(text)
    return str(_("The delivery failed; the technical detail says how."))


def error_html(raw: str) -> SafeString | str:
    """The explanation, with the raw error under a disclosure."""
    if not raw:
        return "—"
    return format_html(
        "{}<details><summary>{}</summary><code>{}</code></details>", error_explained(raw), _("technical detail"), raw
    )
