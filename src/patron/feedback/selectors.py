"""Reads of feedback. Everything about customers starts from ``visible_customers(user)``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import TYPE_CHECKING, Any

from django.db import InterfaceError, OperationalError, connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from patron.core import roles, rows
from patron.core.models import User
from patron.customers.models import Customer
from patron.customers.selectors import customer_scope, visible_customers
from patron.feedback.models import (
    FollowUp,
    Invitation,
    Response,
    Review,
    ScoreClass,
    Survey,
    SurveyKind,
)

if TYPE_CHECKING:
    from patron.analytics.nps import NPSResult


_SURVEY_TTL = 10.0  # seconds a server process reuses a survey (with its questions) on the answer pages
_surveys: dict[int, tuple[float, Survey]] = {}


def survey_for_answers(survey_id: int) -> Survey | None:
    """The survey with its questions, as the public answer pages need it on every click.

    Kept per process for a few seconds: a change made in another process (closing a survey,
    editing a question) reaches the answer pages within that time; this process forgets at once.
    """
    now = time.monotonic()
    hit = _surveys.get(survey_id)
    if hit is not None and now - hit[0] < _SURVEY_TTL:
        return hit[1]
    survey = Survey.objects.prefetch_related("questions").filter(pk=survey_id).first()
    if survey is not None:
        _surveys[survey_id] = (now, survey)
    return survey


def surveys_changed(**_kwargs: object) -> None:
    """Signal receiver: a survey or question was saved or deleted in this process."""
    _surveys.clear()


_INVITATION_SQL: tuple[str, list[str], list[tuple[int, Any, Any]]] | None = None


def _invitation_sql() -> tuple[str, list[str], list[tuple[int, Any, Any]]]:
    """The query, the field names, and the converters a queryset would apply (dates on SQLite)."""
    global _INVITATION_SQL
    if _INVITATION_SQL is None:
        qn = connection.ops.quote_name
        table = Invitation._meta.db_table
        fields = Invitation._meta.concrete_fields
        columns = ", ".join(f"i.{qn(str(f.column))}" for f in fields)
        converters = []
        for i, field in enumerate(fields):
            col = field.get_col(table)
            for convert in [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]:
                converters.append((i, convert, col))
        _INVITATION_SQL = (
            f"SELECT {columns}, c.{qn('owner_id')} FROM {qn(table)} i "  # noqa: S608 - names from models
            f"JOIN {qn(Customer._meta.db_table)} c ON c.{qn('id')} = i.{qn('customer_id')} WHERE i.{qn('id')} = %s",
            [f.attname for f in fields],
            converters,
        )
    return _INVITATION_SQL


def _fetch_one(sql: str, pk: int) -> Any:
    with rows.hot_cursor() as cursor:
        cursor.execute(sql, [pk])
        return cursor.fetchone()


def invitation_for_answer(pk: int) -> Invitation | None:
    """The invitation behind an answer link, with its customer's owner (``customer_owner_id``,
    for a detractor's follow-up) and its survey, in one plain query: this runs on every click."""
    sql, names, converters = _invitation_sql()
    try:
        row = _fetch_one(sql, pk)
    except (OperationalError, InterfaceError):
        # Answer links skip the per-request health check (config.wsgi): a persistent connection
        # the server dropped fails here first, before anything is written. Once more on a new one.
        if connection.in_atomic_block:
            raise
        connection.close()
        row = _fetch_one(sql, pk)
    if row is None:
        return None
    values = list(row[:-1])
    for i, convert, col in converters:
        values[i] = convert(values[i], col, connection)
    invitation = Invitation.from_db(connection.alias, names, values)
    invitation.customer_owner_id = row[-1]  # type: ignore[attr-defined]
    survey = survey_for_answers(invitation.survey_id)
    if survey is None:
        return None
    invitation.survey = survey
    return invitation


def latest_nps_class() -> Subquery:
    """The score class (promoter, passive, detractor) of a customer's latest NPS answer, as an
    expression over ``Customer`` (null for a customer who never answered an NPS survey).

    Nothing stores it per customer: it is read from the answers, newest first, so a new answer
    changes it at once."""
    latest = Response.objects.filter(customer_id=OuterRef("pk"), survey__kind=SurveyKind.NPS).order_by(
        "-created_at", "-pk"
    )
    return Subquery(latest.values("score_class")[:1])


def can_manage_surveys(user: User) -> bool:
    """Create surveys and send them (pages and API)."""
    return roles.can_manage_surveys(user)


def sees_anonymous(user: User) -> bool:
    """Anonymous answers (public link, kiosk) belong to no customer: the organisation-wide roles see them."""
    return user.is_authenticated and user.is_active and customer_scope(user) is None


def visible_responses(user: User) -> QuerySet[Response]:
    scope = Q(customer__in=visible_customers(user))
    if sees_anonymous(user):
        return Response.objects.all()
    return Response.objects.filter(scope)


@dataclass(frozen=True)
class FeedFilters:
    survey: int | None = None
    touchpoint: str | None = None
    branch: int | None = None
    score_class: str | None = None
    customer: int | None = None

    def apply(self, qs: QuerySet[Response]) -> QuerySet[Response]:
        if self.survey:
            qs = qs.filter(survey_id=self.survey)
        if self.touchpoint:
            qs = qs.filter(touchpoint=self.touchpoint)
        if self.branch:
            qs = qs.filter(branch_id=self.branch)
        if self.score_class:
            qs = qs.filter(score_class=self.score_class)
        if self.customer:
            qs = qs.filter(customer_id=self.customer)
        return qs


def feed(user: User, filters: FeedFilters, *, after_id: int | None = None, limit: int = 50) -> list[Response]:
    """The newest responses the user may see, newest answer first (by when it was answered: an
    imported or generated history is not in id order); with ``after_id`` only those that came since."""
    qs = filters.apply(visible_responses(user)).select_related("survey", "customer", "branch")
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    return list(qs.order_by("-created_at", "-pk")[:limit])


def nps_of(responses: QuerySet[Response]) -> NPSResult:
    """NPS with its margin of error and sample size, counted in the database (NPS questions only)."""
    # Imported here: the analytics stack (numpy, scipy) is not needed by the public answer pages.
    from patron.analytics.nps import nps_from_counts

    counts = responses.filter(survey__kind=SurveyKind.NPS).aggregate(
        promoters=Count("pk", filter=Q(score_class=ScoreClass.PROMOTER)),
        passives=Count("pk", filter=Q(score_class=ScoreClass.PASSIVE)),
        detractors=Count("pk", filter=Q(score_class=ScoreClass.DETRACTOR)),
    )
    return nps_from_counts(int(counts["promoters"]), int(counts["passives"]), int(counts["detractors"]))


@dataclass(frozen=True)
class SurveyRow:
    survey: Survey
    responses: int
    nps: NPSResult | None


def survey_rows(user: User) -> list[SurveyRow]:
    surveys = list(Survey.objects.all())
    visible = visible_responses(user)
    counts = dict(visible.values("survey_id").annotate(n=Count("pk")).values_list("survey_id", "n"))
    rows = []
    for survey in surveys:
        result = nps_of(visible.filter(survey=survey)) if survey.kind == SurveyKind.NPS else None
        rows.append(SurveyRow(survey, counts.get(survey.pk, 0), result))
    return rows


# ---------------------------------------------------------------- follow-ups


def visible_follow_ups(user: User) -> QuerySet[FollowUp]:
    # For roles that see every customer there is nothing to filter. Written as "customer in
    # (every customer) OR ...", PostgreSQL probes the customers subquery once per follow-up:
    # minutes at a million customers.
    if customer_scope(user) is None:
        return FollowUp.objects.all()
    return FollowUp.objects.filter(Q(customer__in=visible_customers(user)) | Q(owner=user) | Q(escalated_to=user))


def my_follow_ups(user: User, *, limit: int = 10) -> list[FollowUp]:
    """Open follow-ups the user owns or that were escalated to them, most urgent first."""
    return list(
        FollowUp.objects.filter(Q(owner=user) | Q(escalated_to=user), closed_at__isnull=True)
        .select_related("customer", "response", "response__survey")
        .order_by("due_at", "pk")[:limit]
    )


@dataclass(frozen=True)
class LoopReport:
    """Close-the-loop figures for follow-ups opened in [start, end)."""

    start: datetime
    end: datetime
    opened: int
    closed: int
    open_now: int
    overdue_now: int
    escalated: int
    contacted: int
    within_sla: int
    median_hours_to_contact: float | None
    median_hours_to_close: float | None

    @property
    def close_rate(self) -> float | None:
        return 100.0 * self.closed / self.opened if self.opened else None

    @property
    def within_sla_rate(self) -> float | None:
        """Share of follow-ups (of those opened) whose first contact came before the SLA ran out."""
        return 100.0 * self.within_sla / self.opened if self.opened else None


def loop_report(
    user: User, *, start: datetime | None = None, end: datetime | None = None, now: datetime | None = None
) -> LoopReport:
    now = now or timezone.now()
    end = end or now
    start = start or end - timedelta(days=90)
    rows = list(
        visible_follow_ups(user)
        .filter(opened_at__gte=start, opened_at__lt=end)
        .values_list("opened_at", "due_at", "first_contact_at", "closed_at", "escalated_at")
    )
    to_contact = [(c - o).total_seconds() / 3600 for o, _d, c, _x, _e in rows if c is not None]
    to_close = [(x - o).total_seconds() / 3600 for o, _d, _c, x, _e in rows if x is not None]
    return LoopReport(
        start=start,
        end=end,
        opened=len(rows),
        closed=len(to_close),
        open_now=sum(1 for r in rows if r[3] is None),
        overdue_now=sum(1 for o, d, c, x, _e in rows if x is None and c is None and d < now),
        escalated=sum(1 for r in rows if r[4] is not None),
        contacted=len(to_contact),
        within_sla=sum(1 for _o, d, c, _x, _e in rows if c is not None and c <= d),
        median_hours_to_contact=round(median(to_contact), 1) if to_contact else None,
        median_hours_to_close=round(median(to_close), 1) if to_close else None,
    )


# ---------------------------------------------------------------- reviews


def visible_reviews(user: User) -> QuerySet[Review]:
    if customer_scope(user) is None:  # every customer: see visible_follow_ups
        return Review.objects.all()
    return Review.objects.filter(Q(customer__in=visible_customers(user)) | Q(owner=user))


def my_open_reviews(user: User, *, limit: int = 10) -> list[Review]:
    return list(
        Review.objects.filter(owner=user, done_at__isnull=True).select_related("customer").order_by("due_at", "pk")[:limit]
    )


# ---------------------------------------------------------------- the 360° page


@dataclass(frozen=True)
class CustomerFeedback:
    history: list[Response]  # newest first
    latest_comment: Response | None
    open_follow_ups: list[FollowUp]
    nps: NPSResult  # over this customer's NPS answers (a relationship gauge, not a sample estimate)
    surveys: list[Survey]  # active surveys a "send a survey" action can use
    open_review: Review | None = None  # a key account's next quarterly review to record


def open_follow_ups(customer: Customer, limit: int = 10) -> list[FollowUp]:
    """The customer's open follow-ups, the most urgent (earliest due) first."""
    return list(
        FollowUp.objects.filter(customer=customer, closed_at__isnull=True)
        .select_related("owner", "response")
        .order_by("due_at", "pk")[:limit]
    )


def customer_feedback(customer: Customer) -> CustomerFeedback:
    """What the 360° page shows about feedback, in a fixed number of queries."""
    answers = Response.objects.filter(customer=customer)
    history = list(answers.select_related("survey").order_by("-created_at", "-pk")[:8])
    latest_comment = answers.exclude(comment="").select_related("survey").order_by("-created_at", "-pk").first()
    follow_ups = open_follow_ups(customer)
    return CustomerFeedback(
        history=history,
        latest_comment=latest_comment,
        open_follow_ups=follow_ups,
        nps=nps_of(answers),
        surveys=list(Survey.objects.filter(is_active=True).order_by("name")[:50]),
        open_review=(
            Review.objects.filter(customer=customer, done_at__isnull=True).order_by("due_at", "pk").first()
            if customer.is_key_account
            else None
        ),
    )
