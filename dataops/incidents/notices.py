"""Telling the people an incident affects (PIPL Art 57): draft, approve, queue, deliver, publish.

A notice names the kinds of information, the cause, the possible harm, the remedies taken,
what the person can do and how to reach the company, in Chinese and English. The DPO
approves it (and a second person for a major or especially major incident). Sending
resolves the people affected from the registry (a child's verified guardians in the
child's place) and writes one row per person and channel, unique, before anything is sent;
workers then claim rows in batches under a lease, so a killed worker's rows are sent by the
next one and nobody is told twice. A failed send is retried with a growing wait and, after
the last attempt, left for the DPO, never dropped. A drill writes its rows and sends nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.models import DataSubject, Guardianship, SubjectIdentifier
from consent.services import subject_identifiers
from facerights.audit import audit_record
from facerights.present import choices_text
from facerights.queues import enqueue_on_commit
from facerights.sms import sms_send

from .affected import _born_after, affected_holdings
from .models import Incident, IncidentNotice, NoticeDelivery

logger = logging.getLogger(__name__)

# Art 57's items, in the order a notice gives them: the label and the notice's field (kinds come from the incident).
ITEMS = (
    ("kinds", gettext_lazy("The kinds of information involved")),
    ("cause", gettext_lazy("The cause")),
    ("harm", gettext_lazy("The harm it may cause")),
    ("remedies", gettext_lazy("What we have done")),
    ("advice", gettext_lazy("What you can do to reduce the harm")),
    ("contact", gettext_lazy("How to contact us")),
)
WRITTEN = ("cause", "harm", "remedies", "advice", "contact")
MAX_ATTEMPTS = 8
BATCH = 200

HARM: dict[str, tuple[str, str]] = {
    Incident.DataKind.TEMPLATES: (
        "人脸特征可能被用于冒用您的身份通过人脸识别核验。",
        "Your face template could be used to pass face recognition in your name.",
    ),
    Incident.DataKind.IMAGES: (
        "人脸图像可能被用于冒用身份、伪造图像或识别您的行踪。",
        "Your face image could be used to impersonate you, fake images or follow where you go.",
    ),
    Incident.DataKind.IDENTIFIERS: (
        "姓名、电话号码或证件号码可能被用于诈骗、骚扰或冒用身份。",
        "Your name, phone number or document number could be used for fraud, harassment or impersonation.",
    ),
    Incident.DataKind.UNKNOWN: (
        "涉及的信息仍在核实中，可能被用于冒用您的身份。",
        "What was involved is still being established; it could be used to impersonate you.",
    ),
}
ADVICE = (
    "请留意以您的名义进行的异常身份核验、通行或账户活动；如发现冒用，请立即联系我们并向公安机关报案。"
    "您可以在门户中撤回对人脸识别的同意、要求删除您的人脸信息，并改用非人脸方式核验身份。",
    "Watch for identity checks, entries or account activity in your name that you did not make; if you find any, "
    "contact us at once and report it to the police. On the portal you can withdraw your consent to face "
    "recognition, ask for your facial data to be deleted, and use a way in without your face.",
)


def notice_draft(*, actor: str, incident: Incident) -> IncidentNotice:
    """A draft with what the incident already says; the DPO completes and approves it."""
    entity = incident.entity
    harm = [HARM[kind] for kind in Incident.DataKind.values if kind in incident.data_kinds]
    phone = f"，电话{entity.dpo_phone}" if entity.dpo_phone else ""
    phone_en = f", phone {entity.dpo_phone}" if entity.dpo_phone else ""
    with transaction.atomic():
        notice = IncidentNotice.objects.create(
            incident=incident,
            cause_zh=incident.cause,
            remedies_zh=incident.measures,
            harm_zh="".join(zh for zh, _en in harm),
            harm_en=" ".join(en for _zh, en in harm),
            advice_zh=ADVICE[0],
            advice_en=ADVICE[1],
            contact_zh=f"{entity.name_zh}个人信息保护负责人{entity.dpo_name}，电子邮箱{entity.dpo_email}{phone}",
            contact_en=f"{entity.name_en or entity.name_zh}, data-protection officer {entity.dpo_name}, "
            f"email {entity.dpo_email}{phone_en}",
        )
        audit_record(actor=actor, action="incident_notice.drafted", target=notice, data={"incident": incident.pk})
    return notice


def notice_missing(notice: IncidentNotice) -> list[str]:
    """The Art 57 items still blank in either language, by their labels."""
    labels = dict(ITEMS)
    return [
        f"{labels[item]} ({language})"
        for item in WRITTEN
        for language in ("zh", "en")
        if not getattr(notice, f"{item}_{language}").strip()
    ]


def notice_save(*, actor: str, notice: IncidentNotice) -> IncidentNotice:
    """A change to a draft; any change after an approval asks for the approvals again."""
    if notice.state == IncidentNotice.State.SENDING:
        raise ValidationError(_("A notice that has gone out cannot change: write a new one."))
    with transaction.atomic():
        notice.state = IncidentNotice.State.DRAFT
        notice.approved_by, notice.approved_at, notice.second_approved_by, notice.second_approved_at = (
            "",
            None,
            "",
            None,
        )
        notice.save()
        audit_record(actor=actor, action="incident_notice.changed", target=notice, data={})
    return notice


def notice_approve(*, actor: str, notice: IncidentNotice, now: dt.datetime | None = None) -> IncidentNotice:
    """Approve a notice: once, or by two different people for a major or especially major incident."""
    now = now or timezone.now()
    with transaction.atomic():
        notice = IncidentNotice.objects.select_for_update().select_related("incident").get(pk=notice.pk)
        if notice.state != IncidentNotice.State.DRAFT:
            raise ValidationError(_("This notice is already approved."))
        missing = notice_missing(notice)
        if missing:
            raise ValidationError(
                _("Art 57 asks for every item in both languages; missing: %(items)s.") % {"items": "; ".join(missing)}
            )
        second = notice.incident.is_severe and notice.approved_by
        if second and notice.approved_by == actor:
            raise ValidationError(_("A major incident's notice needs a second person's approval."))
        if second:
            notice.second_approved_by, notice.second_approved_at = actor, now
        else:
            notice.approved_by, notice.approved_at = actor, now
        if not notice.incident.is_severe or second:
            notice.state = IncidentNotice.State.APPROVED
        notice.save()
        audit_record(actor=actor, action="incident_notice.approved", target=notice, data={"state": notice.state})
    return notice


def notice_recipients(incident: Incident) -> tuple[list[tuple[int, bool]], int]:
    """Who is told: ([(person id, told as a guardian)], children with no verified guardian to tell)."""
    cut = _born_after(timezone.localdate(incident.discovered_at))
    people = dict(affected_holdings(incident).values_list("subject_id", "subject__date_of_birth").distinct().order_by())
    children = {pk for pk, born in people.items() if born is not None and born > cut}
    told: dict[int, bool] = {pk: False for pk in people if pk not in children}
    guarded = set()
    for ward_id, guardian_id in (
        Guardianship.objects.filter(ward_id__in=children, verified_at__isnull=False, ended_at__isnull=True)
        .values_list("ward_id", "guardian_id")
        .order_by()
    ):
        guarded.add(ward_id)
        told.setdefault(guardian_id, True)
    return sorted(told.items()), len(children - guarded)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def notice_send(*, actor: str, notice: IncidentNotice, now: dt.datetime | None = None) -> dict[str, int]:
    """Queue the approved notice for everyone affected: one row per person and channel, then workers send."""
    now = now or timezone.now()
    with transaction.atomic():
        notice = IncidentNotice.objects.select_for_update().select_related("incident").get(pk=notice.pk)
        if notice.state != IncidentNotice.State.APPROVED:
            raise ValidationError(_("Only an approved notice can be sent."))
        incident = notice.incident
        if incident.scope_unknown or not incident.systems.exists():
            raise ValidationError(_("Name the systems involved first: until then nobody can be told individually."))
        recipients, unreachable_children = notice_recipients(incident)
        drill = incident.is_drill
        rows = []
        for chunk in _chunks(recipients, 5000):
            kinds: dict[int, set[str]] = {}
            for subject_id, kind in SubjectIdentifier.objects.filter(
                subject_id__in=[pk for pk, _g in chunk], kind__in=("email", "phone")
            ).values_list("subject_id", "kind"):
                kinds.setdefault(subject_id, set()).add(kind)
            for subject_id, as_guardian in chunk:
                channels = [NoticeDelivery.Channel.PORTAL]
                channels += [NoticeDelivery.Channel.EMAIL] if "email" in kinds.get(subject_id, ()) else []
                channels += [NoticeDelivery.Channel.SMS] if "phone" in kinds.get(subject_id, ()) else []
                for channel in channels:
                    shown = channel == NoticeDelivery.Channel.PORTAL
                    rows.append(
                        NoticeDelivery(
                            notice=notice,
                            recipient_id=subject_id,
                            channel=channel,
                            as_guardian=as_guardian,
                            state=(
                                NoticeDelivery.State.REHEARSED
                                if drill
                                else NoticeDelivery.State.SENT
                                if shown
                                else NoticeDelivery.State.PENDING
                            ),
                            sent_at=now if shown and not drill else None,
                            next_attempt_at=now,
                        )
                    )
        NoticeDelivery.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
        notice.state, notice.sent_at = IncidentNotice.State.SENDING, now
        notice.save(update_fields=["state", "sent_at"])
        summary = {"people": len(recipients), "rows": len(rows), "children_without_guardian": unreachable_children}
        audit_record(actor=actor, action="incident_notice.sent", target=notice, data=summary)
        if not drill:
            enqueue_on_commit("incidents.notices_deliver", notice.pk)
    return summary


def notice_publish(*, actor: str, notice: IncidentNotice, now: dt.datetime | None = None) -> IncidentNotice:
    """Publish an approved notice as a public announcement (telling each person is impracticable)."""
    with transaction.atomic():
        notice = IncidentNotice.objects.select_for_update().select_related("incident").get(pk=notice.pk)
        if notice.state == IncidentNotice.State.DRAFT:
            raise ValidationError(_("Only an approved notice can be published."))
        if notice.incident.is_drill:
            raise ValidationError(_("A drill's notice is never published."))
        if notice.published_at is None:
            notice.published_at = now or timezone.now()
            notice.save(update_fields=["published_at"])
            audit_record(actor=actor, action="incident_notice.published", target=notice, data={})
    return notice


def notice_sections(notice: IncidentNotice, language: str) -> list[tuple[str, str]]:
    """The notice's Art 57 items, labelled, in one language ("zh" or "en")."""
    with translation.override("zh-hans" if language == "zh" else "en"):
        kinds = choices_text(Incident.DataKind, notice.incident.data_kinds, language)
        texts = {"kinds": kinds, **{item: getattr(notice, f"{item}_{language}") for item in WRITTEN}}
        return [(str(label), texts[item]) for item, label in ITEMS]


def notice_url(notice: IncidentNotice) -> str:
    return f"{settings.FACERIGHTS_BASE_URL}/notices/{notice.reference}/"


def _email(notice: IncidentNotice, as_guardian: bool) -> tuple[str, str]:
    entity = notice.incident.entity
    parts = []
    for language, intro_guardian, intro in (
        (
            "zh",
            "我们发生了一起个人信息安全事件，可能涉及您孩子的个人信息。",
            "我们发生了一起个人信息安全事件，可能涉及您的个人信息。",
        ),
        (
            "en",
            "We have had a personal information security incident that may involve your child's information.",
            "We have had a personal information security incident that may involve your information.",
        ),
    ):
        lines = [intro_guardian if as_guardian else intro, ""]
        lines += [f"{label}: {text}" for label, text in notice_sections(notice, language)]
        parts.append("\n".join(lines))
    subject = f"【安全事件通知】{entity.name_zh} / Security incident notice: {entity.name_en or entity.name_zh}"
    return subject, "\n\n".join(parts) + f"\n\n{notice_url(notice)}"


def _send(delivery: NoticeDelivery) -> None:
    notice = delivery.notice
    identifiers = dict(subject_identifiers(delivery.recipient))
    if delivery.channel == NoticeDelivery.Channel.EMAIL:
        subject, body = _email(notice, delivery.as_guardian)
        send_mail(subject, body, None, [identifiers["email"]])
    else:
        params = {"company": notice.incident.entity.name_zh, "url": notice_url(notice)}
        sms_send(identifiers["phone"], "incident_notice", params)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(settings.FACERIGHTS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), 6 * 3600))


def deliveries_claim(*, notice_id: int | None = None, limit: int = BATCH, now: dt.datetime | None = None) -> list[int]:
    """Claim due email and SMS rows under a lease (a killed worker's claim runs out and they are due again)."""
    now = now or timezone.now()
    lease = dt.timedelta(seconds=settings.FACERIGHTS_CLAIM_LEASE_SECONDS)
    with transaction.atomic():
        due = NoticeDelivery.objects.filter(state=NoticeDelivery.State.PENDING, next_attempt_at__lte=now).exclude(
            claimed_until__gt=now
        )
        if notice_id is not None:
            due = due.filter(notice_id=notice_id)
        ids = list(due.order_by("pk").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        NoticeDelivery.objects.filter(pk__in=ids).update(claimed_until=now + lease, attempts=F("attempts") + 1)
    return ids


def deliveries_send(ids: list[int], *, now: dt.datetime | None = None) -> int:
    """Send claimed rows; each ends sent, or due again later, or after the last attempt failed for the DPO."""
    sent = 0
    for delivery in NoticeDelivery.objects.filter(pk__in=ids).select_related("notice__incident__entity", "recipient"):
        at = now or timezone.now()
        try:
            if delivery.recipient.shredded_at is not None:
                raise ValueError("no identifiers left: the person's data was shredded")
            _send(delivery)
        except Exception as exc:  # any gateway error: retried, then left for the DPO
            state = NoticeDelivery.State.FAILED if delivery.attempts >= MAX_ATTEMPTS else NoticeDelivery.State.PENDING
            NoticeDelivery.objects.filter(pk=delivery.pk).update(
                state=state,
                claimed_until=None,
                next_attempt_at=at + _backoff(delivery.attempts),
                last_error=f"{type(exc).__name__}: {exc}"[:255],
            )
            logger.warning("notice delivery %s failed (attempt %s)", delivery.pk, delivery.attempts)
            continue
        NoticeDelivery.objects.filter(pk=delivery.pk).update(
            state=NoticeDelivery.State.SENT, sent_at=at, claimed_until=None, last_error=""
        )
        sent += 1
    return sent


def notices_deliver(*, notice_id: int | None = None, now: dt.datetime | None = None) -> int:
    """Claim and send in batches until nothing is due (a task per notice; the sweep for all)."""
    sent = 0
    while ids := deliveries_claim(notice_id=notice_id, now=now):
        sent += deliveries_send(ids, now=now)
    return sent


def notice_progress(notice: IncidentNotice) -> dict[str, dict[str, int]]:
    """Per channel, how many rows are in each state."""
    progress: dict[str, dict[str, int]] = {}
    for channel, state, n in (
        notice.deliveries.values_list("channel", "state").annotate(n=Count("pk")).order_by("channel", "state")
    ):
        progress.setdefault(channel, {})[state] = n
    return progress


def _shown_to(subject: DataSubject) -> QuerySet[IncidentNotice]:
    """The notices sent to this person on the portal (a drill's never are), each once."""
    return IncidentNotice.objects.filter(
        deliveries__recipient=subject,
        deliveries__channel=NoticeDelivery.Channel.PORTAL,
        deliveries__state=NoticeDelivery.State.SENT,
    ).distinct()


def notices_for(subject: DataSubject) -> list[IncidentNotice]:
    """The notices shown to this person on the portal, newest first."""
    return list(_shown_to(subject).select_related("incident__entity").order_by("-sent_at"))


def notices_count_for(subject: DataSubject) -> int:
    """How many notices notices_for(subject) lists, counted in the database."""
    return _shown_to(subject).values("pk").count()


def notice_portal_only(notice: IncidentNotice) -> int:
    """People told only on the portal (no email or phone on record): the DPO reaches them another way."""
    return (
        notice.deliveries.exclude(state=NoticeDelivery.State.REHEARSED)
        .values("recipient")
        .annotate(channels=Count("pk"))
        .filter(channels=1)
        .count()
    )
