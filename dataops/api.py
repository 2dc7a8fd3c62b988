"""The HTTP API processing systems use: /api/v1/..., documented at /api/openapi.json and /api/docs.

Devices and services authenticate with a device token (Authorization: Bearer),
issued per system in the admin and stored hashed. Push systems confirm
asynchronously through a callback signed with their webhook secret.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

import segno
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import connection
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import HttpBearer
from pydantic import AfterValidator, BeforeValidator, ConfigDict, model_validator
from pydantic import Strict as StrictType
from typing_extensions import TypeAliasType

from consent.models import ConsentSession, Purpose
from consent.services import AgeAttestation
from consent.sessions import consent_prompt, consent_session_open, consent_session_outcome
from facerights.uploads import EVIDENCE_MAX_DEPTH, evidence_check

from .deletions.delivery import Answer, UnknownInstruction, channel_for, pull
from .deletions.delivery.instructions import instruction
from .deletions.delivery.push import PushChannel, Replayed, SignatureError
from .deletions.models import Propagation
from .deletions.propagations import PropagationError
from .registry.credentials import system_for_token
from .registry.holdings import ConsentReport, GuardianCheck, holding_report, holding_report_consented
from .registry.models import Holding, ProcessingSystem
from .registry.processing import consent_check_recorded
from .registry.services import system_new_processing_refusal

api = NinjaAPI(
    title="FaceRights API",
    version="1",
    description="Deletion instructions for processing systems, enrolment reports and consent checks. "
    "Messages carry pseudonymous keys only: never a name, phone number, image or template.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


class DeviceToken(HttpBearer):
    """A live device token; with `feed`, the feed's own request read with it in one SQL statement.

    With `feed` (GET .../deletions only) the token, the system's last contact and the page asked
    for are one statement (pull.feed_with_token) instead of three or four: the page waits on the
    request for the view (`feed_page`), which uses it only if it is the page of the parameters
    ninja validated. Every rule is the same; whatever the statement does not settle (a retired
    or suspended system, a parameter it does not read as ninja would) goes the general way.
    The class, hence the OpenAPI security scheme, is the same with and without.
    """

    def __init__(self, *, feed: bool = False) -> None:
        super().__init__()
        self.feed = feed

    def __call__(self, request: HttpRequest) -> ProcessingSystem | None:
        # ninja's own reading logs a malformed header, credential included, when DEBUG is on:
        # read it here and log nothing of it, in every mode.
        scheme, _sep, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        asked = _feed_asked(request) if self.feed and connection.vendor == "postgresql" else None
        if asked is None:
            return self.authenticate(request, token)
        system_id, after, limit = asked
        system, page = pull.feed_with_token(
            token, system_id=system_id, after=after, limit=limit, statuses=FULL_STANDING
        )
        if system is None:
            return None
        if system.status not in FULL_STANDING:
            return self.authenticate(request, token)  # its standing decides, and it alone records the contact
        request.feed_page = page  # type: ignore[attr-defined]
        return system

    def authenticate(self, request: HttpRequest, token: str) -> ProcessingSystem | None:
        system = system_for_token(token)
        if system is not None and _standing(system) == ENDED:
            return None  # a retired or suspended system's credentials end with its last open deletion
        if system is not None:
            channel_for(system).contact(system)
        return system


class Strict(Schema):
    """A request body exactly as documented: no unknown field, and no type coerced into another.

    Without `strict`, pydantic reads `"given_at": 0` as 1 January 1970 and
    `"notice_version": "3"` as 3: a malformed report would be recorded as
    something nobody sent (found by tests/test_api_fuzz.py).
    """

    model_config = ConfigDict(extra="forbid", strict=True)


def _iso_text(value):
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string")
    return value


# JSON has no date type: dates and times arrive as ISO 8601 text, which strict mode alone
# would refuse; anything but text (a number, say) is refused.
IsoDateTime = Annotated[dt.datetime, StrictType(False), BeforeValidator(_iso_text)]
IsoDate = Annotated[dt.date, StrictType(False), BeforeValidator(_iso_text)]


def _whole(value):
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise ValueError("must be a whole number")
    return int(value)


# A count: JSON Schema's "integer" includes 7.0, so it is read as 7; "7", 7.5 and true are refused.
WholeNumber = Annotated[int, StrictType(False), BeforeValidator(_whole)]

# PostgreSQL keeps no NUL character in text or jsonb: a string with one is refused as
# invalid (422), never passed on to fail as a server error (found by tests/test_api_fuzz.py).
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]


class TextKeys:
    """Document a dict's keys as Text with `propertyNames`.

    pydantic writes `patternProperties`, which constrains only the keys that match:
    a key with a NUL would still look valid to a client.
    """

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        ((pattern, values),) = schema.pop("patternProperties").items()
        return {**schema, "propertyNames": {"pattern": pattern}, "additionalProperties": values}


def json_nested(levels: int) -> Any:
    """A JSON value with lists and objects at most `levels` deep and Text for every string, keys included.

    One named schema per level, so the limit is in the OpenAPI document rather than
    found out from a 422.
    """
    value: Any = Union[Text, int, float, bool, None]  # noqa: UP007
    for level in range(1, levels + 1):
        value = TypeAliasType(  # type: ignore[misc]  # one named schema per level, made at run time for pydantic
            f"JsonLevel{level}",
            Union[Text, int, float, bool, None, list[value], Annotated[dict[Text, value], TextKeys()]],  # noqa: UP007
        )
    return value


class Error(Schema):
    error: str
    detail: str = ""


class FieldError(Schema):
    type: str
    loc: list[str | int] = Field(description="Where: body, query or path, then the field.")
    msg: str


class Invalid(Schema):
    """django-ninja's answer to a request its schema refuses (a missing field, an unknown one, a wrong type)."""

    detail: list[FieldError]


# Answers an operation gives before its own code runs, documented so that a client (and the
# fuzzer, tests/test_api_fuzz.py) knows them: 400 for a body that is not JSON, 401 without a
# live device token, 422 for a request the schema refuses.
UNREADABLE = {400: Error}
UNAUTHORIZED = {401: Error}
INVALID = {422: Invalid}


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError):
    """Answer ninja's own refusals (no token, a body that is not JSON) in the shape of every other error."""
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    response = api.create_response(request, {"error": code, "detail": str(exc)}, status=exc.status_code)
    if exc.status_code == HTTPStatus.UNAUTHORIZED:
        response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, exc: RequestDataTooBig):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE: say so in JSON, not Django's empty 400 page."""
    detail = "The request body is larger than 5 MB: send fewer items at once."
    return api.create_response(request, {"error": "too_large", "detail": detail}, status=413)


def _evidence(value: dict) -> dict:
    try:
        return evidence_check(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from None


# Free-form, so checked: small, shallow, and never an encoded file or a template (facerights.uploads).
# The evidence object is the first level, so its values may nest one level less.
if TYPE_CHECKING:  # the type checker sees the plain dict that pydantic's schema, built at run time, validates
    Evidence = dict[str, Any]
else:
    Evidence = Annotated[dict[Text, json_nested(EVIDENCE_MAX_DEPTH - 1)], TextKeys(), AfterValidator(_evidence)]


class Instruction(Schema):
    id: str = Field(description="Idempotency key: the same on every retry and replay.")
    cursor: int | None = Field(None, description="Position in the pull feed.")
    request: str
    subject_key: str
    action: Literal["delete", "restrict", "lift_restriction"] = Field(
        "delete",
        description="delete: delete the person's facial data. restrict: keep it and process no one with it "
        "(PIPL Art 44). lift_restriction: the restriction ends; the consent check decides again.",
    )
    deadline: dt.date


class Feed(Schema):
    instructions: list[Instruction]
    next_cursor: int


# "held" needs its reason, in the schema as in the code: a request the schema accepts is never refused.
HELD_NEEDS_A_REASON: dict[str, Any] = {
    "if": {"properties": {"status": {"const": "held"}}, "required": ["status"]},
    "then": {"properties": {"reason": {"pattern": "\\S"}}, "required": ["reason"]},
}


def _held_has_reason(value):
    if value.status == "held" and not value.reason.strip():
        raise ValueError("held needs a reason: say why the data is kept")
    return value


class Ack(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=HELD_NEEDS_A_REASON)

    status: Literal["deleted", "not_found", "held", "restricted", "lifted"] = Field(
        description="To delete: deleted, not_found or held. To restrict: restricted or not_found. "
        "To lift a restriction: lifted or not_found."
    )
    reason: Text = Field("", max_length=255, description="Required when status is held.")
    evidence: Evidence = Field(
        default_factory=dict, description="What the system can show: counts, log ids, times (at most 16 KB)."
    )

    _reason = model_validator(mode="after")(_held_has_reason)


class IdentifiedAck(Ack):
    id: Text


class Acks(Strict):
    acks: list[IdentifiedAck] = Field(min_length=1, max_length=500)


class AckResult(Schema):
    id: str
    state: str


class Inventory(Strict):
    subject_keys: list[Text] = Field(max_length=1_000_000)
    held_count: WholeNumber = Field(
        ge=0, description="How many keys the device holds in all (the length of a complete list)."
    )
    complete: bool = Field(
        description="Whether subject_keys is everything the device holds. Only a complete list closes open "
        "instructions for keys it lacks."
    )


class Reconciled(Schema):
    cursor: int
    delete: list[Instruction] = Field(description="Open instructions for keys you still hold, each with its action.")
    stale: list[str]
    unknown: list[str]
    closed_not_found: int
    awaiting_confirmation: int


class Result(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=HELD_NEEDS_A_REASON)

    id: Text
    status: Literal["deleted", "not_found", "held", "restricted", "lifted"] = Field(
        description="To delete: deleted, not_found or held. To restrict: restricted or not_found. "
        "To lift a restriction: lifted or not_found."
    )
    reason: Text = Field("", max_length=255, description="Required when status is held.")
    evidence: Evidence = Field(default_factory=dict)

    _reason = model_validator(mode="after")(_held_has_reason)


class Results(Strict):
    results: list[Result] = Field(max_length=1000)


AT_LEAST_ONE_IDENTIFIER: dict[str, Any] = {
    "anyOf": [
        {"required": [kind], "properties": {kind: {"type": "string", "pattern": "\\S"}}}
        for kind in ("phone", "email", "external")
    ]
}


class Identifiers(Strict):
    """At least one identifier, in the schema as in the code."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra=AT_LEAST_ONE_IDENTIFIER,
    )

    phone: Text | None = None
    email: Text | None = None
    external: Text | None = None

    @model_validator(mode="after")
    def _one_at_least(self):
        if not any((value or "").strip() for value in (self.phone, self.email, self.external)):
            raise ValueError("give at least one identifier: phone, email or external")
        return self


class AgeAttestationIn(Strict):
    by: Text = Field(min_length=1, max_length=100, description="The name of who attests the person is over 14.")
    role: Literal["staff", "guardian"] = Field(
        description="staff: a staff member who saw an identity document; guardian: the person's guardian."
    )


class GuardianCheckIn(Strict):
    relationship: Literal["parent", "guardian"]
    checked_by: Text = Field(
        min_length=1,
        max_length=100,
        description="The staff member who checked the document proving the relationship (户口簿, birth certificate).",
    )


class ConsentEvidence(Strict):
    purpose: Text
    notice_version: int
    given_at: IsoDateTime
    method: Literal["separate", "written", "guardian"] = "separate"
    channel: Literal["device", "counter", "api"] = "device"
    artifact_sha256: str = Field("", pattern=r"^([0-9a-f]{64})?$")
    guardian: Identifiers | None = None
    guardian_check: GuardianCheckIn | None = Field(
        None,
        description="For a child's first enrolment with a guardian FaceRights has not verified: who checked "
        "the proof of the relationship. The guardianship is then recorded as verified by that person.",
    )
    transmission: bool = Field(
        False,
        description="The person's separate consent to sending their facial data over the internet, "
        "given on the same notice. Required by a system that transmits (Measures Art 8).",
    )
    age_attestation: AgeAttestationIn | None = Field(
        None,
        description="Required when no date_of_birth is sent or known: who attests that the person is over 14. "
        "A device's own flag is not enough; a guardian's consent needs the child's date_of_birth instead.",
    )


# A report carries the consent it rests on: the evidence the system recorded, or the token the person's answer on
# FaceRights' own page gave (consent sessions), with its purpose. One or the other, in the schema as in the code.
ONE_CONSENT: dict[str, Any] = {
    "oneOf": [
        {"required": ["consent"], "not": {"anyOf": [{"required": ["consent_token"]}, {"required": ["purpose"]}]}},
        {"required": ["consent_token", "purpose"], "not": {"required": ["consent"]}},
    ]
}


class HoldingReport(Strict):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=ONE_CONSENT)

    subject_key: Text = Field(min_length=1, max_length=128)
    data_kind: Literal["template", "image", "both"] = Field(
        description="What the system keeps on its side. The data itself is never sent."
    )
    enrolled_at: IsoDateTime
    identifiers: Identifiers
    date_of_birth: IsoDate | None = None
    # Absent rather than null: each of these three is either sent with a value or not at all.
    consent: ConsentEvidence = Field(None, description="The consent evidence the system recorded.")  # type: ignore[assignment]
    consent_token: Text = Field(  # type: ignore[assignment]
        None,
        min_length=1,
        max_length=2000,
        description="The token of the person's consent on FaceRights' page (GET /consent-sessions/{id}); with it, "
        "name the purpose in `purpose` and send no `consent`.",
    )
    purpose: Text = Field(
        None, min_length=1, max_length=64, description="With consent_token: the purpose consented to."
    )  # type: ignore[assignment]

    @model_validator(mode="after")
    def _one_consent(self):
        sent = self.model_fields_set
        if ("consent" in sent) == ("consent_token" in sent):
            raise ValueError("send either consent (the evidence you recorded) or consent_token, not both or neither")
        if ("consent_token" in sent) != ("purpose" in sent):
            raise ValueError("purpose goes with consent_token, and only with it")
        return self


class HoldingBatch(Strict):
    holdings: list[HoldingReport] = Field(max_length=1000)


class HoldingRecorded(Schema):
    subject_key: str
    status: str
    retention_until: dt.date


class BatchItem(Schema):
    subject_key: str
    ok: bool
    error: str = Field("", description="Why the report was refused, in words (the request's Accept-Language).")
    code: str = Field("", description="Why the report was refused, as a code a program can act on.")


class ConsentQuestion(Strict):
    subject_key: Text = Field(min_length=1, max_length=128)
    purpose: Text = Field(min_length=1, max_length=64)


class ConsentAnswer(Schema):
    allowed: bool
    reason: str


def _own(request: HttpRequest, system_id: int) -> ProcessingSystem | None:
    """The authenticated system, if it is the one in the path (another system's id answers 404)."""
    system = request.auth  # type: ignore[attr-defined]  # ninja sets request.auth
    return system if system.pk == system_id else None


ACTIVE, FINISHING, ENDED = "active", "finishing", "ended"
# The statuses in which a system's credentials do everything its integration has.
FULL_STANDING: tuple[str, ...] = (ProcessingSystem.Status.ACTIVE, ProcessingSystem.Status.DRAFT)


def _standing(system: ProcessingSystem) -> str:
    """What a system's credentials may still do.

    An active (or draft) system: everything its integration has. A retired or suspended one
    keeps what finishing its deletions needs (its feed, acknowledgements, signed callbacks)
    while any is open, and nothing else; after the last one, its credentials end.
    """
    if system.status in FULL_STANDING:
        return ACTIVE
    if Propagation.objects.filter(system=system).exclude(state__in=Propagation.TERMINAL).exists():
        return FINISHING
    return ENDED


def _not_pull() -> Status:
    return Status(
        403, {"error": "pull_only", "detail": "Only a pull system reads a feed, acknowledges and reconciles."}
    )


def _not_active() -> Status:
    return Status(
        403,
        {
            "error": "system_not_active",
            "detail": "This system is retired or suspended: it may only finish its deletions.",
        },
    )


def _pull_own(request: HttpRequest, system_id: int) -> ProcessingSystem | Status:
    """The authenticated pull system in the path, or the answer to give instead."""
    system = _own(request, system_id)
    if system is None:
        return Status(404, {"error": "not_found"})
    if system.integration != ProcessingSystem.Integration.PULL:
        return _not_pull()
    return system


def _message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


PULL = pull.PullChannel()
PUSH = PushChannel()

v1 = Router(auth=DeviceToken(), tags=["systems"])

# A query parameter or path segment that ninja reads as this very int (else: the general way).
_PLAIN_INT = re.compile(r"-?[0-9]{1,18}")
_FEED_DEFAULTS = {"after": 0, "limit": 100}  # the feed view's own defaults


def _feed_asked(request: HttpRequest) -> tuple[int, int, int] | None:
    """The feed's system id, cursor and limit, when each is plainly one int; else None."""
    match = request.resolver_match
    system_id = match.kwargs.get("system_id") if match else None
    if not isinstance(system_id, str) or not _PLAIN_INT.fullmatch(system_id):
        return None
    values = []
    for name, default in _FEED_DEFAULTS.items():
        given = request.GET.getlist(name)
        if not given:
            values.append(default)
        elif len(given) == 1 and _PLAIN_INT.fullmatch(given[0]):
            values.append(int(given[0]))
        else:
            return None
    return int(system_id), values[0], values[1]


@v1.get(
    "/systems/{system_id}/deletions",
    response={403: Error, 200: Feed, 404: Error, 409: Error, 410: Error, **UNAUTHORIZED, **INVALID},
    summary="Read the deletion feed after a cursor",
    auth=DeviceToken(feed=True),
)
def feed(request, system_id: int, after: int = _FEED_DEFAULTS["after"], limit: int = _FEED_DEFAULTS["limit"]):
    system = _pull_own(request, system_id)
    if isinstance(system, Status):
        return system
    if after > system.feed_seq:
        # Echoing it back would let a device skip every instruction numbered up to its cursor.
        return Status(
            409,
            {
                "error": "cursor_ahead",
                "detail": f"Your cursor {after} is ahead of the feed, which ends at {system.feed_seq}: read again "
                f"from your last stored cursor, or POST your inventory to /api/v1/systems/{system.pk}/reconcile.",
            },
        )
    page = getattr(request, "feed_page", None)  # read with the token (DeviceToken), if it is this request's
    try:
        if page is not None and page.serves(system_id, after, limit):
            rows, next_cursor = pull.feed_page_deliver(system, page)
        else:
            rows, next_cursor = pull.feed_read(system, after=max(after, 0), limit=limit)
    except pull.CursorExpired:
        return Status(
            410,
            {
                "error": "cursor_expired",
                "detail": f"Instructions up to {system.feed_floor} are no longer kept: POST your inventory to "
                f"/api/v1/systems/{system.pk}/reconcile.",
            },
        )
    return Status(200, {"instructions": [instruction(p) for p in rows], "next_cursor": next_cursor})


@v1.post(
    "/systems/{system_id}/deletions/{instruction_id}/ack",
    response={403: Error, 200: AckResult, 400: Error, 404: Error, **UNAUTHORIZED, **INVALID},
    summary="Acknowledge one instruction with its outcome",
)
def ack(request, system_id: int, instruction_id: Text, body: Ack):
    system = _pull_own(request, system_id)
    if isinstance(system, Status):
        return system
    try:
        states = PULL.acknowledge(system, [Answer(instruction_id, body.status, body.reason, body.evidence)])
    except UnknownInstruction:
        return Status(404, {"error": "unknown_instruction"})
    except PropagationError as exc:
        return Status(400, {"error": exc.code or "invalid", "detail": _message(exc)})
    return Status(200, {"id": instruction_id, "state": states[instruction_id]})


@v1.post(
    "/systems/{system_id}/deletions/ack",
    response={403: Error, 200: list[AckResult], 400: Error, 404: Error, **UNAUTHORIZED, **INVALID},
    summary="Acknowledge up to 500 instructions at once",
)
def ack_many(request, system_id: int, body: Acks):
    system = _pull_own(request, system_id)
    if isinstance(system, Status):
        return system
    try:
        states = PULL.acknowledge(system, [Answer(a.id, a.status, a.reason, a.evidence) for a in body.acks])
    except UnknownInstruction:
        return Status(
            404, {"error": "unknown_instruction", "detail": "An id is not one of this system's instructions."}
        )
    except PropagationError as exc:
        return Status(400, {"error": exc.code or "invalid", "detail": _message(exc)})
    return Status(200, [{"id": a.id, "state": states[a.id]} for a in body.acks])


@v1.post(
    "/systems/{system_id}/reconcile",
    response={403: Error, 200: Reconciled, 404: Error, 409: Error, **UNREADABLE, **UNAUTHORIZED, **INVALID},
    summary="Upload the whole inventory after the cursor expired",
)
def reconcile(request, system_id: int, body: Inventory):
    system = _pull_own(request, system_id)
    if isinstance(system, Status):
        return system
    if _standing(system) != ACTIVE:  # a retiring system finishes its deletions; it never closes them wholesale
        return _not_active()
    try:
        result = pull.reconcile(system, body.subject_keys, held_count=body.held_count, complete=body.complete)
    except pull.ReconcileError as exc:  # the list and its count contradict each other: nothing changes
        return Status(409, {"error": "inconsistent_inventory", "detail": str(exc)})
    return Status(200, {**result, "delete": [instruction(p) for p in result["delete"]]})


@v1.post(
    "/holdings",
    response={201: HoldingRecorded, 400: Error, 403: Error, **UNAUTHORIZED, **INVALID},
    summary="Report an enrolment with its consent evidence",
)
def holdings(request, body: HoldingReport):
    if _standing(request.auth) != ACTIVE:
        return _not_active()
    try:
        holding = _report(request.auth, body)
    except ValidationError as exc:
        return Status(400, {"error": exc.code or "invalid", "detail": _message(exc)})
    return Status(
        201,
        {
            "subject_key": holding.subject_key,
            "status": holding.status,
            "retention_until": holding.retention_until,
        },
    )


@v1.post(
    "/holdings/batch",
    response={200: list[BatchItem], 403: Error, **UNREADABLE, **UNAUTHORIZED, **INVALID},
    summary="Report up to 1,000 enrolments at once",
)
def holdings_batch(request, body: HoldingBatch):
    if _standing(request.auth) != ACTIVE:
        return _not_active()
    items = []
    for report in body.holdings:
        try:
            _report(request.auth, report)
            items.append({"subject_key": report.subject_key, "ok": True})
        except ValidationError as exc:
            items.append(
                {"subject_key": report.subject_key, "ok": False, "error": _message(exc), "code": exc.code or "invalid"}
            )
    return Status(200, items)


def _report(system: ProcessingSystem, body: HoldingReport):
    consent = body.consent
    if consent is None:  # the person consented on FaceRights' page: the token proves it
        return holding_report_consented(
            system=system,
            subject_key=body.subject_key,
            data_kind=body.data_kind,
            enrolled_at=body.enrolled_at,
            identifiers=body.identifiers.model_dump(),
            purpose_code=body.purpose or "",
            consent_token=body.consent_token or "",
        )
    return holding_report(
        system=system,
        subject_key=body.subject_key,
        data_kind=body.data_kind,
        enrolled_at=body.enrolled_at,
        identifiers=body.identifiers.model_dump(),
        date_of_birth=body.date_of_birth,
        consent=ConsentReport(
            purpose=consent.purpose,
            notice_version=consent.notice_version,
            given_at=consent.given_at,
            method=consent.method,
            channel=consent.channel,
            artifact_sha256=consent.artifact_sha256,
            guardian_identifiers=consent.guardian.model_dump() if consent.guardian else None,
            transmission=consent.transmission,
            age_attestation=(
                AgeAttestation(by=consent.age_attestation.by, role=consent.age_attestation.role)
                if consent.age_attestation
                else None
            ),
            guardian_check=(
                GuardianCheck(
                    relationship=consent.guardian_check.relationship, checked_by=consent.guardian_check.checked_by
                )
                if consent.guardian_check
                else None
            ),
        ),
    )


@v1.post(
    "/consent-check",
    response={200: ConsentAnswer, 403: Error, **UNREADABLE, **UNAUTHORIZED, **INVALID},
    summary="Ask before processing a person for a purpose",
)
def consent_check_view(request, body: ConsentQuestion):
    if _standing(request.auth) != ACTIVE:
        return _not_active()
    allowed, reason = consent_check_recorded(system=request.auth, subject_key=body.subject_key, purpose=body.purpose)
    return Status(200, {"allowed": allowed, "reason": reason})


class ConsentSessionOpen(Strict):
    purpose: Text = Field(min_length=1, max_length=64)
    subject_key: Text = Field(min_length=1, max_length=128, description="Your own key for the person.")
    language: Literal["zh-hans", "en"] = Field("zh-hans", description="The page's first language.")
    qr: bool = Field(
        True,
        description="Whether to draw the URL's QR code (`qr_svg`). A device that draws its own from `url` sends "
        "false and gets `qr_svg` null: the answer comes sooner and costs the server less.",
    )


class ConsentSessionOpened(Schema):
    id: str = Field(description="The session, to ask for its outcome.")
    url: str = Field(description="The page to show the person (as the QR code, or in a desk tablet's browser).")
    qr_svg: str | None = Field(
        description="The URL as a QR code, an SVG image; null when the request said `qr: false` (draw it from `url`)."
    )
    expires_at: dt.datetime


class ConsentSessionOutcome(Schema):
    id: str
    state: str = Field(
        description="open, consented, alternative, declined, guardian_needed (a child: nothing is recorded; the "
        "page asks a verified parent or guardian to confirm with a code to their phone for 30 minutes, and the "
        "state becomes consented if they do: keep polling) or expired."
    )
    expires_at: dt.datetime
    consent_token: str | None = Field(None, description="When consented and not yet used: for the enrolment report.")
    suppressed_until: dt.datetime | None = Field(None, description="After a no or the alternative: ask not before.")


class PromptQuestion(Strict):
    subject_key: Text = Field(min_length=1, max_length=128)
    purpose: Text = Field(min_length=1, max_length=64)


class PromptAnswer(Schema):
    allowed: bool
    suppressed_until: dt.datetime | None = None


class Suppressed(Error):
    suppressed_until: dt.datetime


def _session_purpose(system: ProcessingSystem, code: str) -> Purpose | None:
    return system.purposes.exclude(code=Purpose.TRANSMISSION).filter(code=code).first()


def _known_subject(system: ProcessingSystem, subject_key: str):
    holding = Holding.objects.filter(system=system, subject_key=subject_key).select_related("subject").first()
    return holding.subject if holding is not None else None


@v1.post(
    "/consent-sessions",
    response={
        201: ConsentSessionOpened,
        400: Error,
        403: Error,
        409: Suppressed,
        **UNREADABLE,
        **UNAUTHORIZED,
        **INVALID,
    },
    summary="Open a consent session: a page (and its QR code) where the person reads the notice and answers",
)
def consent_session_open_view(request, body: ConsentSessionOpen):
    system = request.auth
    if _standing(system) != ACTIVE or system_new_processing_refusal(system) is not None:
        return _not_active()
    purpose = _session_purpose(system, body.purpose)
    if purpose is None:
        return Status(400, {"error": "purpose", "detail": _("This system declares no purpose with that code.")})
    subject = _known_subject(system, body.subject_key)
    prompt = consent_prompt(system=system, purpose=purpose, subject_key=body.subject_key, subject=subject)
    if not prompt.allowed:
        return Status(
            409,
            {
                "error": "prompt_suppressed",
                "detail": _("The person said no recently: do not ask again yet; offer the alternative."),
                "suppressed_until": prompt.suppressed_until,
            },
        )
    try:
        session, page_token = consent_session_open(
            actor=f"system:{system.pk}",
            system=system,
            purpose=purpose,
            subject_key=body.subject_key,
            language=body.language,
            subject=subject,
        )
    except ValidationError as exc:
        return Status(400, {"error": exc.code or "invalid", "detail": _message(exc)})
    url = f"{settings.FACERIGHTS_BASE_URL}/c/{page_token}/"
    qr = (
        segno.make(url, error="m").svg_inline(scale=4, title=_("Scan to read the notice and answer"))
        if body.qr
        else None
    )
    return Status(201, {"id": str(session.public_id), "url": url, "qr_svg": qr, "expires_at": session.expires_at})


OUTCOME_FIELDS = (
    *(field.name for field in ConsentSession._meta.concrete_fields),
    "purpose__code",
    "notice__version",
)


@v1.get(
    "/consent-sessions/{session_id}",
    response={200: ConsentSessionOutcome, 404: Error, **UNAUTHORIZED, **INVALID},
    summary="The person's answer, and for a consent the token the enrolment report carries",
)
def consent_session_view(request, session_id: str):
    public_id = _uuid_or_none(session_id)
    session = (
        ConsentSession.objects.select_related("purpose", "notice")
        .only(*OUTCOME_FIELDS)  # the outcome needs the notice's version, not its text
        .filter(system=request.auth, public_id=public_id)
        .first()
        if public_id is not None
        else None
    )
    if session is None:
        return Status(404, {"error": "not_found"})
    return Status(200, {"id": str(session.public_id), **consent_session_outcome(session)})


@v1.post(
    "/consent-prompt",
    response={200: PromptAnswer, 400: Error, 403: Error, **UNREADABLE, **UNAUTHORIZED, **INVALID},
    summary="May the device ask this person for consent now (not within the quiet period after a no)",
)
def consent_prompt_view(request, body: PromptQuestion):
    system = request.auth
    if _standing(system) != ACTIVE:
        return _not_active()
    purpose = _session_purpose(system, body.purpose)
    if purpose is None:
        return Status(400, {"error": "purpose", "detail": _("This system declares no purpose with that code.")})
    prompt = consent_prompt(
        system=system, purpose=purpose, subject_key=body.subject_key, subject=_known_subject(system, body.subject_key)
    )
    return Status(200, {"allowed": prompt.allowed, "suppressed_until": prompt.suppressed_until})


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


callbacks = Router(tags=["push callbacks"])


@callbacks.post(
    "/systems/{system_id}/callbacks",
    response={200: list[AckResult], 401: Error, 404: Error, 409: Error, **UNREADABLE, **INVALID},
    auth=None,
    summary="Confirm instructions later, signed as Standard Webhooks",
    description="A message id already received (a replay, or your retry of a callback we accepted) gets 409 "
    "`replayed` and changes nothing: treat it as delivered.",
)
def callback(request, system_id: int, body: Results):
    system = ProcessingSystem.objects.filter(pk=system_id, integration=ProcessingSystem.Integration.PUSH).first()
    if system is None:
        return Status(404, {"error": "not_found"})
    if _standing(system) == ENDED:  # its last deletion is done: its secrets end with it
        return Status(401, {"error": "bad_signature", "detail": "This system's credentials have ended."})
    answers = [Answer(result.id, result.status, result.reason, result.evidence) for result in body.results]
    try:
        states = PUSH.callback(system, headers=request.headers, body=request.body, answers=answers)
    except SignatureError as exc:
        return Status(401, {"error": "bad_signature", "detail": str(exc)})
    except Replayed:
        return Status(409, {"error": "replayed", "detail": "This message id was received already; nothing changed."})
    return Status(200, [{"id": key, "state": state} for key, state in states.items()])


api.add_router("/v1", v1)
api.add_router("/v1", callbacks)
