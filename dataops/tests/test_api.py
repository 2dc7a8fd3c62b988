"""The API processing systems use: pull feed, acknowledgements, reconcile, callbacks, enrolments, consent checks."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.services import Provenance, consent_withdraw, subject_find
from dataops.deletions.delivery import signing
from dataops.deletions.delivery.pull import feed_retention_advance, reconcile_hold_decide
from dataops.deletions.models import ReconcileHold
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import propagation_confirm
from dataops.models import DeletionRequest, Holding, ProcessingSystem, Propagation, SystemCredential
from dataops.registry.credentials import credential_issue, secret_new, webhook_secrets
from dataops.registry.services import system_retire, system_save
from facerights.models import AuditEvent
from facerights.uploads import EVIDENCE_MAX_DEPTH
from tests import factories

pytestmark = pytest.mark.django_db


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


START = 1  # the cursor after the connection test


def _open_deletions(subjects, system, count):
    deletions = []
    for n in range(count):
        subject = subjects[n]
        factories.holding(subject, system, key=f"DEV-{n}")
        deletions.append(deletion_request_open(actor="t", subject=subject, trigger="subject_request"))
    return deletions


@pytest.fixture
def people(db):
    return [factories.subject(phone=f"1350000{n:04d}") for n in range(5)]


def test_the_feed_needs_a_valid_token(client, device):
    system, _token = device
    url = f"/api/v1/systems/{system.pk}/deletions"
    assert client.get(url).status_code == 401
    assert client.get(url, **_auth("frd_not-a-token")).status_code == 401


def test_another_systems_token_sees_nothing(client, device, entity, purpose):
    system, _ = device
    _other, other_token = factories.pull_system(entity=entity, purpose=purpose)
    assert client.get(f"/api/v1/systems/{system.pk}/deletions", **_auth(other_token)).status_code == 404


def test_the_feed_serves_instructions_in_order_with_a_cursor(client, device, people):
    system, token = device
    _open_deletions(people, system, 3)
    body = client.get(f"/api/v1/systems/{system.pk}/deletions?after={START}&limit=2", **_auth(token)).json()
    assert [i["subject_key"] for i in body["instructions"]] == ["DEV-0", "DEV-1"]
    assert body["next_cursor"] == body["instructions"][-1]["cursor"]
    assert set(body["instructions"][0]) == {"id", "cursor", "request", "subject_key", "action", "deadline"}
    rest = client.get(f"/api/v1/systems/{system.pk}/deletions?after={body['next_cursor']}", **_auth(token)).json()
    assert [i["subject_key"] for i in rest["instructions"]] == ["DEV-2"]
    assert set(Propagation.objects.filter(system=system, feed_seq__gt=START).values_list("state", flat=True)) == {
        "sent"
    }


def test_an_acknowledgement_completes_the_deletion_once(client, device, people):
    system, token = device
    [deletion] = _open_deletions(people, system, 1)
    instruction = client.get(f"/api/v1/systems/{system.pk}/deletions?after={START}", **_auth(token)).json()[
        "instructions"
    ][0]
    url = f"/api/v1/systems/{system.pk}/deletions/{instruction['id']}/ack"
    for _ in range(3):
        response = client.post(
            url, {"status": "deleted", "evidence": {"removed": 1}}, content_type="application/json", **_auth(token)
        )
        assert response.status_code == 200 and response.json()["state"] == "deleted"
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.COMPLETED
    assert Propagation.objects.get(deletion_request=deletion).evidence["device_evidence"] == {"removed": 1}


@pytest.mark.parametrize(
    "payload",
    [{"status": "gone"}, {"status": "held"}, {"status": "deleted", "image": "iVBORw0KGgo="}, {}],
    ids=["unknown-status", "held-without-reason", "image-field", "empty"],
)
def test_a_bad_acknowledgement_is_refused_with_a_reason_and_changes_nothing(client, device, people, payload):
    system, token = device
    [deletion] = _open_deletions(people, system, 1)
    p = deletion.propagations.get()
    response = client.post(
        f"/api/v1/systems/{system.pk}/deletions/{p.idempotency_key}/ack",
        payload,
        content_type="application/json",
        **_auth(token),
    )
    assert response.status_code in (400, 422)
    assert response.json()["detail"]
    assert Propagation.objects.get(pk=p.pk).state == "pending"


def test_polling_records_the_last_contact_at_most_once_a_minute(client, device):
    system, token = device
    client.get(f"/api/v1/systems/{system.pk}/deletions", **_auth(token))
    first = ProcessingSystem.objects.get(pk=system.pk).last_contact_at
    client.get(f"/api/v1/systems/{system.pk}/deletions", **_auth(token))
    assert first is not None
    assert ProcessingSystem.objects.get(pk=system.pk).last_contact_at == first


def test_a_cursor_older_than_the_feed_gets_410_and_the_device_reconciles(client, device, people):
    system, token = device
    deletions = _open_deletions(people, system, 3)
    Propagation.objects.filter(deletion_request__in=deletions[:2]).update(
        created_at=timezone.now() - dt.timedelta(days=91)
    )
    # The first was carried out long ago; the device came back from an old backup still holding it.
    first = Propagation.objects.get(deletion_request=deletions[0])

    propagation_confirm(actor="t", propagation=first, outcome="deleted", evidence={"old": True})
    feed_retention_advance(ProcessingSystem.objects.get(pk=system.pk))
    response = client.get(f"/api/v1/systems/{system.pk}/deletions?after=0", **_auth(token))
    assert response.status_code == 410
    assert "reconcile" in response.json()["detail"]
    inventory = ["DEV-0", "DEV-2", "NEVER-REPORTED"]  # DEV-1 is already gone from the device
    body = client.post(
        f"/api/v1/systems/{system.pk}/reconcile",
        {"subject_keys": inventory, "held_count": 3, "complete": True},
        content_type="application/json",
        **_auth(token),
    ).json()
    assert [i["subject_key"] for i in body["delete"]] == ["DEV-2"]
    assert body["stale"] == ["DEV-0"]
    assert body["unknown"] == ["NEVER-REPORTED"]
    # Closing DEV-1 is half of what is open: more than a small share, so the DPO decides.
    assert body["closed_not_found"] == 0 and body["awaiting_confirmation"] == 1
    hold = ReconcileHold.objects.get(system_id=system.pk)
    assert Propagation.objects.get(deletion_request=deletions[1]).state != "not_found"
    reconcile_hold_decide(actor="dpo", hold=hold, confirm=True)
    closed = Propagation.objects.get(deletion_request=deletions[1])
    assert closed.state == "not_found" and closed.evidence["inventory_size"] == 3
    assert (
        client.get(f"/api/v1/systems/{system.pk}/deletions?after={body['cursor']}", **_auth(token)).status_code == 200
    )


# --- Callbacks signed as Standard Webhooks ------------------------------------------------------------


@pytest.fixture
def awaiting(entity, purpose, subject):
    system = factories.active_system(entity=entity, purpose=purpose)
    secret = credential_issue(actor="t", system=system, kind="webhook_secret")
    factories.holding(subject, system, key="CB-1")
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    return system, secret, deletion.propagations.get()


def _callback(client, system, body, headers):
    return client.post(
        f"/api/v1/systems/{system.pk}/callbacks",
        body,
        content_type="application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    )


def test_a_signed_callback_confirms(client, awaiting):
    system, secret, p = awaiting
    body = json.dumps({"results": [{"id": p.idempotency_key, "status": "deleted", "evidence": {"n": 1}}]}).encode()
    response = _callback(client, system, body, signing.sign_headers([secret], "msg_1", body))
    assert response.status_code == 200
    assert response.json() == [{"id": p.idempotency_key, "state": "deleted"}]


def test_a_replayed_callback_is_refused_and_changes_nothing(client, awaiting, entity, purpose, subject):
    # Used to pass: the same signed callback, sent again within five minutes, was accepted again.
    system, secret, p = awaiting
    body = json.dumps({"results": [{"id": p.idempotency_key, "status": "deleted", "evidence": {"n": 1}}]}).encode()
    headers = signing.sign_headers([secret], "msg_replay", body)
    assert _callback(client, system, body, headers).status_code == 200
    events = AuditEvent.objects.count()
    replay = _callback(client, system, body, headers)
    assert replay.status_code == 409 and replay.json()["error"] == "replayed"
    assert AuditEvent.objects.count() == events
    # Signed four minutes ahead (clocks drift; the specification allows five) is still accepted, once.
    ahead = signing.sign_headers([secret], "msg_ahead", body, timestamp=int(timezone.now().timestamp()) + 240)
    assert _callback(client, system, body, ahead).status_code == 200
    assert _callback(client, system, body, ahead).status_code == 409


@pytest.mark.parametrize("tamper", ["body", "id", "key", "old_timestamp", "future_timestamp", "missing"])
def test_a_tampered_callback_is_rejected(client, awaiting, tamper):
    system, secret, p = awaiting
    body = json.dumps({"results": [{"id": p.idempotency_key, "status": "deleted", "evidence": {"n": 1}}]}).encode()
    now = int(timezone.now().timestamp())
    stamp = {"old_timestamp": now - 310, "future_timestamp": now + 310}.get(tamper, now)
    headers = signing.sign_headers([secret_new() if tamper == "key" else secret], "msg_1", body, timestamp=stamp)
    if tamper == "id":
        headers["webhook-id"] = "msg_2"
    if tamper == "body":
        body = body.replace(b'"n": 1', b'"n": 2')
    if tamper == "missing":
        headers.pop("webhook-signature")
    response = _callback(client, system, body, headers)
    assert response.status_code == 401
    assert Propagation.objects.get(pk=p.pk).state == "pending"


def test_both_secrets_work_during_a_rotation_and_the_old_one_stops_after(client, awaiting):
    system, old_secret, p = awaiting
    new_secret = credential_issue(actor="t", system=system, kind="webhook_secret", overlap=dt.timedelta(hours=1))
    body = json.dumps({"results": []}).encode()
    assert _callback(client, system, body, signing.sign_headers([old_secret], "m1", body)).status_code == 200
    assert _callback(client, system, body, signing.sign_headers([new_secret], "m2", body)).status_code == 200

    SystemCredential.objects.filter(system=system, expires_at__isnull=False).update(expires_at=timezone.now())
    assert _callback(client, system, body, signing.sign_headers([old_secret], "m3", body)).status_code == 401


def test_the_portal_signs_with_every_live_secret_during_a_rotation(awaiting):

    system, old_secret, _p = awaiting
    new_secret = credential_issue(actor="t", system=system, kind="webhook_secret", overlap=dt.timedelta(hours=1))
    headers = signing.sign_headers(webhook_secrets(system), "m", b"{}")
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (old_secret, new_secret):
        assert signing.verify([secret], headers, b"{}") == "m"


# --- Enrolment reports and consent checks -------------------------------------------------------------


def _report(system, **overrides):
    report = {
        "subject_key": "ENROL-1",
        "data_kind": "template",
        "enrolled_at": "2026-11-20T10:00:00+08:00",
        "identifiers": {"phone": "13612345678"},
        "date_of_birth": "1990-05-17",
        "consent": {
            "purpose": system.purposes.first().code,
            "notice_version": 1,
            "given_at": "2026-11-20T09:59:00+08:00",
        },
    }
    report.update(overrides)
    return report


def test_a_system_reports_an_enrolment_with_its_consent(client, device):
    system, token = device
    response = client.post("/api/v1/holdings", _report(system), content_type="application/json", **_auth(token))
    assert response.status_code == 201, response.content
    subject = subject_find(kind="phone", value="13612345678")
    holding = Holding.objects.get(subject=subject, system=system)
    assert holding.subject_key == "ENROL-1" and holding.consent.notice.version == 1
    assert holding.consent.channel == "device"


@pytest.mark.parametrize(
    ("attestation", "status"),
    [
        (None, 400),
        ({"by": "张前台", "role": "device"}, 422),
        ({"by": "", "role": "staff"}, 422),
        ({"by": "张前台", "role": "staff"}, 201),
    ],
    ids=["none", "a-device", "nameless", "a-named-staff-member"],
)
def test_a_report_without_a_date_of_birth_needs_a_named_attestation(client, device, attestation, status):
    system, token = device
    report = _report(system)
    del report["date_of_birth"]
    if attestation:
        report["consent"]["age_attestation"] = attestation
    response = client.post("/api/v1/holdings", report, content_type="application/json", **_auth(token))
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["error"] == "age_unknown"
    assert Holding.objects.filter(subject_key="ENROL-1").exists() is (status == 201)


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"consent": {"purpose": "x", "notice_version": 1, "given_at": "2026-11-20T09:59:00+08:00"}}, 400, "purpose"),
        ({"consent": {"purpose": None, "notice_version": 9, "given_at": "2026-11-20T09:59:00+08:00"}}, 400, "notice"),
        ({"face_template": "AAAA"}, 422, "face_template"),
        ({"identifiers": {"phone": "13612345678", "image": "iVBOR"}}, 422, "image"),
        ({"identifiers": {}}, 422, "identifier"),  # the schema says so: at least one
        ({"consent": None}, 422, "consent"),
    ],
    ids=["unknown-purpose", "unknown-notice", "template-field", "image-field", "no-identifier", "no-consent"],
)
def test_a_bad_enrolment_report_is_rejected_clearly_and_records_nothing(client, device, change, status, words):
    system, token = device
    report = _report(system)
    if "consent" in change and change["consent"] and change["consent"]["purpose"] is None:
        change["consent"]["purpose"] = system.purposes.first().code
    report.update(change)
    response = client.post("/api/v1/holdings", report, content_type="application/json", **_auth(token))
    assert response.status_code == status
    assert words in json.dumps(response.json()).lower()
    assert not Holding.objects.filter(system=system, subject__is_synthetic=False).exists()
    assert subject_find(kind="phone", value="13612345678") is None


def test_an_unknown_system_cannot_report(client, device):
    system, _ = device
    response = client.post("/api/v1/holdings", _report(system), content_type="application/json", **_auth("frd_nobody"))
    assert response.status_code == 401


def test_the_consent_check_answers_no_unless_a_current_consent_says_yes(client, device, subject):
    system, token = device
    holding = factories.holding(subject, system, key="CHECK-1")
    purpose = system.purposes.first().code

    def ask(key="CHECK-1", purpose=purpose):
        return client.post(
            "/api/v1/consent-check",
            {"subject_key": key, "purpose": purpose},
            content_type="application/json",
            **_auth(token),
        ).json()

    assert ask() == {"allowed": True, "reason": "consent_active"}
    assert ask(purpose="marketing-analytics") == {"allowed": False, "reason": "purpose_not_declared"}
    assert ask(key="NOBODY") == {"allowed": False, "reason": "unknown_subject"}
    consent_withdraw(actor="t", record=holding.consent, provenance=Provenance())
    assert ask() == {"allowed": False, "reason": "withdrawn"}


def test_the_consent_check_says_no_after_a_change_of_method(client, device, subject):

    system, token = device
    factories.holding(subject, system, key="CHECK-2")
    system.storage_location = "cloud"
    system_save(actor="t", system=system)
    answer = client.post(
        "/api/v1/consent-check",
        {"subject_key": "CHECK-2", "purpose": system.purposes.first().code},
        content_type="application/json",
        **_auth(token),
    ).json()
    assert answer == {"allowed": False, "reason": "needs_reconsent"}


def test_the_openapi_document_and_its_page_are_served_without_a_cdn(client):
    document = client.get("/api/openapi.json").json()
    assert "/api/v1/systems/{system_id}/deletions" in document["paths"]
    page = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


def test_a_device_acknowledges_a_whole_page_at_once(client, device, people):
    system, token = device
    deletions = _open_deletions(people, system, 3)
    instructions = client.get(f"/api/v1/systems/{system.pk}/deletions?after={START}", **_auth(token)).json()[
        "instructions"
    ]
    acks = [{"id": i["id"], "status": "deleted", "evidence": {"n": n}} for n, i in enumerate(instructions)]
    response = client.post(
        f"/api/v1/systems/{system.pk}/deletions/ack", {"acks": acks}, content_type="application/json", **_auth(token)
    )
    assert response.status_code == 200
    assert {row["state"] for row in response.json()} == {"deleted"}
    assert all(DeletionRequest.objects.get(pk=d.pk).state == "completed" for d in deletions)


def test_a_page_of_acknowledgements_with_one_bad_entry_changes_nothing(client, device, people):
    system, token = device
    _open_deletions(people, system, 2)
    instructions = client.get(f"/api/v1/systems/{system.pk}/deletions?after={START}", **_auth(token)).json()[
        "instructions"
    ]
    acks = [
        {"id": instructions[0]["id"], "status": "deleted", "evidence": {"n": 1}},
        {"id": instructions[1]["id"], "status": "held", "evidence": {"n": 2}},  # held without a reason
    ]
    response = client.post(
        f"/api/v1/systems/{system.pk}/deletions/ack", {"acks": acks}, content_type="application/json", **_auth(token)
    )
    # Refused by the schema itself (held needs a reason), naming the entry; nothing recorded.
    assert response.status_code == 422 and "held needs a reason" in response.content.decode()
    assert set(Propagation.objects.filter(feed_seq__gt=START).values_list("state", flat=True)) == {"sent"}
    acks[1] = {"id": "not-one-of-ours", "status": "deleted", "evidence": {"n": 2}}
    response = client.post(
        f"/api/v1/systems/{system.pk}/deletions/ack", {"acks": acks}, content_type="application/json", **_auth(token)
    )
    assert response.status_code == 404
    assert set(Propagation.objects.filter(feed_seq__gt=START).values_list("state", flat=True)) == {"sent"}


# --- Found by the fuzzer (tests/test_api_fuzz.py) ---------------------------------------------------------


def test_every_operation_documents_the_answers_given_before_its_code_runs(client):
    """422 when the schema refuses a request, 401 without a token, 400 for a body that is not JSON."""
    document = client.get("/api/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            assert "422" in answers, (method, path)
            assert "401" in answers, (method, path)  # the callbacks answer 401 to a bad signature
            if "requestBody" in operation:
                assert "400" in answers, (method, path)


def test_a_body_that_is_not_json_and_a_missing_token_are_answered_like_every_other_error(client, device):
    system, token = device
    response = client.post(
        f"/api/v1/systems/{system.pk}/reconcile", b"\x00{", content_type="application/json", **_auth(token)
    )
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "detail": "Cannot parse request body"}
    response = client.get(f"/api/v1/systems/{system.pk}/deletions")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"error": "unauthorized", "detail": "Unauthorized"}


@pytest.mark.parametrize(
    ("where", "payload"),
    [
        ("ack_many", {"acks": [{"id": "\x00", "status": "deleted"}]}),
        ("ack_many", {"acks": [{"id": "REAL", "status": "deleted", "evidence": {"log\x00": 1}}]}),
        ("ack_many", {"acks": [{"id": "REAL", "status": "deleted", "evidence": {"log": ["a\x00"]}}]}),
        ("ack_one", {"status": "held", "reason": "legal hold \x00"}),
        ("reconcile", {"subject_keys": ["K\x00"], "held_count": 1, "complete": True}),
        ("consent_check", {"subject_key": "K\x00", "purpose": "p"}),
        ("holdings", {"subject_key": "K\x00"}),
    ],
)
def test_a_nul_character_anywhere_is_refused_as_invalid_not_a_server_error(client, device, people, where, payload):
    """PostgreSQL keeps no NUL in text or jsonb (it was a 500): refused before it reaches the database."""
    system, token = device
    [deletion] = _open_deletions(people, system, 1)
    real = deletion.propagations.get().idempotency_key
    payload = json.loads(json.dumps(payload).replace("REAL", real))
    if where == "holdings":
        payload = _report(system, **payload)
    url = {
        "ack_many": f"/api/v1/systems/{system.pk}/deletions/ack",
        "ack_one": f"/api/v1/systems/{system.pk}/deletions/{real}/ack",
        "reconcile": f"/api/v1/systems/{system.pk}/reconcile",
        "consent_check": "/api/v1/consent-check",
        "holdings": "/api/v1/holdings",
    }[where]
    response = client.post(url, payload, content_type="application/json", **_auth(token))
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][0] == "body"
    assert Propagation.objects.get(idempotency_key=real).state == "pending"


def test_a_nul_character_in_an_instruction_id_is_refused_as_invalid(client, device):
    system, token = device
    url = f"/api/v1/systems/{system.pk}/deletions/K%00/ack"
    response = client.post(url, {"status": "deleted"}, content_type="application/json", **_auth(token))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "instruction_id"]


def test_a_nul_character_in_a_signed_callback_is_refused_as_invalid(client, awaiting):
    system, secret, p = awaiting
    body = json.dumps({"results": [{"id": p.idempotency_key + "\x00", "status": "deleted"}]}).encode()
    response = _callback(client, system, body, signing.sign_headers([secret], "msg_nul", body))
    assert response.status_code == 422
    assert Propagation.objects.get(pk=p.pk).state == "pending"


@pytest.mark.parametrize(
    "consent",
    [
        {"given_at": 0},  # pydantic's lax mode read this as 1 January 1970
        {"given_at": 1.7e9},
        {"notice_version": "1"},
        {"notice_version": 1.0},
        {"method": 1},
    ],
)
def test_an_enrolment_report_with_a_value_of_the_wrong_type_is_refused_not_coerced(client, device, consent):
    system, token = device
    report = _report(system)
    report["consent"].update(consent)
    response = client.post("/api/v1/holdings", report, content_type="application/json", **_auth(token))
    assert response.status_code == 422, response.content
    assert not Holding.objects.filter(system=system, subject__is_synthetic=False).exists()


def test_the_evidence_nesting_limit_is_in_the_schema_and_matches_what_is_accepted(client, device, people):

    system, token = device
    [deletion] = _open_deletions(people, system, 1)
    key = deletion.propagations.get().idempotency_key
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    evidence = schemas["Ack"]["properties"]["evidence"]
    assert evidence["additionalProperties"]["$ref"].endswith(f"JsonLevel{EVIDENCE_MAX_DEPTH - 1}")
    assert evidence["propertyNames"] == {"pattern": "^[^\\x00]*$"}

    def nested(levels):
        value = "x"
        for _ in range(levels):
            value = {"k": value}
        return value

    url = f"/api/v1/systems/{system.pk}/deletions/{key}/ack"
    deep = {"status": "deleted", "evidence": nested(EVIDENCE_MAX_DEPTH + 1)}
    assert client.post(url, deep, content_type="application/json", **_auth(token)).status_code == 422
    fits = {"status": "deleted", "evidence": nested(EVIDENCE_MAX_DEPTH)}
    assert client.post(url, fits, content_type="application/json", **_auth(token)).status_code == 200


def _reconcile(client, system, token, **body):
    return client.post(f"/api/v1/systems/{system.pk}/reconcile", body, content_type="application/json", **_auth(token))


def test_an_empty_or_partial_inventory_cannot_clear_the_ledger(
    client, device, people, mailoutbox, django_capture_on_commit_callbacks
):
    # Used to pass: {"subject_keys": []} closed every open instruction of the system as not found.
    system, token = device
    deletions = _open_deletions(people, system, 3)
    with django_capture_on_commit_callbacks(execute=True):
        empty = _reconcile(client, system, token, subject_keys=[], held_count=0, complete=True).json()
    assert empty["closed_not_found"] == 0 and empty["awaiting_confirmation"] == 3
    assert not Propagation.objects.filter(deletion_request__in=deletions, state="not_found").exists()
    assert "3" in mailoutbox[-1].subject  # the DPO is told, and decides
    reconcile_hold_decide(actor="dpo", hold=ReconcileHold.objects.get(), confirm=False)
    assert not Propagation.objects.filter(deletion_request__in=deletions, state="not_found").exists()

    partial = _reconcile(client, system, token, subject_keys=["DEV-0"], held_count=900, complete=False).json()
    assert partial["closed_not_found"] == 0 and partial["awaiting_confirmation"] == 0  # a part proves no absence
    lying = _reconcile(client, system, token, subject_keys=["DEV-0"], held_count=5, complete=True)
    assert lying.status_code == 409 and lying.json()["error"] == "inconsistent_inventory"
    assert not Propagation.objects.filter(deletion_request__in=deletions, state="not_found").exists()


def test_a_small_share_closes_at_once_with_the_inventory_as_evidence(client, device, people, settings):
    system, token = device
    settings.FACERIGHTS_RECONCILE_AUTO_CLOSE_SHARE = 0.5
    deletions = _open_deletions(people, system, 3)
    keys = ["DEV-0", "DEV-1"]  # DEV-2 is gone from the device: one of three open
    body = _reconcile(client, system, token, subject_keys=keys, held_count=2, complete=True).json()
    assert body["closed_not_found"] == 1 and body["awaiting_confirmation"] == 0
    closed = Propagation.objects.get(deletion_request=deletions[2])
    assert closed.state == "not_found" and closed.evidence["inventory_size"] == 2


def test_a_malformed_authorization_header_is_never_logged(client, device, settings, caplog):
    # Used to pass: with DEBUG on, the API framework logged the whole header at ERROR level.
    system, _token = device
    settings.DEBUG = True
    with caplog.at_level("DEBUG"):
        response = client.get(
            f"/api/v1/systems/{system.pk}/deletions?after=0", HTTP_AUTHORIZATION="Basic c3VwZXItc2VjcmV0LXRva2Vu"
        )
    assert response.status_code == 401
    assert "c3VwZXItc2VjcmV0LXRva2Vu" not in caplog.text


def test_a_guardians_identifiers_get_the_same_answer_whether_anyone_has_them_or_not(client, device):
    # Used to pass: an unknown guardian phone and a known one got different errors, telling a vendor
    # whether a phone belongs to a person anywhere in the company.
    system, token = device
    factories.subject(phone="13699990000", date_of_birth=dt.date(1980, 1, 1))  # known, nobody's guardian
    answers = []
    for n, phone in enumerate(("13699990000", "13611112222")):  # known, then unknown
        report = _report(system, subject_key=f"CHILD-{n}", date_of_birth="2019-03-01")
        report["identifiers"] = {"phone": f"1350000000{n}"}
        report["consent"] |= {"method": "guardian", "guardian": {"phone": phone}}
        response = client.post("/api/v1/holdings", report, content_type="application/json", **_auth(token))
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] and answers[0][0] == 400 and answers[0][1]["error"] == "guardian"
    assert not Holding.objects.filter(subject_key__startswith="CHILD-").exists()


def test_a_retired_device_finishes_its_deletions_and_nothing_else_then_its_token_ends(client, device, people):
    # Used to pass: a retired system's token still read its feed forever, checked consent and reconciled.
    system, token = device
    [deletion] = _open_deletions(people, system, 1)
    system_retire(actor="dpo", system=ProcessingSystem.objects.get(pk=system.pk))
    feed = client.get(f"/api/v1/systems/{system.pk}/deletions?after=0", **_auth(token))
    assert feed.status_code == 200 and "DEV-0" in [i["subject_key"] for i in feed.json()["instructions"]]
    for path, body in (
        ("/api/v1/consent-check", {"subject_key": "DEV-0", "purpose": system.purposes.first().code}),
        ("/api/v1/holdings", _report(system)),
        (f"/api/v1/systems/{system.pk}/reconcile", {"subject_keys": [], "held_count": 0, "complete": True}),
    ):
        refused = client.post(path, body, content_type="application/json", **_auth(token))
        assert refused.status_code == 403 and refused.json()["error"] == "system_not_active", path
    instruction_id = deletion.propagations.get().idempotency_key
    acked = client.post(
        f"/api/v1/systems/{system.pk}/deletions/{instruction_id}/ack",
        {"status": "deleted", "evidence": {"n": 1}},
        content_type="application/json",
        **_auth(token),
    )
    assert acked.status_code == 200
    # Its last deletion is done: its credentials end.
    assert client.get(f"/api/v1/systems/{system.pk}/deletions?after=0", **_auth(token)).status_code == 401


def test_a_push_systems_token_cannot_use_the_pull_operations(client, entity, purpose):
    pusher = factories.active_system(entity=entity, purpose=purpose)
    token = credential_issue(actor="t", system=pusher, kind="device_token")
    response = client.get(f"/api/v1/systems/{pusher.pk}/deletions?after=0", **_auth(token))
    assert response.status_code == 403 and response.json()["error"] == "pull_only"


def test_a_retired_push_systems_secret_works_only_while_it_has_deletions_to_confirm(client, awaiting):
    system, secret, p = awaiting
    system_retire(actor="dpo", system=system)
    body = json.dumps({"results": [{"id": p.idempotency_key, "status": "deleted", "evidence": {"n": 1}}]}).encode()
    assert _callback(client, system, body, signing.sign_headers([secret], "msg_r1", body)).status_code == 200
    late = _callback(client, system, body, signing.sign_headers([secret], "msg_r2", body))
    assert late.status_code == 401  # nothing left to finish: its secret has ended


def test_the_dpo_revokes_a_leaked_token_at_once(client, device, dpo_client):
    system, token = device
    assert client.get(f"/api/v1/systems/{system.pk}/deletions?after=0", **_auth(token)).status_code == 200
    dpo_client.post(
        reverse("admin:dataops_processingsystem_changelist"),
        {"action": "revoke_credentials", "_selected_action": [system.pk]},
    )
    assert client.get(f"/api/v1/systems/{system.pk}/deletions?after=0", **_auth(token)).status_code == 401


def test_an_image_from_a_system_registered_for_templates_only_is_refused(client, device):
    system, token = device
    assert system.keeps_template and not system.keeps_image
    response = client.post(
        "/api/v1/holdings", _report(system, data_kind="image"), content_type="application/json", **_auth(token)
    )
    assert response.status_code == 400 and response.json()["error"] == "data_kind_not_registered"
    assert not Holding.objects.filter(subject_key="ENROL-1").exists()


def test_a_cursor_ahead_of_the_feed_is_an_error_not_an_echo(client, device, people):
    system, token = device
    _open_deletions(people, system, 2)
    system.refresh_from_db()
    ahead = system.feed_seq + 50
    response = client.get(f"/api/v1/systems/{system.pk}/deletions?after={ahead}", **_auth(token))
    assert response.status_code == 409 and response.json()["error"] == "cursor_ahead"
    assert str(system.feed_seq) in response.json()["detail"]
