"""The slip a person takes home (from the desk, or in the DPO's reply to a letter): what was asked, by when,
and how to follow it without an account.

One A5 page, in Chinese and English, for one or more requests of one person. Each request
gets a new lookup code when its slip is printed (an earlier slip's code stops working);
the code is on the paper only. The slip names no one: a relative the person hands it to
learns the requests' status and nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from facerights.audit import audit_record
from facerights.pdf import html_to_pdf
from facerights.present import date_text, due_text, field_label, moment_text

from ..registry.models import LegalEntity, Site
from .lookup import format_code, request_lookup_issue
from .models import Request


def lookup_url() -> str:
    return f"{settings.FACERIGHTS_BASE_URL}/lookup/"


def receipt_pdf(
    *, actor: str, requests: list[Request], entity: LegalEntity, site: Site | None = None, printed_on: dt.date
) -> bytes:
    """The receipt as PDF bytes, with a fresh lookup code for each request."""
    rows = []
    for request in requests:
        code = request_lookup_issue(actor=actor, request=request)
        row: dict[str, Any] = {"reference": request.reference, "code": format_code(code)}
        for language, override in (("zh", "zh-hans"), ("en", "en")):
            with translation.override(override):
                row[language] = {
                    "type": field_label("dataops.Request.type", request.type),
                    "system": (
                        request.system.name_zh if language == "zh" else request.system.name_en or request.system.name_zh
                    )
                    if request.system
                    else "",
                    "received": moment_text(request.received_at, language),
                    "due": due_text(request.due, language),
                }
        rows.append(row)
    html = render_to_string(
        "dataops/request_receipt.html",
        {
            "entity": entity,
            "site": site,
            "rows": rows,
            "lookup_url": lookup_url(),
            "printed_zh": date_text(printed_on, "zh"),
            "printed_en": date_text(printed_on, "en"),
        },
    )
    pdf = html_to_pdf(html)
    with transaction.atomic():
        for request in requests:
            audit_record(actor=actor, action="request.receipt_printed", target=request, data={})
    return pdf
