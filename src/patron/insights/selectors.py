"""Reads of scores for pages: one customer's insight card, runs for the Models page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from patron.commerce.models import CostEvent, Product
from patron.core.models import User
from patron.customers.models import Customer
from patron.customers.selectors import customer_scope
from patron.insights.entitlements import entitlements
from patron.insights.labels import CHURN_REASONS, RFM_SEGMENTS, TRENDS, label
from patron.insights.models import (
    CurrentScore,
    CustomerScore,
    DashboardFigures,
    DashboardSlice,
    ScoringRun,
)


@dataclass(frozen=True)
class Insight:
    score: CurrentScore | None
    # The day the scores are as of (the run's), and whether the customer bought or cost money
    # after it: such records count from the next run (insights.services.scores_refresh).
    as_of: date | None = None
    pending: bool = False
    value_class_label: str = ""
    services: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    segment: str = ""
    trend: str = ""
    recommended: list[Product] = field(default_factory=list)
    clv_history: list[tuple[str, float | None]] = field(default_factory=list)
    profit_history: list[tuple[str, float | None]] = field(default_factory=list)


def customer_insight(customer: Customer) -> Insight:
    """The scores card of the 360° page: four queries at most."""
    score = CurrentScore.objects.select_related("run").filter(customer=customer).first()
    if score is None:
        return Insight(score=None)
    as_of = score.run.as_of if score.run is not None else None
    ids = [int(p) for p in score.recommendations if isinstance(p, int)]
    products = {p.pk: p for p in Product.objects.filter(pk__in=ids)}
    history = list(
        CustomerScore.objects.filter(customer=customer, run__status=ScoringRun.Status.DONE)
        .order_by("-run__as_of")
        .values_list("run__as_of", "clv", "profit_12m")[:12]
    )
    return Insight(
        score=score,
        as_of=as_of,
        pending=as_of is not None and _activity_after(customer, as_of),
        value_class_label=score.get_value_class_display() if score.value_class else "",
        services=entitlements(score.value_class),
        reasons=[label(CHURN_REASONS, code) for code in score.churn_reasons],
        segment=label(RFM_SEGMENTS, score.rfm_segment),
        trend=label(TRENDS, score.trend),
        recommended=[products[i] for i in ids if i in products],
        clv_history=[(d.isoformat(), v) for d, v, _p in reversed(history)],
        profit_history=[(d.isoformat(), p) for d, _v, p in reversed(history)],
    )


def _activity_after(customer: Customer, as_of: date) -> bool:
    """Whether the customer has an order or a cost event dated after the day ``as_of``."""
    if customer.last_order_at is not None and timezone.localdate(customer.last_order_at) > as_of:
        return True
    next_day = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())
    return CostEvent.objects.filter(customer=customer, occurred_at__gte=next_day).exists()


def latest_runs(limit: int = 20) -> list[ScoringRun]:
    return list(ScoringRun.objects.defer("churn_model").order_by("-as_of")[:limit])


@dataclass(frozen=True)
class Dashboard:
    """The latest run's dashboard figures over the customers a user may see."""

    run: ScoringRun
    figures: dict[str, Any]  # summed over the user's slices, or the whole-book row
    shared: dict[str, Any]  # bin edges and cohort quarters, common to every slice
    everyone: bool  # True when the user sees every customer

    @property
    def migration(self) -> dict[str, Any]:
        return self.run.diagnostics.get("migration", {}) if self.run.diagnostics else {}


def _dashboard_run() -> ScoringRun | None:
    return (
        ScoringRun.objects.defer("churn_model")
        .filter(status=ScoringRun.Status.DONE, dashboard__isnull=False)
        .order_by("-as_of")
        .first()
    )


def dashboard_for(user: User) -> Dashboard | None:
    """Three queries whatever the number of customers: the run, its figures, the user's slices.

    Roles that see every customer read the precomputed whole-book row; others the sum of the
    (owner, branch, region) slices their visibility rule selects, as of the run.
    """
    # Imported here: the figures module brings pandas, which a page without dashboards never needs.
    from patron.insights.figures import add

    run = _dashboard_run()
    if run is None:
        return None
    total = DashboardFigures.objects.filter(run=run).values_list("figures", flat=True).first() or {}
    shared = {k: total.get(k, []) for k in ("profit_edges", "clv_edges", "cohort_quarters")}
    scope = customer_scope(user)
    if scope is None:
        return Dashboard(run=run, figures=total, shared=shared, everyone=True)
    parts = DashboardSlice.objects.filter(run=run).filter(scope).values_list("figures", flat=True)
    return Dashboard(run=run, figures=add(parts), shared=shared, everyone=False)


TEAM_FIGURES = ("customers", "profit", "clv")


def team_figures(user: User) -> tuple[ScoringRun | None, dict[int | None, dict[str, float]]]:
    """Customers, profit to date and predicted value per owner, as of the latest run.

    Reads three numbers per slice (JSON key lookups), or the whole-book row's per-owner table for
    roles that see everyone, so the cost follows the number of owners, not of customers.
    """
    run = _dashboard_run()
    if run is None:
        return None, {}
    scope = customer_scope(user)
    if scope is None:
        owners = (
            DashboardFigures.objects.filter(run=run)
            .values_list("figures__owners", flat=True)
            .first()
            or {}
        )
        return run, {None if k == "none" else int(k): v for k, v in owners.items()}
    rows = (
        DashboardSlice.objects.filter(run=run)
        .filter(scope)
        .values_list("owner_id", *(f"figures__{name}" for name in TEAM_FIGURES))
    )
    out: dict[int | None, dict[str, float]] = {}
    for owner, *values in rows:
        sums = out.setdefault(owner, dict.fromkeys(TEAM_FIGURES, 0.0))
        for name, value in zip(TEAM_FIGURES, values, strict=True):
            sums[name] += float(value or 0)
    return run, out
