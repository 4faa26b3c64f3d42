"""Filters and sorts of the survey-response and follow-up lists (the querysets come from
``feedback.selectors``, which apply visibility): the one set of filter rules of the pages and of
``GET /responses`` and ``GET /follow-ups``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import F, Q, QuerySet

from patron.core.dates import day_after, day_start
from patron.core.ordering import ordered
from patron.feedback.models import FollowUp, Response

RESPONSE_SORTS = {
    "-created_at": (F("created_at").desc(),),
    "created_at": (F("created_at").asc(),),
    "score": (F("score").asc(), F("created_at").desc()),
    "-score": (F("score").desc(), F("created_at").desc()),
    "customer": (F("customer__name").asc(nulls_last=True),),
    "-customer": (F("customer__name").desc(nulls_last=True),),
    "survey": (F("survey__name").asc(), F("created_at").desc()),
    "-survey": (F("survey__name").desc(), F("created_at").desc()),
}


@dataclass(frozen=True)
class ResponseFilter:
    answered_from: date | None = None
    answered_to: date | None = None
    score_class: str = ""
    survey_id: int | None = None
    touchpoint: str = ""
    channel: str = ""
    branch_id: int | None = None
    with_comment: bool = False
    # Filters the API offers (GET /responses): None is no filter.
    customer_id: int | None = None
    since: datetime | None = None  # answered at or after this instant
    sort: str = "-created_at"


def filter_responses(responses: QuerySet[Response], f: ResponseFilter) -> QuerySet[Response]:
    if f.answered_from:
        responses = responses.filter(created_at__gte=day_start(f.answered_from))
    if f.answered_to:
        responses = responses.filter(created_at__lt=day_after(f.answered_to))
    if f.score_class:
        responses = responses.filter(score_class=f.score_class)
    if f.survey_id:
        responses = responses.filter(survey_id=f.survey_id)
    if f.touchpoint:
        responses = responses.filter(touchpoint=f.touchpoint)
    if f.channel:
        responses = responses.filter(channel=f.channel)
    if f.branch_id:
        responses = responses.filter(branch_id=f.branch_id)
    if f.with_comment:
        responses = responses.exclude(comment="")
    if f.customer_id is not None:
        responses = responses.filter(customer_id=f.customer_id)
    if f.since is not None:
        responses = responses.filter(created_at__gte=f.since)
    return ordered(responses, RESPONSE_SORTS, f.sort, "-created_at")


FOLLOW_UP_SORTS = {
    "due_at": (F("closed_at").asc(nulls_first=True), F("due_at").asc()),
    "-due_at": (F("due_at").desc(),),
    "opened_at": (F("opened_at").asc(),),
    "-opened_at": (F("opened_at").desc(),),
    "customer": (F("customer__name").asc(),),
    "-customer": (F("customer__name").desc(),),
    "owner": (F("owner__username").asc(nulls_last=True),),
    "-owner": (F("owner__username").desc(nulls_last=True),),
}

FOLLOW_UP_STATUSES = ("open", "overdue", "closed", "all")


@dataclass(frozen=True)
class FollowUpFilter:
    status: str = "open"  # one of FOLLOW_UP_STATUSES
    mine_of: int | None = None  # a user id: only what they own or was escalated to them
    owner_id: int | None = None
    root_cause: str = ""
    opened_from: date | None = None
    opened_to: date | None = None
    customer_id: int | None = None  # the API's filter (GET /follow-ups); None is no filter
    sort: str = "due_at"


def filter_follow_ups(
    follow_ups: QuerySet[FollowUp], f: FollowUpFilter, *, now: datetime
) -> QuerySet[FollowUp]:
    if f.mine_of:
        follow_ups = follow_ups.filter(Q(owner_id=f.mine_of) | Q(escalated_to_id=f.mine_of))
    if f.status == "open":
        follow_ups = follow_ups.filter(closed_at__isnull=True)
    elif f.status == "overdue":
        follow_ups = follow_ups.filter(
            closed_at__isnull=True, first_contact_at__isnull=True, due_at__lt=now
        )
    elif f.status == "closed":
        follow_ups = follow_ups.filter(closed_at__isnull=False)
    if f.owner_id:
        follow_ups = follow_ups.filter(owner_id=f.owner_id)
    if f.root_cause:
        follow_ups = follow_ups.filter(root_cause=f.root_cause)
    if f.opened_from:
        follow_ups = follow_ups.filter(opened_at__gte=day_start(f.opened_from))
    if f.opened_to:
        follow_ups = follow_ups.filter(opened_at__lt=day_after(f.opened_to))
    if f.customer_id is not None:
        follow_ups = follow_ups.filter(customer_id=f.customer_id)
    return ordered(follow_ups, FOLLOW_UP_SORTS, f.sort, "due_at")
