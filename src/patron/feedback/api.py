"""REST endpoints of feedback: surveys, invitations, responses and follow-ups.

Authentication is the API's (bearer token or session, config/api.py); every customer is
reached through ``visible_customers``. Errors have the API's one shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from patron.core.apikit import (
    MAX_PAGE,
    ApiError,
    ErrorOut,
    Id,
    InputSchema,
    Moment,
    Page,
    forbidden,
    not_found,
    paginate,
)
from patron.core.models import Branch, User
from patron.core.roles import is_analyst, user_of
from patron.customers.apikit import editable_customer
from patron.customers.selectors import visible_customers
from patron.feedback import links, selectors
from patron.feedback.comments import decode_themes
from patron.feedback.lists import (
    FollowUpFilter,
    ResponseFilter,
    filter_follow_ups,
    filter_responses,
)
from patron.feedback.models import FollowUp, Invitation, Response, Survey
from patron.feedback.services import answers, invitations, surveys

router = Router(tags=["feedback"])

KindLiteral = Literal["nps", "csat", "ces"]
PurposeLiteral = Literal["relationship", "transactional"]
TouchpointLiteral = Literal[
    "relationship", "purchase", "delivery", "claim", "return", "support", "call_centre", "agent_visit", "branch",
    "web", "other",
]
LanguageLiteral = Literal["en", "zh-hans", "zh-hant"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Title = Annotated[str, StringConstraints(max_length=200)]
QuestionText = Annotated[str, StringConstraints(min_length=1, max_length=300)]
OptionalQuestionText = Annotated[str, StringConstraints(max_length=300)]
BranchCode = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class QuestionIn(InputSchema):
    kind: Literal["nps", "csat", "ces", "text"]
    text_en: QuestionText
    text_zh_hans: OptionalQuestionText = ""
    text_zh_hant: OptionalQuestionText = ""


class SurveyIn(InputSchema):
    name: Name
    kind: KindLiteral = "nps"
    purpose: PurposeLiteral = "relationship"
    touchpoint: TouchpointLiteral | None = None
    title_en: Title = ""
    title_zh_hans: Title = ""
    title_zh_hant: Title = ""
    allow_comment: bool = True
    allow_more_questions: bool = Field(False, description="Administrators only: lift the four-question limit.")
    questions: list[QuestionIn] = Field(
        default_factory=list, max_length=20,
        description="The first is the score question; one of the survey's kind is added if missing.",
    )


class QuestionOut(Schema):
    position: int
    kind: str
    text_en: str
    text_zh_hans: str
    text_zh_hant: str


class SurveyOut(Schema):
    id: int
    name: str
    kind: str
    purpose: str
    touchpoint: str
    is_active: bool
    allow_comment: bool
    public_url: str
    kiosk_url: str
    questions: list[QuestionOut]
    created_at: datetime


def _survey_out(survey: Survey, request: HttpRequest) -> dict[str, Any]:
    return {
        "id": survey.pk,
        "name": survey.name,
        "kind": survey.kind,
        "purpose": survey.purpose,
        "touchpoint": survey.touchpoint,
        "is_active": survey.is_active,
        "allow_comment": survey.allow_comment,
        "public_url": links.public_url(survey.public_key, request=request),
        "kiosk_url": links.public_url(survey.public_key, kiosk=True, request=request),
        "questions": [
            {"position": q.position, "kind": q.kind, "text_en": q.text_en, "text_zh_hans": q.text_zh_hans,
             "text_zh_hant": q.text_zh_hant}
            for q in survey.questions.all()
        ],
        "created_at": survey.created_at,
    }


def _not_read_only(user: User) -> None:
    if is_analyst(user):
        raise forbidden(_("Analysts read feedback but do not send surveys or record answers."))


@router.post("/surveys", response={201: SurveyOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut}, summary="Create a survey")
def survey_create(request: HttpRequest, body: SurveyIn):
    """A survey of kind `nps` (0–10), `csat` (1–5) or `ces` (1–7); its first question is the score."""
    user = user_of(request)
    if not selectors.can_manage_surveys(user):
        raise forbidden(_("Your role does not manage surveys."))
    data = body.model_dump()
    questions = [surveys.QuestionInput(**q) for q in data.pop("questions")]
    survey = surveys.survey_create(created_by=user, questions=questions, **data)
    return Status(201, _survey_out(survey, request))


@router.get("/surveys", response={200: list[SurveyOut], 401: ErrorOut}, summary="List surveys")
def survey_list(request: HttpRequest):
    return [_survey_out(s, request) for s in Survey.objects.prefetch_related("questions").order_by("pk")]


@router.get("/surveys/{survey_id}", response={200: SurveyOut, 401: ErrorOut, 404: ErrorOut}, summary="One survey")
def survey_get(request: HttpRequest, survey_id: Id):
    survey = Survey.objects.prefetch_related("questions").filter(pk=survey_id).first()
    if survey is None:
        raise not_found()
    return _survey_out(survey, request)


class InvitationsIn(InputSchema):
    customers: list[Id] = Field(min_length=1, max_length=1000, description="Customer ids, at most 1,000 a call.")
    channel: Literal["email", "link", "api"] = Field(
        "email", description="email: the worker sends it; link/api: you deliver the returned url yourself."
    )
    language: LanguageLiteral | None = Field(None, description="Default: the customer's last answer's language.")
    touchpoint: TouchpointLiteral | None = None


class InvitationOut(Schema):
    id: int
    customer: int
    channel: str
    language: str
    email: str
    status: str = Field(description="queued (email, sent by the worker) or ready (link/api: deliver url yourself)")
    url: str | None = Field(None, description="For link/api: the survey page; add ?score=N to answer in one click.")
    expires_at: datetime


class SkippedOut(Schema):
    customer: int
    reason: str = Field(description="no_consent, no_email, fatigue, budget or not_visible")
    message: str


class InvitationsOut(Schema):
    queued: list[InvitationOut]
    skipped: list[SkippedOut]


def _invitation_out(invitation: Invitation, request: HttpRequest) -> dict[str, Any]:
    # A link handed back to deliver yourself: from the address the caller reached us at when
    # nothing else names it (feedback.links, core.base_url).
    deliver_yourself = invitation.channel != "email"
    return {
        "id": invitation.pk,
        "customer": invitation.customer_id,
        "channel": invitation.channel,
        "language": invitation.language,
        "email": invitation.email,
        "status": "ready" if deliver_yourself else "queued",
        "url": links.answer_url(invitation, request=request) if deliver_yourself else None,
        "expires_at": invitation.expires_at,
    }


@router.post(
    "/surveys/{survey_id}/invitations",
    response={202: InvitationsOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Invite customers to a survey",
)
def invitations_create(request: HttpRequest, survey_id: Id, body: InvitationsIn):
    """Returns at once: the invitations queued (email goes out through `patron worker`) and the
    customers skipped, with the reason (fatigue, no consent, no email, not visible)."""
    user = user_of(request)
    _not_read_only(user)
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise not_found()
    wanted = list(dict.fromkeys(body.customers))
    found = {c.pk: c for c in visible_customers(user).filter(pk__in=wanted).select_related("branch")}
    batch = invitations.invitations_create(
        survey=survey,
        customers=[found[pk] for pk in wanted if pk in found],
        channel=body.channel,
        created_by=user,
        language=body.language,
        touchpoint=body.touchpoint,
    )
    skipped = [(pk, "not_visible") for pk in wanted if pk not in found] + batch.skipped
    return Status(202, {
        "queued": [_invitation_out(i, request) for i in batch.queued],
        "skipped": [{"customer": pk, "reason": r, "message": str(invitations.SKIP_REASONS.get(r, r))} for pk, r in skipped],
    })


class ResponseOut(Schema):
    id: int
    survey: int
    customer: int | None
    invitation: int | None
    score: int
    score_class: str
    comment: str
    answers: dict[str, Any]
    channel: str
    touchpoint: str
    branch: str | None = Field(None, description="Branch code")
    language: str
    created_at: datetime
    sentiment: float | None = Field(None, description="The comment's sentiment, -1 to 1; null without a comment.")
    themes: list[str] = Field(default_factory=list, description="Theme codes found in the comment.")


def _response_out(r: Response) -> dict[str, Any]:
    return {
        "id": r.pk,
        "survey": r.survey_id,
        "customer": r.customer_id,
        "invitation": r.invitation_id,
        "score": r.score,
        "score_class": r.score_class,
        "comment": r.comment,
        "answers": r.answers,
        "channel": r.channel,
        "touchpoint": r.touchpoint,
        "branch": r.branch.code if r.branch_id else None,  # type: ignore[union-attr]
        "language": r.language,
        "created_at": r.created_at,
        "sentiment": r.sentiment,
        "themes": decode_themes(r.themes),
    }


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE, description=f"Page size, at most {MAX_PAGE}.")
    offset: int = Field(0, ge=0, le=10**9)


class ResponseFilters(PageParams):
    customer: Id | None = None
    survey: Id | None = None
    score_class: Literal["detractor", "passive", "promoter"] | None = None
    since: Moment | None = Field(None, description="Only answers at or after this time (ISO 8601 with zone).")


@router.get("/responses", response={200: Page[ResponseOut], 401: ErrorOut, 422: ErrorOut}, summary="List survey responses")
def response_list(request: HttpRequest, filters: Query[ResponseFilters]):
    """Newest first; `?customer=ID` for one customer's answers."""
    user = user_of(request)
    # The filter rules are the response list page's (feedback.lists.filter_responses).
    f = ResponseFilter(
        customer_id=filters.customer,
        survey_id=filters.survey,
        score_class=filters.score_class or "",
        since=filters.since,
    )
    qs: QuerySet[Response] = filter_responses(selectors.visible_responses(user).select_related("branch"), f)
    return paginate(request, qs.order_by("-created_at", "-pk"), filters, lambda rows: [_response_out(r) for r in rows])  # type: ignore[arg-type]


class ResponseIn(InputSchema):
    survey: Id
    score: int = Field(description="0–10 for NPS, 1–5 for CSAT, 1–7 for CES")
    customer: Id | None = Field(None, description="Empty for an anonymous answer.")
    comment: str = Field("", description="At most PATRON_COMMENT_MAX_CHARS (5,000) characters.")
    answers: dict[str, int | str] = Field(default_factory=dict, description='Other questions by position: {"2": 4}')
    language: LanguageLiteral | None = None
    touchpoint: TouchpointLiteral | None = None
    branch: BranchCode | None = Field(None, description="Branch code")
    answered_at: Moment | None = None


@router.post("/responses", response={201: ResponseOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Record a survey response")
def response_create(request: HttpRequest, body: ResponseIn):
    """An answer collected by another system (app, IVR, agent tablet): channel `api`."""
    user = user_of(request)
    _not_read_only(user)
    survey = Survey.objects.filter(pk=body.survey).first()
    if survey is None:
        raise not_found(_("There is no survey %(id)s.") % {"id": body.survey})
    customer = editable_customer(user, customer_id=body.customer) if body.customer is not None else None
    branch = None
    if body.branch:
        branch = Branch.objects.filter(code=body.branch).first()
        if branch is None:
            raise not_found(_("There is no branch %(code)s.") % {"code": body.branch})
    if body.answered_at is not None and body.answered_at > timezone.now():
        raise ApiError(422, "invalid", _("answered_at cannot be in the future."))
    response = answers.response_create(
        survey=survey,
        score=body.score,
        channel="api",
        customer=customer,
        comment=body.comment,
        answers=body.answers,
        language=body.language or "en",
        touchpoint=body.touchpoint,
        branch=branch or (customer.branch if customer else None),
        created_at=body.answered_at,
    )
    return Status(201, _response_out(response))


class FollowUpOut(Schema):
    id: int
    customer: int
    response: int
    score: int
    owner: str | None
    reason: str
    status: str = Field(description="open, contacted or closed")
    overdue: bool
    opened_at: datetime
    due_at: datetime
    first_contact_at: datetime | None
    escalated_at: datetime | None
    escalated_to: str | None
    closed_at: datetime | None
    root_cause: str
    action_taken: str
    outcome: str
    customer_notified_at: datetime | None


def _follow_up_out(f: FollowUp, now: datetime) -> dict[str, Any]:
    return {
        "id": f.pk,
        "customer": f.customer_id,
        "response": f.response_id,
        "score": f.response.score,
        "owner": f.owner.username if f.owner else None,
        "reason": f.reason,
        "status": "closed" if f.closed_at else ("contacted" if f.first_contact_at else "open"),
        "overdue": f.is_overdue(now),
        "opened_at": f.opened_at,
        "due_at": f.due_at,
        "first_contact_at": f.first_contact_at,
        "escalated_at": f.escalated_at,
        "escalated_to": f.escalated_to.username if f.escalated_to else None,
        "closed_at": f.closed_at,
        "root_cause": f.root_cause,
        "action_taken": f.action_taken,
        "outcome": f.outcome,
        "customer_notified_at": f.customer_notified_at,
    }


class FollowUpFilters(PageParams):
    customer: Id | None = None
    status: Literal["open", "overdue", "closed", "all"] = "all"


@router.get("/follow-ups", response={200: Page[FollowUpOut], 401: ErrorOut, 422: ErrorOut}, summary="List follow-ups")
def follow_up_list(request: HttpRequest, filters: Query[FollowUpFilters]):
    """Follow-ups of the customers you can see (and those you own), most urgent first; `?customer=ID`."""
    user = user_of(request)
    now = timezone.now()
    # The filter rules are the follow-up list page's (feedback.lists.filter_follow_ups).
    f = FollowUpFilter(customer_id=filters.customer, status=filters.status)
    qs = filter_follow_ups(
        selectors.visible_follow_ups(user).select_related("owner", "escalated_to", "response"), f, now=now
    )
    return paginate(
        request, qs.order_by("closed_at", "due_at", "pk"), filters, lambda rows: [_follow_up_out(f, now) for f in rows]  # type: ignore[arg-type]
    )
