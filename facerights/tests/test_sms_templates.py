"""Text messages are registered templates with a link, never free text (docs/sms.md)."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

import pytest

from dataops.deletions.notify import deletion_completed_send
from dataops.deletions.opening import deletion_request_open
from dataops.requests.notify import request_send
from dataops.requests.services import request_submit
from facerights.sms import TEMPLATES, SmsError
from tests import factories

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sms.md"


class TemplateOnlyGateway:
    """As Aliyun's or Tencent's: a registered template by name, or nothing."""

    sent: list[tuple[str, str, dict]] = []

    def send(self, phone, text):
        raise SmsError("free text is refused")

    def send_template(self, phone, template, params):
        TemplateOnlyGateway.sent.append((phone, template, params))


def test_the_docs_list_every_template_exactly_as_it_is_sent():
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+?) \| ", DOCS.read_text(), flags=re.M))
    assert {name: rows.get(name) for name in TEMPLATES} == TEMPLATES


@pytest.mark.django_db
def test_news_of_requests_and_deletions_reaches_a_template_gateway_by_name_with_a_link(settings, system):
    settings.FACERIGHTS_SMS_BACKEND = "facerights.tests.test_sms_templates.TemplateOnlyGateway"
    TemplateOnlyGateway.sent = []
    person = factories.subject(phone="13500135000")  # no email: told by text message
    factories.holding(person, system)
    request = request_submit(actor="t", subject=person, type="copy", system=system)
    assert request_send(request, "received")
    deletion = deletion_request_open(actor="t", subject=person, trigger="subject_request")
    deletion_completed_send(deletion)
    assert [template for _phone, template, _params in TemplateOnlyGateway.sent] == ["request_update", "deletion_update"]
    for _phone, template, params in TemplateOnlyGateway.sent:
        text = Template(TEMPLATES[template]).substitute(params)  # every parameter given
        assert text.startswith(f"【{system.entity.name_zh}】") and "http" in text
    assert TemplateOnlyGateway.sent[0][2]["ref"] == request.reference
