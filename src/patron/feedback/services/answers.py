"""Answers: from an invitation link, the public link, a kiosk or the API; the comment added on the
thank-you page; the follow-up rules applied to each."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from patron.core import rows
from patron.core.models import Branch
from patron.customers.models import Customer
from patron.feedback import comments, rules
from patron.feedback.models import (
    Channel,
    FollowUp,
    FollowUpRule,
    Invitation,
    Response,
    Survey,
    Touchpoint,
    score_class,
)
from patron.feedback.services import events
from patron.feedback.services.checks import (
    AlreadyAnsweredError,
    CommentChangedError,
    InvitationExpiredError,
    SurveyClosedError,
    clean_answers,
    clean_comment,
    language_of,
    parse_score,
)
from patron.feedback.services.follow_ups import follow_up_build, follow_up_open

_RULES_TTL = 5.0  # seconds a server process reuses the active rules before reading them again
_rules_cache: tuple[float, list[FollowUpRule]] = (0.0, [])


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
        events.emit("response.received", events.response_payload(response))
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
        if connection.vendor == "postgresql" and not events.listening("response.received", "follow_up.opened"):
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
            follow_up = follow_up_build(response, match.reason, match.rule, match.sla_hours, now, owner_id)
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
