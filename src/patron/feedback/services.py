"""Writes of feedback: surveys, invitations, responses, follow-ups, reviews.

Each function validates, writes in one transaction and raises a ValidationError subclass with a
translated message for bad input. Emails are sent by the worker: the send task is stored in the
same transaction as the records it sends, so it is never lost and never sent for a rolled-back write.
"""

from __future__ import annotations

import importlib
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from patron.core import rows
from patron.core.models import Branch, Role, User
from patron.customers.models import Contact, Customer
from patron.feedback import comments, rules
from patron.feedback.contact_policy import contact_decisions
from patron.feedback.models import (
    SCORE_RANGE,
    Channel,
    ContactLog,
    ContactPurpose,
    FollowUp,
    FollowUpRule,
    Invitation,
    Purpose,
    Question,
    Response,
    Review,
    Survey,
    SurveyKind,
    Touchpoint,
    Trigger,
    score_class,
)

logger = logging.getLogger("patron.feedback")

LANGUAGES = ("en", "zh-hans", "zh-hant")
SEND_BATCH = 100

# The first question of a new survey, per kind, in each language (translated through the catalogue).
DEFAULT_QUESTION = {
    SurveyKind.NPS: gettext_noop("How likely is it that you would recommend us to a friend or colleague?"),
    SurveyKind.CSAT: gettext_noop("How satisfied are you with us overall?"),
    SurveyKind.CES: gettext_noop("How easy was it to get what you needed from us?"),
}


# ---------------------------------------------------------------- errors


class InvalidScoreError(ValidationError):
    def __init__(self, low: int, high: int) -> None:
        super().__init__(
            _("The score must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
            code="invalid_score",
        )


class CommentTooLongError(ValidationError):
    def __init__(self, limit: int, length: int) -> None:
        super().__init__(
            _("The comment is too long: %(length)d characters; at most %(limit)d are kept.")
            % {"length": length, "limit": limit},
            code="comment_too_long",
        )


class InvitationExpiredError(ValidationError):
    def __init__(self) -> None:
        super().__init__(_("This survey link has expired."), code="expired")


class AlreadyAnsweredError(ValidationError):
    def __init__(self, response: Response) -> None:
        self.response = response
        super().__init__(
            _("This invitation has already been answered (score %(score)d); it takes one answer.")
            % {"score": response.score},
            code="already_answered",
        )


class CommentChangedError(ValidationError):
    def __init__(self) -> None:
        super().__init__(
            _("This form has already been sent. To change your comment again, open the link from your email again."),
            code="comment_changed",
        )


class SurveyClosedError(ValidationError):
    def __init__(self) -> None:
        super().__init__(_("This survey is closed and takes no more answers."), code="survey_closed")


class TooManyQuestionsError(ValidationError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            _("A survey has at most %(limit)d questions; an administrator can allow more on the survey.")
            % {"limit": limit},
            code="too_many_questions",
        )


# ---------------------------------------------------------------- input checks


_INT = re.compile(r"^\s*[-+]?\d{1,6}\s*$")


def parse_score(raw: Any, kind: str) -> int:
    """A score from a URL or a form ("7"), checked against the kind's range."""
    low, high = SCORE_RANGE[SurveyKind(kind)]
    if isinstance(raw, bool):
        raise InvalidScoreError(low, high)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _INT.match(raw):
        value = int(raw)
    else:
        raise InvalidScoreError(low, high)
    if not low <= value <= high:
        raise InvalidScoreError(low, high)
    return value


def clean_comment(raw: str | None) -> str:
    """Trimmed, without NUL characters (PostgreSQL refuses them), within the length limit."""
    text = (raw or "").replace("\x00", "").strip()
    limit = settings.PATRON_COMMENT_MAX_CHARS
    if len(text) > limit:
        raise CommentTooLongError(limit, len(text))
    return text


def clean_answers(survey: Survey, raw: dict[str, Any] | None) -> dict[str, Any]:
    """Answers to the questions after the first, keyed by question position ("2", "3", ...)."""
    if not raw:
        return {}
    questions = {str(q.position): q for q in survey.questions.all() if q.position > 1}
    answers: dict[str, Any] = {}
    for key, value in raw.items():
        question = questions.get(str(key))
        if question is None:
            raise ValidationError(_("This survey has no question %(key)s.") % {"key": key}, code="unknown_question")
        if value in (None, ""):
            continue
        if question.kind == Question.Kind.TEXT:
            answers[str(key)] = clean_comment(str(value))
        else:
            answers[str(key)] = parse_score(value, question.kind)
    return answers


def language_of(value: str | None) -> str:
    value = (value or "").lower().replace("_", "-")
    if value in LANGUAGES:
        return value
    if value.startswith("zh"):
        return "zh-hant" if any(t in value for t in ("hant", "tw", "hk", "mo")) else "zh-hans"
    return "en"


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def language_for(customer: Customer, requested: str | None = None) -> str:
    """The language to write to a customer in: asked for, else the one they last answered in,
    else Chinese for a Chinese name, else the site's default."""
    if requested:
        return language_of(requested)
    last = (
        Response.objects.filter(customer=customer).order_by("-created_at").values_list("language", flat=True).first()
    )
    if last:
        return last
    if _cjk(customer.name):
        return "zh-hans"
    return language_of(settings.LANGUAGE_CODE)


# ---------------------------------------------------------------- outbound webhooks


def _webhooks() -> Any:
    """``patron.ingest.webhooks`` (outbound webhooks) when that module is installed, else None."""
    try:
        return importlib.import_module("patron.ingest.webhooks")
    except ModuleNotFoundError as exc:
        if exc.name in {"patron.ingest.webhooks", "patron.ingest"}:
            return None
        raise


def _emit(event: str, payload: dict[str, Any]) -> None:
    """Tell the outbound webhooks' ``emit`` of the event."""
    emit = getattr(_webhooks(), "emit", None)
    if callable(emit):
        emit(event, payload)


def _listening(*events: str) -> bool:
    """Whether an outbound webhook subscribes to one of ``events``."""
    module = _webhooks()
    return module is not None and any(module.listening(e) for e in events)


def response_payload(response: Response) -> dict[str, Any]:
    return {
        "id": response.pk,
        "survey": response.survey_id,
        "customer": response.customer_id,
        "score": response.score,
        "score_class": response.score_class,
        "comment": response.comment,
        "channel": response.channel,
        "touchpoint": response.touchpoint,
        "branch": response.branch_id,
        "language": response.language,
        "created_at": response.created_at.isoformat(),
    }


def follow_up_payload(follow_up: FollowUp) -> dict[str, Any]:
    return {
        "id": follow_up.pk,
        "customer": follow_up.customer_id,
        "response": follow_up.response_id,
        "owner": follow_up.owner_id,
        "reason": follow_up.reason,
        "opened_at": follow_up.opened_at.isoformat(),
        "due_at": follow_up.due_at.isoformat(),
        "escalated_to": follow_up.escalated_to_id,
    }


# ---------------------------------------------------------------- surveys


@dataclass(frozen=True)
class QuestionInput:
    kind: str
    text_en: str
    text_zh_hans: str = ""
    text_zh_hant: str = ""


def _default_question(kind: str) -> QuestionInput:
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = _(DEFAULT_QUESTION[SurveyKind(kind)])
    return QuestionInput(kind, texts["en"], texts["zh-hans"], texts["zh-hant"])


@transaction.atomic
def survey_create(
    *,
    name: str,
    kind: str = SurveyKind.NPS,
    purpose: str = Purpose.RELATIONSHIP,
    touchpoint: str | None = None,
    created_by: User | None = None,
    title_en: str = "",
    title_zh_hans: str = "",
    title_zh_hant: str = "",
    allow_comment: bool = True,
    allow_more_questions: bool = False,
    questions: Sequence[QuestionInput] = (),
    is_active: bool = True,
) -> Survey:
    """A survey whose first question is the score question of its kind (a default text if none given)."""
    if allow_more_questions and not (created_by is None or created_by.is_superuser or created_by.role == Role.ADMIN):
        raise ValidationError(_("Only an administrator may allow more than four questions."), code="admin_only")
    if touchpoint is None:
        touchpoint = Touchpoint.RELATIONSHIP if purpose == Purpose.RELATIONSHIP else Touchpoint.OTHER
    survey = Survey(
        name=(name or "").strip(),
        kind=kind,
        purpose=purpose,
        touchpoint=touchpoint,
        created_by=created_by,
        title_en=title_en,
        title_zh_hans=title_zh_hans,
        title_zh_hant=title_zh_hant,
        allow_comment=allow_comment,
        allow_more_questions=allow_more_questions,
        is_active=is_active,
    )
    survey.full_clean(exclude=["created_by", "public_key"])
    items = list(questions)
    if not items or items[0].kind != kind:
        items.insert(0, _default_question(kind))
    limit = settings.PATRON_SURVEY_MAX_QUESTIONS
    if len(items) > limit and not allow_more_questions:
        raise TooManyQuestionsError(limit)
    survey.save()
    for position, item in enumerate(items, start=1):
        _question_save(survey, position, item)
    return survey


def _question_save(survey: Survey, position: int, item: QuestionInput) -> Question:
    question = Question(
        survey=survey,
        position=position,
        kind=item.kind,
        text_en=item.text_en.strip(),
        text_zh_hans=item.text_zh_hans.strip(),
        text_zh_hant=item.text_zh_hant.strip(),
    )
    question.full_clean(exclude=["survey"])
    question.save()
    return question


@transaction.atomic
def question_add(*, survey: Survey, item: QuestionInput) -> Question:
    count = Question.objects.select_for_update().filter(survey=survey).count()
    limit = settings.PATRON_SURVEY_MAX_QUESTIONS
    if count >= limit and not survey.allow_more_questions:
        raise TooManyQuestionsError(limit)
    return _question_save(survey, count + 1, item)


@transaction.atomic
def trigger_create(
    *,
    survey: Survey,
    event: str,
    touchpoint: str,
    match: str = "",
    delay_hours: int = 24,
    sampling_rate: Decimal | float | str = 1,
    is_active: bool = True,
) -> Trigger:
    trigger = Trigger(
        survey=survey,
        event=event,
        match=match,
        touchpoint=touchpoint,
        delay_hours=delay_hours,
        sampling_rate=Decimal(str(sampling_rate)),
        is_active=is_active,
    )
    trigger.full_clean(exclude=["survey"])
    trigger.save()
    return trigger


# ---------------------------------------------------------------- invitations


@dataclass
class InvitationBatch:
    queued: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (customer id, reason code)


INVITABLE_CHANNELS = (Channel.EMAIL, Channel.LINK, Channel.API)


@transaction.atomic
def invitations_create(
    *,
    survey: Survey,
    customers: Iterable[Customer],
    channel: str = Channel.EMAIL,
    created_by: User | None = None,
    language: str | None = None,
    touchpoint: str | None = None,
    branch: Branch | None = None,
    trigger: Trigger | None = None,
    source: str = "",
    contacts: dict[int, Contact] | None = None,
    now: datetime | None = None,
) -> InvitationBatch:
    """Invite each customer the contact policy allows; email invitations are queued for the worker.

    Customers refused by the policy are returned in ``skipped`` with the reason (no_consent,
    no_email, fatigue, budget). The contact is recorded now, so queued invitations count
    against the fatigue rule at once.
    """
    if not survey.is_active:
        raise SurveyClosedError()
    if channel not in INVITABLE_CHANNELS:
        raise ValidationError(
            _("Invitations go by %(channels)s, not %(channel)s.")
            % {"channels": ", ".join(INVITABLE_CHANNELS), "channel": channel},
            code="invalid_channel",
        )
    now = now or timezone.now()
    customers = list(dict.fromkeys(customers))  # once each, in the given order
    contacts = contacts or {}
    decisions = contact_decisions(customers, channel=channel, purpose=ContactPurpose.SURVEY, now=now, contacts=contacts)
    batch = InvitationBatch()
    expires = now + timedelta(days=settings.PATRON_INVITATION_VALID_DAYS)
    new: list[Invitation] = []
    for customer in customers:
        decision = decisions[customer.pk]
        if not decision.allowed:
            batch.skipped.append((customer.pk, decision.reason))
            continue
        contact = contacts.get(customer.pk)
        new.append(
            Invitation(
                survey=survey,
                customer=customer,
                contact=contact,
                channel=channel,
                language=language_for(customer, language),
                email=(contact.email if contact else customer.email) if channel == Channel.EMAIL else "",
                trigger=trigger,
                touchpoint=touchpoint or (trigger.touchpoint if trigger else survey.touchpoint),
                branch=branch or customer.branch,
                source=source[:60],
                created_by=created_by,
                created_at=now,
                expires_at=expires,
            )
        )
    for invitation in new:
        invitation.save(force_insert=True)
    ContactLog.objects.bulk_create(
        [
            ContactLog(
                customer=i.customer, contact=i.contact, channel=channel, purpose=ContactPurpose.SURVEY,
                ref=f"invitation:{i.pk}", contacted_at=now,
            )
            for i in new
        ]
    )
    batch.queued = new
    if channel == Channel.EMAIL and new:
        from patron.feedback.tasks import invitations_send

        ids = [i.pk for i in new]
        for start in range(0, len(ids), SEND_BATCH):
            invitations_send.enqueue(ids[start : start + SEND_BATCH])
    return batch


def invitation_mark_sent(*, invitation: Invitation, error: str = "", now: datetime | None = None) -> Invitation:
    """Record the mail server's answer: accepted (``sent_at``) or refused (``error``, and the
    invitation may be sent again)."""
    invitation.sent_at = None if error else (now or timezone.now())
    invitation.send_error = error[:300]
    if error:
        invitation.handed_over_at = None
    invitation.save(update_fields=["sent_at", "send_error", "handed_over_at"])
    return invitation


class InvitationTakenError(Exception):
    """Another sender handed this invitation to the mail server first."""


def invitation_hand_over(*, invitation: Invitation, now: datetime | None = None) -> None:
    """Commit, before the mail server can accept the message, that this invitation is being sent.

    Called at SMTP's point of no return (``core.mail``), outside any transaction, so the marker is
    durable before the server has the message; if the worker dies after this, the invitation
    counts as sent and is never sent twice (docs/security.md). Raises InvitationTakenError if
    another sender marked it first.
    """
    moment = now or timezone.now()
    taken = Invitation.objects.filter(pk=invitation.pk, handed_over_at__isnull=True, sent_at__isnull=True).update(
        handed_over_at=moment
    )
    if not taken:
        raise InvitationTakenError(invitation.pk)
    invitation.handed_over_at = moment


# ---------------------------------------------------------------- triggers (touchpoint events)


def triggers_fire(
    *,
    event: str,
    match_value: str,
    customer_id: int,
    branch_id: int | None = None,
    source: str = "",
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> list[int]:
    """A touchpoint event happened: for each matching trigger the event is sampled in (at the
    trigger's rate) and an invitation is scheduled after the trigger's delay. Returns the
    trigger ids that were scheduled."""
    rng = rng or random.Random()
    now = now or timezone.now()
    scheduled: list[int] = []
    candidates = Trigger.objects.filter(event=event, is_active=True, survey__is_active=True).only(
        "id", "match", "sampling_rate", "delay_hours"
    )
    for trigger in candidates:
        if trigger.match and trigger.match != match_value:
            continue
        if rng.random() >= float(trigger.sampling_rate):
            continue
        from patron.feedback.tasks import trigger_invite

        trigger_invite.using(run_after=now + timedelta(hours=trigger.delay_hours)).enqueue(
            trigger.pk, customer_id, branch_id, source
        )
        scheduled.append(trigger.pk)
    return scheduled


def trigger_invite_customer(
    *, trigger_id: int, customer_id: int, branch_id: int | None, source: str
) -> InvitationBatch | None:
    """Run by the worker when a trigger's delay has passed; the policy is checked now, not at the event."""
    trigger = Trigger.objects.select_related("survey").filter(pk=trigger_id, is_active=True).first()
    customer = Customer.objects.filter(pk=customer_id).first()
    if trigger is None or customer is None or not trigger.survey.is_active:
        return None
    branch = Branch.objects.filter(pk=branch_id).first() if branch_id else None
    return invitations_create(
        survey=trigger.survey, customers=[customer], channel=Channel.EMAIL, trigger=trigger, branch=branch, source=source
    )


# ---------------------------------------------------------------- responses


_RULES_TTL = 5.0  # seconds a server process reuses the active rules before reading them again
_rules_cache: tuple[float, list[FollowUpRule]] = (0.0, [])


def _active_rules() -> list[FollowUpRule]:
    """The active follow-up rules; re-read at most every few seconds (every answer needs them)."""
    global _rules_cache
    loaded_at, cached = _rules_cache
    now = time.monotonic()
    if now - loaded_at > _RULES_TTL:
        cached = list(FollowUpRule.objects.filter(is_active=True))
        _rules_cache = (now, cached)
    return cached


def rules_changed(**_kwargs: Any) -> None:
    """Signal receiver: a rule was saved or deleted in this process; read them again next time."""
    global _rules_cache
    _rules_cache = (0.0, [])


def _configured_sentiment() -> Callable[[str, str], float] | None:
    """The callable rules use for sentiment, ``f(text, language) -> float`` in [-1, 1], if any:
    PATRON_SENTIMENT_FUNCTION's dotted path; empty switches sentiment conditions off."""
    path = settings.PATRON_SENTIMENT_FUNCTION
    if not path:
        return None
    try:
        func = import_string(path)
    except ImportError:
        return None
    return func if callable(func) else None


def _sentiment_for(response: Response) -> rules.Sentiment | None:
    """The configured sentiment function; the default one is answered from the stored score."""
    if not response.comment:
        return None
    configured = _configured_sentiment()
    stored = response.sentiment
    if configured is comments.sentiment and stored is not None:
        return lambda _text, _language: stored
    return configured


def _rule_match(response: Response) -> rules.Match | None:
    """The follow-up rule a response meets, if any."""
    return rules.evaluate(
        survey_id=response.survey_id,
        score=response.score,
        score_class=response.score_class,
        comment=response.comment,
        language=response.language,
        rules=_active_rules(),
        sentiment=_sentiment_for(response),
    )


def _after_response(response: Response, *, new: bool, owner_id: int | bool | None = False) -> FollowUp | None:
    """Inside the response's transaction: the closed-loop rules, then the webhook."""
    follow_up = None
    eligible = response.customer_id is not None and (new or not FollowUp.objects.filter(response=response).exists())
    if eligible:
        match = _rule_match(response)
        if match is not None:
            follow_up = follow_up_open(
                response=response, reason=match.reason, rule=match.rule, sla_hours=match.sla_hours, owner_id=owner_id
            )
    if new:
        _emit("response.received", response_payload(response))
    return follow_up


def _comment_analysis(text: str) -> dict[str, Any]:
    """The stored sentiment and themes of a comment (none without one)."""
    sentiment, themes = comments.analyse_comment(text)
    return {"sentiment": sentiment, "themes": themes}


def response_record(
    *, invitation: Invitation, score: int | str, source_ip_hash: str = "", now: datetime | None = None
) -> tuple[Response, bool]:
    """Record the answer an invitation link carries; returns (response, created).

    The same score again is accepted and changes nothing (people click twice, mail scanners
    open links); a different score is refused with AlreadyAnsweredError: the link takes one answer.
    """
    survey = invitation.survey
    value = parse_score(score, survey.kind)
    if invitation.answered_at is not None:
        return _existing_answer(invitation, value), False
    now = now or timezone.now()
    if invitation.expires_at <= now:
        raise InvitationExpiredError()
    if not survey.is_active:
        raise SurveyClosedError()
    response = Response(
        survey=survey,
        customer_id=invitation.customer_id,
        invitation=invitation,
        score=value,
        score_class=score_class(survey.kind, value),
        language=invitation.language,
        touchpoint=invitation.touchpoint,
        channel=invitation.channel,
        branch_id=invitation.branch_id,
        created_at=now,
        source_ip_hash=source_ip_hash,
    )
    owner_id = getattr(invitation, "customer_owner_id", False)
    try:
        if connection.vendor == "postgresql" and not _listening("response.received", "follow_up.opened"):
            if not _record_at_once(invitation.pk, now, response, owner_id):
                raise IntegrityError("invitation already answered")
        else:
            with transaction.atomic():
                # Claim the link first: of two concurrent clicks the second waits on the row
                # lock, then finds it answered and shows the first one's answer.
                if not _claim_invitation(invitation.pk, now):
                    raise IntegrityError("invitation already answered")
                rows.insert(response)  # every click runs this: no per-call SQL compilation
                _after_response(response, new=True, owner_id=owner_id)
    except IntegrityError:
        # Another request for the same invitation committed first (a double click).
        return _existing_answer(invitation, value), False
    invitation.answered_at = now
    return response, True


def _claim(pk: int, now: datetime) -> tuple[str, list[Any]]:
    """Mark the invitation answered unless it already is: the statement and its parameters."""
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(Invitation._meta.db_table)} SET {qn('answered_at')} = %s "  # noqa: S608 - names from models
        f"WHERE {qn('id')} = %s AND {qn('answered_at')} IS NULL"
    )
    return sql, [Invitation._meta.get_field("answered_at").get_db_prep_save(now, connection), pk]


def _record_at_once(pk: int, now: datetime, response: Response, owner_id: int | bool | None) -> bool:
    """PostgreSQL, no webhook listening: claim the link, store the answer and open the follow-up
    the rules ask for in one statement (``rows.insert_if_updated``); False if already answered.

    The same steps as the general path (``_claim_invitation``, ``rows.insert``,
    ``_after_response``) in one round trip and one commit: every click of a mailing runs this.
    """
    follow_up = None
    if response.customer_id is not None:
        match = _rule_match(response)
        if match is not None:
            follow_up = _follow_up_for(response, match.reason, match.rule, match.sla_hours, now, owner_id)
    claim, params = _claim(pk, now)
    return rows.insert_if_updated(claim + " RETURNING id", params, response, follow_up, link="response_id")


def _claim_invitation(pk: int, now: datetime) -> bool:
    """Mark the invitation answered unless it already is; one plain UPDATE (runs on every click)."""
    with rows.hot_cursor() as cursor:
        cursor.execute(*_claim(pk, now))
        return cursor.rowcount == 1


def _existing_answer(invitation: Invitation, score: int) -> Response:
    existing = Response.objects.filter(invitation=invitation).select_related("survey").first()
    if existing is None:
        raise InvitationExpiredError()
    if existing.score != score:
        raise AlreadyAnsweredError(existing)
    return existing


@transaction.atomic
def response_create(
    *,
    survey: Survey,
    score: int | str,
    channel: str,
    customer: Customer | None = None,
    comment: str | None = "",
    answers: dict[str, Any] | None = None,
    language: str | None = None,
    touchpoint: str | None = None,
    branch: Branch | None = None,
    source_ip_hash: str = "",
    created_at: datetime | None = None,
) -> Response:
    """An answer without an invitation: the public link, a kiosk, or the API."""
    if not survey.is_active:
        raise SurveyClosedError()
    value = parse_score(score, survey.kind)
    text = clean_comment(comment) if survey.allow_comment or comment else ""
    if touchpoint is not None and touchpoint not in Touchpoint.values:
        raise ValidationError(_("Unknown touchpoint %(value)s.") % {"value": touchpoint}, code="invalid_touchpoint")
    response = Response(
        survey=survey,
        customer=customer,
        score=value,
        score_class=score_class(survey.kind, value),
        answers=clean_answers(survey, answers),
        comment=text,
        comment_at=timezone.now() if text else None,
        **_comment_analysis(text),
        language=language_of(language or translation.get_language()),
        touchpoint=touchpoint or (Touchpoint.BRANCH if channel == Channel.KIOSK else survey.touchpoint),
        channel=channel,
        branch=branch,
        created_at=created_at or timezone.now(),
        source_ip_hash=source_ip_hash,
    )
    response.save(force_insert=True)
    _after_response(response, new=True)
    return response


@transaction.atomic
def response_update_comment(
    *, response: Response, comment: str | None, answers: dict[str, Any] | None = None
) -> Response:
    """The thank-you page: the respondent adds or changes the comment and the other answers.

    Only over the comment as ``response`` was read: CommentChangedError if it has changed since
    (the same form sent twice, or after another change), so each comment form works once.
    """
    text = clean_comment(comment)
    cleaned = clean_answers(response.survey, answers)
    with transaction.atomic():
        # Locks the row (SQLite: the IMMEDIATE transaction's write lock), so of two posts of one
        # form the second sees the first one's change.
        stored = Response.objects.select_for_update().filter(pk=response.pk).values_list("comment_at", flat=True)
        if list(stored) != [response.comment_at]:
            raise CommentChangedError
        response.comment = text
        response.comment_at = timezone.now()
        response.answers = {**response.answers, **cleaned}
        for name, value in _comment_analysis(text).items():
            setattr(response, name, value)
        response.save(update_fields=["comment", "comment_at", "answers", "sentiment", "themes"])
    # A keyword or sentiment rule may match the new comment.
    _after_response(response, new=False)
    return response


# ---------------------------------------------------------------- follow-ups (the closed loop)


def follow_up_open(
    *, response: Response, reason: str, rule: FollowUpRule | None = None, sla_hours: int | None = None,
    now: datetime | None = None, owner_id: int | bool | None = False,
) -> FollowUp:
    """Open the case for the customer's owner and alert them (email through the worker)."""
    if response.customer_id is None:
        raise ValidationError(_("An anonymous answer cannot be followed up."), code="anonymous")
    follow_up = _follow_up_for(response, reason, rule, sla_hours, now or timezone.now(), owner_id)
    with transaction.atomic(savepoint=False):
        # The owner's email goes out with the periodic job follow_ups_alert (every minute), not
        # as a queued task per follow-up: that row cost every detractor's click a third insert.
        rows.insert(follow_up)
        _emit("follow_up.opened", follow_up_payload(follow_up))
    return follow_up


def _follow_up_for(
    response: Response, reason: str, rule: FollowUpRule | None, sla_hours: int | None, now: datetime,
    owner_id: int | bool | None,
) -> FollowUp:
    """The (unsaved) follow-up of a response, for the customer's owner."""
    customer_id = response.customer_id
    assert customer_id is not None  # callers leave anonymous answers out
    if owner_id is False:  # not known by the caller: look it up
        owner_id = Customer.objects.filter(pk=customer_id).values_list("owner_id", flat=True).first()
    return FollowUp(
        response=response,
        customer_id=customer_id,
        owner_id=owner_id,
        reason=reason[:200],
        rule=rule,
        opened_at=now,
        due_at=now + timedelta(hours=sla_hours or settings.PATRON_FOLLOW_UP_SLA_HOURS),
    )


ALERT_BATCH = 500


def follow_up_alerts_send(*, now: datetime | None = None) -> dict[str, int]:
    """Alert owners of follow-ups opened since the last run, over one SMTP connection.

    Each follow-up is marked ``alerted_at`` right after its message went out, so a crash resends
    at most one. When the mail server fails the run stops and the rest wait for the next run; an
    address the server refuses is not retried. Closed follow-ups, and those whose owner has no
    email address, are marked without a message.
    """
    import smtplib

    from django.core.mail import get_connection

    from patron.feedback import emails

    sent = skipped = failed = 0
    pending = (
        FollowUp.objects.filter(alerted_at__isnull=True)
        .select_related("owner", "customer", "response__survey")
        .order_by("pk")[:ALERT_BATCH]
    )
    connection = get_connection()
    try:
        for follow_up in pending:
            message = None if follow_up.closed_at else emails.follow_up_alert_message(follow_up)
            if message is None:
                skipped += 1
            else:
                message.connection = connection
                try:
                    message.send()
                    sent += 1
                except smtplib.SMTPRecipientsRefused as exc:  # this address only: do not retry it
                    failed += 1
                    logger.warning("follow-up %s: alert refused: %s", follow_up.pk, exc)
                except (smtplib.SMTPException, OSError) as exc:  # the server: try again next run
                    failed += 1
                    logger.warning("follow-up %s: alert not sent, retried next run: %s", follow_up.pk, exc)
                    break
            FollowUp.objects.filter(pk=follow_up.pk).update(alerted_at=now or timezone.now())
    finally:
        connection.close()
    return {"sent": sent, "skipped": skipped, "failed": failed}


class FollowUpClosedError(ValidationError):
    def __init__(self) -> None:
        super().__init__(_("This follow-up is already closed."), code="closed")


@transaction.atomic
def follow_up_record_contact(
    *, follow_up: FollowUp, user: User, channel: str = "call", note: str = "", at: datetime | None = None
) -> FollowUp:
    """The owner reached the customer: the first contact stops the SLA clock; logged on the timeline."""
    from patron.engagement.services import interaction_create

    if follow_up.closed_at is not None:
        raise FollowUpClosedError()
    at = at or timezone.now()
    if at > timezone.now() + timedelta(minutes=5):
        raise ValidationError(_("The contact cannot be in the future."), code="future")
    if at < follow_up.opened_at:
        raise ValidationError(_("The contact cannot be before the follow-up was opened."), code="too_early")
    interaction_create(
        customer=follow_up.customer,
        channel=channel,
        direction="out",
        subject=_("Follow-up on survey answer (score %(score)d)") % {"score": follow_up.response.score},
        body=note[:10000],
        occurred_at=at,
        handled_by=user,
    )
    if follow_up.first_contact_at is None or at < follow_up.first_contact_at:
        follow_up.first_contact_at = at
        follow_up.save(update_fields=["first_contact_at"])
    return follow_up


@transaction.atomic
def follow_up_close(
    *,
    follow_up: FollowUp,
    user: User,
    root_cause: str,
    action_taken: str,
    outcome: str,
    notify_customer: bool = False,
    customer_message: str = "",
    now: datetime | None = None,
) -> FollowUp:
    """Close the loop: root cause, action and outcome are required; optionally tell the customer."""
    if follow_up.closed_at is not None:
        raise FollowUpClosedError()
    errors: dict[str, list[str]] = {}
    if root_cause not in FollowUp.RootCause.values:
        errors["root_cause"] = [_("Choose a root cause.")]
    if not action_taken.strip():
        errors["action_taken"] = [_("Say what was done.")]
    if outcome not in FollowUp.Outcome.values:
        errors["outcome"] = [_("Choose an outcome.")]
    if notify_customer and not customer_message.strip():
        errors["customer_message"] = [_("Write the message the customer will receive.")]
    if notify_customer and not follow_up.customer.email:
        errors["customer_message"] = [_("The customer has no email address to tell them.")]
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    follow_up.root_cause = root_cause
    follow_up.action_taken = action_taken.strip()[:10000]
    follow_up.outcome = outcome
    follow_up.closed_at = now
    follow_up.closed_by = user
    if follow_up.first_contact_at is None and outcome != FollowUp.Outcome.NO_REACH:
        # Closing a case with an outcome means the customer was reached, at the latest now.
        follow_up.first_contact_at = now
    follow_up.customer_message = customer_message.strip()[:5000] if notify_customer else ""
    follow_up.save(
        update_fields=[
            "root_cause", "action_taken", "outcome", "closed_at", "closed_by", "first_contact_at", "customer_message",
        ]
    )
    if notify_customer:
        from patron.feedback.tasks import follow_up_notify_customer

        follow_up_notify_customer.enqueue(follow_up.pk)
    return follow_up


def follow_ups_escalate(*, now: datetime | None = None) -> list[FollowUp]:
    """Escalate every open follow-up whose SLA passed with no contact to the owner's manager.

    Idempotent: a follow-up is escalated once (``escalated_at``), whenever the job runs.
    """
    from patron.feedback.tasks import follow_up_escalation_alert

    now = now or timezone.now()
    escalated: list[FollowUp] = []
    overdue = FollowUp.objects.filter(
        closed_at__isnull=True, first_contact_at__isnull=True, escalated_at__isnull=True, due_at__lt=now
    ).select_related("owner")
    for follow_up in overdue.order_by("due_at", "pk")[:1000]:
        with transaction.atomic():
            manager_id = follow_up.owner.reports_to_id if follow_up.owner else None
            updated = FollowUp.objects.filter(pk=follow_up.pk, escalated_at__isnull=True).update(
                escalated_at=now, escalated_to_id=manager_id
            )
            if not updated:  # another worker got it
                continue
            follow_up.escalated_at, follow_up.escalated_to_id = now, manager_id
            if manager_id is not None:
                follow_up_escalation_alert.enqueue(follow_up.pk)
            _emit("follow_up.overdue", follow_up_payload(follow_up))
        escalated.append(follow_up)
    return escalated


# ---------------------------------------------------------------- quarterly key-account reviews


def quarter_of(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of "2026Q3" in the site's time zone."""
    match = re.fullmatch(r"(\d{4})Q([1-4])", quarter)
    if match is None:
        raise ValidationError(_("A quarter looks like 2026Q3, not %(value)s.") % {"value": quarter}, code="quarter")
    year, q = int(match.group(1)), int(match.group(2))
    tz = timezone.get_current_timezone()
    start = datetime(year, 3 * q - 2, 1, tzinfo=tz)
    end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=tz)
    return start, end


def reviews_create_for_quarter(*, quarter: str, now: datetime | None = None) -> int:
    """One review task per key account for its owner; running it again for the quarter adds nothing."""
    _start, end = quarter_bounds(quarter)
    now = now or timezone.now()
    accounts = Customer.objects.filter(is_key_account=True).values_list("pk", "owner_id")
    existing = set(Review.objects.filter(quarter=quarter).values_list("customer_id", flat=True))
    new = [
        Review(customer_id=pk, owner_id=owner_id, quarter=quarter, due_at=end - timedelta(seconds=1), created_at=now, at=now)
        for pk, owner_id in accounts
        if pk not in existing
    ]
    Review.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def review_complete(*, review: Review, user: User, nps: int | str | None, notes: str, at: datetime | None = None) -> Review:
    """Record the dialogue: the account's NPS (0–10) and the notes; it moves on the timeline to when it was held."""
    errors: dict[str, list[str]] = {}
    value: int | None = None
    if nps not in (None, ""):
        try:
            value = parse_score(nps, SurveyKind.NPS)
        except InvalidScoreError as exc:
            errors["nps"] = exc.messages
    if not (notes or "").strip():
        errors["notes"] = [_("Write what was discussed.")]
    if errors:
        raise ValidationError(errors)
    at = at or timezone.now()
    review.nps = value
    review.notes = notes.strip()[:20000]
    review.done_at = at
    review.at = at
    review.save(update_fields=["nps", "notes", "done_at", "at"])
    return review
