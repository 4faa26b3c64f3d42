"""The home page of each role: what that person acts on first, in a fixed number of queries.

Every block starts from ``visible_customers`` (or a feedback selector built on it). Figures over
many customers come from the latest scoring run's dashboard figures (``dashboard_for``); live
counts are single aggregate queries on indexed columns (open follow-ups, NPS answer counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from patron.analytics.nps import NPSResult, nps_from_counts
from patron.core.models import Role, User
from patron.core.roles import can_drill_down, user_of
from patron.customers.models import Customer, PossibleDuplicate
from patron.customers.selectors import customer_scope, of_visible_customers, visible_customers
from patron.engagement.models import Task
from patron.feedback.models import FollowUp, Response, Review, ScoreClass, SurveyKind
from patron.feedback.selectors import FeedFilters, feed, visible_follow_ups, visible_responses
from patron.imports.models import ImportJob
from patron.insights.call_list import calls_today
from patron.insights.labels import RFM_SEGMENTS
from patron.insights.models import ScoringRun, ValueClass
from patron.insights.selectors import Dashboard, dashboard_for, team_figures

NPS_WINDOW = timedelta(days=90)
LIST_SIZE = 10
# Below this many customers a person's top-N lists sort their own customers instead of walking a
# score index over the whole book: a manager who owns a handful of customers would otherwise make
# PostgreSQL walk the index past most of a million rows looking for them.
SMALL_BOOK = 2_000


def _nps_counts() -> dict[str, Any]:
    return {
        "promoters": Count("pk", filter=Q(score_class=ScoreClass.PROMOTER)),
        "passives": Count("pk", filter=Q(score_class=ScoreClass.PASSIVE)),
        "detractors": Count("pk", filter=Q(score_class=ScoreClass.DETRACTOR)),
    }


def _nps(row: dict[str, Any]) -> NPSResult:
    return nps_from_counts(int(row["promoters"]), int(row["passives"]), int(row["detractors"]))


def nps_by(responses: QuerySet[Response], key: str) -> dict[Any, NPSResult]:
    """NPS per value of ``key`` from one GROUP BY over answer classes (no answers are loaded)."""
    rows = (
        responses.filter(survey__kind=SurveyKind.NPS)
        .values(key)
        .annotate(**_nps_counts())
        .order_by()
    )
    return {row[key]: _nps(row) for row in rows}


# ---------------------------------------------------------------- blocks


def rep_blocks(viewer: User, rep: User) -> dict[str, Any]:
    """A rep's home as ``viewer`` may see it: the rep's customers within the viewer's visibility."""
    customers = visible_customers(viewer).filter(owner=rep)
    scored = customers.select_related("score")
    now = timezone.now()
    # One indexed probe of at most SMALL_BOOK ids on (owner, name).
    small = len(customers.values_list("pk", flat=True).order_by()[:SMALL_BOOK]) < SMALL_BOOK

    calls, calls_total = calls_today(rep, customers, now=now)

    def top(field: str) -> Any:
        # Coalesce hides the score index from the planner, so it filters by owner first and sorts.
        key = F(f"score__{field}")
        return (Coalesce(key, Value(0.0)) if small else key).desc()

    return {
        # Not NULLS LAST: a plain descending order over non-null values walks the clv index backwards
        # and stops after ten rows, where NULLS LAST sorts every customer of the rep.
        "by_value": list(
            scored.filter(score__clv__isnull=False).order_by(top("clv"), "id")[:LIST_SIZE]
        ),
        "at_risk": list(
            scored.filter(score__churn_risk__gte=0.5).order_by(top("churn_risk"), "id")[:LIST_SIZE]
        ),
        # No tie-breaker: the chance comes from a class transition matrix, so thousands of
        # customers share each value and a second sort key would sort them all; the index walk
        # stops after five.
        "moving_down": list(
            scored.filter(score__move_down_prob__isnull=False).order_by(top("move_down_prob"))[
                : LIST_SIZE // 2
            ]
        ),
        "below_zero": list(
            customers.filter(profit_total__lt=0).order_by("profit_total", "id")[: LIST_SIZE // 2]
        ),
        "tasks": list(
            Task.objects.filter(assignee=rep, status=Task.Status.OPEN, customer__in=customers)
            .select_related("customer")
            .order_by(F("due_at").asc(nulls_last=True), "id")[:LIST_SIZE]
        ),
        "follow_ups": list(
            FollowUp.objects.filter(
                Q(owner=rep) | Q(escalated_to=rep), closed_at__isnull=True, customer__in=customers
            )
            .select_related("customer", "response")
            .order_by("due_at", "pk")[:LIST_SIZE]
        ),
        "reviews": list(
            Review.objects.filter(owner=rep, done_at__isnull=True, customer__in=customers)
            .select_related("customer")
            .order_by("due_at", "pk")[:5]
        ),
        "now": now,
        "rep": rep,
        "calls": calls,
        "calls_total": calls_total,
    }


@dataclass(frozen=True)
class KeyAccount:
    customer: Customer
    nps: NPSResult | None
    review: Review | None  # this quarter's


def key_account_blocks(user: User) -> dict[str, Any]:
    accounts = list(
        visible_customers(user)
        .filter(is_key_account=True)
        .select_related("score")
        .order_by("-profit_total", "id")[:20]
    )
    ids = [c.pk for c in accounts]
    scores = nps_by(Response.objects.filter(customer_id__in=ids), "customer_id")
    now = timezone.now()
    quarter = f"{timezone.localtime(now).year}Q{(timezone.localtime(now).month - 1) // 3 + 1}"
    reviews = {
        r.customer_id: r for r in Review.objects.filter(customer_id__in=ids, quarter=quarter)
    }
    return {
        "key_accounts": [KeyAccount(c, scores.get(c.pk), reviews.get(c.pk)) for c in accounts],
        "quarter": quarter,
    }


def feedback_blocks(user: User) -> dict[str, Any]:
    """Live feedback, NPS of the last 90 days with its margin of error, follow-ups against SLA."""
    now = timezone.now()
    since = now - NPS_WINDOW
    nps_row = (
        visible_responses(user)
        .filter(survey__kind=SurveyKind.NPS, created_at__gte=since)
        .aggregate(**_nps_counts())
    )
    sla = visible_follow_ups(user).aggregate(
        open=Count("pk", filter=Q(closed_at__isnull=True)),
        overdue=Count(
            "pk", filter=Q(closed_at__isnull=True, first_contact_at__isnull=True, due_at__lt=now)
        ),
        opened=Count("pk", filter=Q(opened_at__gte=since)),
        within=Count("pk", filter=Q(opened_at__gte=since, first_contact_at__lte=F("due_at"))),
    )
    within_rate = 100.0 * sla["within"] / sla["opened"] if sla["opened"] else None
    return {
        "latest": feed(user, FeedFilters(), limit=LIST_SIZE),
        "nps": _nps(nps_row),
        "nps_days": NPS_WINDOW.days,
        "sla": {**sla, "within_rate": within_rate},
    }


def segment_blocks(dashboard: Dashboard | None) -> dict[str, Any]:
    if dashboard is None:
        return {"classes": [], "segments": []}
    classes = dashboard.figures.get("classes", {})
    counts = dashboard.figures.get("segments", {})
    return {
        "classes": [(code, label, classes.get(code, {})) for code, label in ValueClass.choices],
        "segments": sorted(
            ((code, RFM_SEGMENTS[code], counts.get(code, 0)) for code in RFM_SEGMENTS),
            key=lambda row: -row[2],
        ),
    }


@dataclass(frozen=True)
class TeamRow:
    owner_id: int | None
    name: str
    customers: int
    profit: float
    clv: float
    open_follow_ups: int
    nps: NPSResult | None


def team_blocks(user: User) -> dict[str, Any]:
    """Per owner: customers, profit and predicted value (from the run), open follow-ups and NPS (live)."""
    team_run, per_owner = team_figures(user)
    ids = [o for o in per_owner if o is not None]
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=ids).order_by()}
    # Open follow-ups counted per person they are assigned to, among the people of the table: a
    # load figure read from the follow-ups alone. Filtering them by visible customers made
    # PostgreSQL join a million customers (300-540 ms at 1M).
    follow_ups = dict(
        FollowUp.objects.filter(closed_at__isnull=True, owner_id__in=ids)
        .values_list("owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    nps = nps_by(
        of_visible_customers(Response.objects.filter(created_at__gte=timezone.now() - NPS_WINDOW), user),
        "customer__owner_id",
    )
    rows = [
        TeamRow(
            owner_id=owner,
            name=names.get(owner, "") if owner is not None else "",
            customers=int(f.get("customers", 0)),
            profit=float(f.get("profit", 0.0)),
            clv=float(f.get("clv", 0.0)),
            open_follow_ups=int(follow_ups.get(owner, 0)),
            nps=nps.get(owner),
        )
        for owner, f in per_owner.items()
    ]
    rows.sort(key=lambda r: (-r.profit, r.name))
    return {"team": rows, "team_run": team_run, "nps_days": NPS_WINDOW.days}


def analyst_blocks(dashboard: Dashboard | None) -> dict[str, Any]:
    run = ScoringRun.objects.defer("churn_model", "params").order_by("-as_of").first()
    done = dashboard.run if dashboard else None
    recent = timezone.now() - timedelta(days=30)
    imports = ImportJob.objects.filter(created_at__gte=recent).aggregate(
        failed=Count("pk", filter=Q(status=ImportJob.Status.FAILED)),
        with_rejects=Count("pk", filter=Q(rejected_count__gt=0)),
    )
    finished = done.finished_at if done else None
    return {
        "latest_run": run,
        "scored_run": done,
        "run_age_hours": (timezone.now() - finished).total_seconds() / 3600 if finished else None,
        "quality": dashboard.figures.get("quality", {}) if dashboard else {},
        "duplicates": PossibleDuplicate.objects.filter(
            status=PossibleDuplicate.Status.OPEN
        ).count(),
        "imports": imports,
    }


# ---------------------------------------------------------------- the page


def _template(role: str) -> str:
    return f"web/home_{role}.html"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    rep_param = request.GET.get("rep")
    if rep_param is not None:
        return _drill_down(request, user, rep_param)
    role = Role.ADMIN if user.is_superuser else user.role
    context: dict[str, Any] = {"role": role}
    if role in {Role.REP, Role.ACCOUNT_MANAGER}:
        context |= rep_blocks(user, user)
        if role == Role.ACCOUNT_MANAGER:
            context |= key_account_blocks(user)
    elif role == Role.CX:
        context |= feedback_blocks(user)
    elif role == Role.MARKETER:
        dashboard = dashboard_for(user)
        context |= segment_blocks(dashboard) | {"dashboard": dashboard}
    elif role == Role.MANAGER:
        context |= team_blocks(user) | rep_blocks(user, user)
    elif role == Role.ANALYST:
        dashboard = dashboard_for(user)
        context |= analyst_blocks(dashboard) | {"dashboard": dashboard}
    else:
        dashboard = dashboard_for(user)
        context |= {"dashboard": dashboard}
        context |= segment_blocks(dashboard) | team_blocks(user)
        context |= feedback_blocks(user) | analyst_blocks(dashboard)
        role = Role.ADMIN
    return render(request, _template(role), context)


def _drill_down(request: HttpRequest, user: User, rep_param: str) -> HttpResponse:
    """A manager opens one rep's home, restricted to the customers the manager may see."""
    if not rep_param.isdigit() or not can_drill_down(user):
        raise Http404("No such team member")
    rep = User.objects.filter(pk=int(rep_param), is_active=True).first()
    # Only someone who owns customers the viewer sees: a rep outside the manager's branches and
    # regions is a 404, like a customer outside them.
    if rep is None or (
        customer_scope(user) is not None and not visible_customers(user).filter(owner=rep).exists()
    ):
        raise Http404("No such team member")
    return render(
        request,
        "web/home_rep.html",
        {"role": Role.REP, "viewing_rep": rep, **rep_blocks(user, rep)},
    )
