"""What respondents and staff send, checked: the errors with their translated messages, scores,
comments, extra answers and languages."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from patron.customers.models import Customer
from patron.feedback.models import SCORE_RANGE, Question, Response, Survey, SurveyKind

LANGUAGES = ("en", "zh-hans", "zh-hant")


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
