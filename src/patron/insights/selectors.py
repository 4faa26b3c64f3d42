"""Reads of scores for pages: one customer's insight card, runs for the Models page."""

from __future__ import annotations

from dataclasses import dataclass, field

from patron.commerce.models import Product
from patron.customers.models import Customer
from patron.insights.entitlements import entitlements
from patron.insights.labels import CHURN_REASONS, RFM_SEGMENTS, TRENDS, label
from patron.insights.models import CurrentScore, CustomerScore, ScoringRun


@dataclass(frozen=True)
class Insight:
    score: CurrentScore | None
    value_class_label: str = ""
    services: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    segment: str = ""
    trend: str = ""
    recommended: list[Product] = field(default_factory=list)
    clv_history: list[tuple[str, float | None]] = field(default_factory=list)


def customer_insight(customer: Customer) -> Insight:
    """The scores card of the 360° page: three queries at most."""
    score = CurrentScore.objects.filter(customer=customer).first()
    if score is None:
        return Insight(score=None)
    ids = [int(p) for p in score.recommendations if isinstance(p, int)]
    products = {p.pk: p for p in Product.objects.filter(pk__in=ids)}
    history = list(
        CustomerScore.objects.filter(customer=customer, run__status=ScoringRun.Status.DONE)
        .order_by("-run__as_of")
        .values_list("run__as_of", "clv")[:12]
    )
    return Insight(
        score=score,
        value_class_label=score.get_value_class_display() if score.value_class else "",
        services=entitlements(score.value_class),
        reasons=[label(CHURN_REASONS, code) for code in score.churn_reasons],
        segment=label(RFM_SEGMENTS, score.rfm_segment),
        trend=label(TRENDS, score.trend),
        recommended=[products[i] for i in ids if i in products],
        clv_history=[(d.isoformat(), v) for d, v in reversed(history)],
    )


def latest_runs(limit: int = 20) -> list[ScoringRun]:
    return list(ScoringRun.objects.defer("churn_model").order_by("-as_of")[:limit])
