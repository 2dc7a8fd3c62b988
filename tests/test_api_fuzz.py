"""Schemathesis against /api/openapi.json, with real credentials: every operation, every default check.

The document is the one the portal serves, read through its WSGI application; the
requests run in-process, inside each test's transaction. A pull device's real
token authenticates the system operations (Schemathesis also sends each one
without it and with a wrong one: the `ignored_auth` check), and the push
callbacks are signed with the push system's real secret, so the fuzzer reaches
the code behind the signature. docs/reliability.md, "API fuzzing", has the figures.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES

from dataops.deletions.delivery import signing
from dataops.deletions.opening import deletion_request_open
from dataops.models import Propagation
from dataops.registry.credentials import credential_issue
from tests import factories

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 50  # per operation and generation phase, with a fixed seed (derandomize)


def _served_schema():
    """The OpenAPI document as /api/openapi.json serves it (it needs no database)."""

    with override_settings(ALLOWED_HOSTS=["localhost"]):
        return schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application(), config=CONFIG)


# These operations document a 400 for a well-formed request the rules refuse (a purpose
# the system did not declare, a notice version that does not exist, "held" without a
# reason, a consent token that is not valid): the schema cannot know the registry, so a
# schema-valid request may get it. Every other check, and this one for every other status, stays as Schemathesis ships it.
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-name": [
                    "POST /api/v1/holdings",
                    "POST /api/v1/systems/{system_id}/deletions/{instruction_id}/ack",
                    "POST /api/v1/systems/{system_id}/deletions/ack",
                    "POST /api/v1/consent-sessions",
                    "POST /api/v1/consent-prompt",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "400"]
                    }
                },
            }
        ]
    }
)


schema = _served_schema()
# Issued to the device in each test (its transaction rolls back after): Schemathesis builds
# some cases when it collects the tests, before any test has a database.
DEVICE_TOKEN = "frd_fuzz-" + "0" * 40


@schema.auth()
class DeviceTokenAuth:
    def get(self, case, context):
        return DEVICE_TOKEN

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def in_process_wsgi(settings):
    """Let the WSGI application run inside the test's transaction, as Django's test client does.

    Django's handler closes the database connection when a request starts and
    ends (request_started/request_finished); that would end the test's
    transaction at the first request.
    """

    settings.ALLOWED_HOSTS = ["localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(entity, purpose, in_process_wsgi, request):
    """A pull device with instructions in its feed, a push system with its secret, people held by both.

    After the operation's examples, it checks that the fuzzer got past authentication (and,
    for the callbacks, past the signature) into the operation's own code, and prints what
    was answered (`pytest -s` shows it; docs/reliability.md quotes it).
    """
    device = factories.active_system(entity=entity, purpose=purpose, integration="pull", webhook_url="")
    credential_issue(actor="t", system=device, kind="device_token", value=DEVICE_TOKEN)
    pusher = factories.active_system(entity=entity, purpose=purpose)
    secret = credential_issue(actor="t", system=pusher, kind="webhook_secret")
    for n in range(3):
        person = factories.subject(phone=f"1370000{n:04d}")
        factories.holding(person, device, key=f"FUZZ-{n}")
        factories.holding(person, pusher, key=f"PUSH-{n}")
        deletion_request_open(actor="t", subject=person, trigger="subject_request")
    instructions = list(
        Propagation.objects.filter(system=device, state="pending").values_list("idempotency_key", flat=True)
    )
    answered: Counter = Counter()
    yield {
        "device": device,
        "pusher": pusher,
        "secret": secret,
        "instructions": itertools.cycle(instructions),
        "messages": itertools.count(1),
        "answered": answered,
    }
    label = request.node.callspec.id if hasattr(request.node, "callspec") else request.node.name
    print(f"\n{label}: {sum(answered.values())} requests, answered {dict(sorted(answered.items()))}")
    reached = {code for code in answered if code not in (401, 422)}
    assert reached, f"{label}: every request was refused before the operation's code ran: {dict(answered)}"
    if "callbacks" in label:
        assert answered[200], f"{label}: no signed callback was accepted: {dict(answered)}"


def test_the_fuzzed_document_is_the_served_one_and_names_every_operation(client):
    served = client.get("/api/openapi.json").json()
    assert served == schema.raw_schema
    operations = {(m.upper(), p) for p, item in served["paths"].items() for m in item}
    assert len(operations) == 11, operations


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_answers_within_its_schema(case, fuzz_world):
    callback = case.path.endswith("/callbacks")
    path = case.path_parameters or {}
    if re.fullmatch(r"-?[0-9]+", str(path.get("system_id"))):
        # Any well-formed id but the real one is another system's (404, as tests/test_route_matrix.py
        # checks): aim at the real one. A malformed id (a negative case) is sent as generated.
        path["system_id"] = (fuzz_world["pusher"] if callback else fuzz_world["device"]).pk
    if case.meta.generation.mode.is_positive and sum(fuzz_world["answered"].values()) % 2:
        # Every other valid request names real instructions, to reach past "unknown instruction".
        if "instruction_id" in path:
            path["instruction_id"] = next(fuzz_world["instructions"])
        if isinstance(case.body, dict) and isinstance(case.body.get("acks"), list):
            for item in case.body["acks"]:
                item["id"] = next(fuzz_world["instructions"])
    if callback and _is_json(case.body):
        body = json.dumps(case.body).encode()
        headers = signing.sign_headers([fuzz_world["secret"]], f"msg_fuzz_{next(fuzz_world['messages'])}", body)
        response = case.call_and_validate(headers=headers, data=body)
    else:
        response = case.call_and_validate()
    fuzz_world["answered"][response.status_code] += 1


def _is_json(body) -> bool:
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
