"""Surveys, their questions and their touchpoint triggers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from patron.core.models import User
from patron.core.roles import is_admin
from patron.feedback.models import Purpose, Question, Survey, SurveyKind, Touchpoint, Trigger
from patron.feedback.services.checks import LANGUAGES, TooManyQuestionsError

# The first question of a new survey, per kind, in each language (translated through the catalogue).
DEFAULT_QUESTION = {
    SurveyKind.NPS: gettext_noop("How likely is it that you would recommend us to a friend or colleague?"),
    SurveyKind.CSAT: gettext_noop("How satisfied are you with us overall?"),
    SurveyKind.CES: gettext_noop("How easy was it to get what you needed from us?"),
}


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
    if allow_more_questions and not (created_by is None or is_admin(created_by)):
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
