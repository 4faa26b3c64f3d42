"""Reads of segments. A segment's members start from ``visible_customers(user)``: a segment is
evaluated with the visibility rule of whoever uses it, never of whoever saved it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone

from patron.campaigns.filters import SegmentFilter, parsed_filter, product_of
from patron.campaigns.models import Segment
from patron.commerce.models import OrderLine
from patron.core.models import User
from patron.core.ordering import both_ways
from patron.customers.models import Customer
from patron.customers.selectors import customer_scope, visible_customers
from patron.feedback.selectors import latest_nps_class
from patron.insights.models import CurrentScore

# Sort keys of the segment list (``core.ordering``).
SEGMENT_SORTS = {**both_ways("id"), **both_ways("name"), **both_ways("created_at"), **both_ways("updated_at")}


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _apply(qs: QuerySet[Customer], f: SegmentFilter) -> QuerySet[Customer]:
    if f.tags:
        # Any of the tags, each customer once (a subquery, not a join that repeats rows).
        tagged = Customer.tags.through.objects.filter(tag__name__in=f.tags).values("customer_id")
        qs = qs.filter(pk__in=tagged)
    if f.value_class:
        qs = qs.filter(score__value_class__in=f.value_class)
    if f.rfm_segment:
        qs = qs.filter(score__rfm_segment__in=f.rfm_segment)
    bounds = {
        "score__churn_risk": (f.churn_risk_min, f.churn_risk_max),
        "score__clv": (f.clv_min, f.clv_max),
        "score__p_alive": (f.p_alive_min, f.p_alive_max),
        "order_count": (f.orders_min, f.orders_max),
        "profit_total": (f.profit_min, f.profit_max),
    }
    for field, (low, high) in bounds.items():
        if low is not None:
            qs = qs.filter(**{f"{field}__gte": low})
        if high is not None:
            qs = qs.filter(**{f"{field}__lte": high})
    if f.nps_class:
        qs = qs.alias(latest_nps_class=latest_nps_class()).filter(latest_nps_class__in=f.nps_class)
    if f.region:
        qs = qs.filter(region__code__in=f.region)
    if f.branch:
        qs = qs.filter(branch__code__in=f.branch)
    if f.owner:
        qs = qs.filter(owner__username__in=f.owner)
    if f.stage:
        qs = qs.filter(stage__in=f.stage)
    flags = {"is_key_account": f.key_account, "consent_email": f.consent_email, "consent_survey": f.consent_survey}
    for field, flag in flags.items():
        if flag is not None:
            qs = qs.filter(**{field: flag})
    if f.last_order_after is not None:
        qs = qs.filter(last_order_at__gte=_start_of(f.last_order_after))
    if f.last_order_before is not None:
        qs = qs.filter(last_order_at__lt=_start_of(f.last_order_before))
    if f.likely_to_buy is not None:
        qs = _likely_to_buy(qs, f.likely_to_buy)
    return qs


def _likely_to_buy(qs: QuerySet[Customer], ref: int | str) -> QuerySet[Customer]:
    """Recommended the product by the latest scoring run and not bought it (since, either: the
    run's recommendations leave out what was bought before it, orders after it are checked here)."""
    product = product_of(ref)
    if product is None:  # deleted since the segment was saved: nobody
        return qs.none()
    if connection.features.supports_json_field_contains:
        qs = qs.filter(score__recommendations__contains=[product.pk])
    else:
        # SQLite has no JSON containment: the list's elements through json_each.
        table = connection.ops.quote_name(CurrentScore._meta.db_table)
        recommended = RawSQL(  # noqa: S611 - the table name from the model, the id a parameter
            f"SELECT s.customer_id FROM {table} s, json_each(s.recommendations) j WHERE j.value = %s",  # noqa: S608 - names from models
            [product.pk],
        )
        qs = qs.filter(pk__in=recommended)
    bought = OrderLine.objects.filter(product_id=product.pk).values("order__customer_id")
    return qs.exclude(pk__in=bought)


def segment_customers(user: User, filter: Mapping[str, Any]) -> QuerySet[Customer]:
    """The customers ``user`` sees that match ``filter`` (a clean filter, see ``filters``)."""
    return _apply(visible_customers(user), parsed_filter(filter))


@dataclass(frozen=True)
class SegmentSummary:
    count: int
    total_predicted_value: float  # sum of the members' CLV (members not scored yet add nothing)
    as_of: datetime | None = None  # when read from the worker's stored figures; None: counted now


def _summary(qs: QuerySet[Customer]) -> SegmentSummary:
    row = qs.aggregate(n=Count("pk"), value=Sum("score__clv"))
    return SegmentSummary(count=int(row["n"] or 0), total_predicted_value=float(row["value"] or 0.0))


def segment_summary(user: User, filter: Mapping[str, Any]) -> SegmentSummary:
    """How many customers ``user`` sees in the segment and their predicted value, in one query."""
    return _summary(segment_customers(user, filter))


def book_summary(filter: Mapping[str, Any]) -> SegmentSummary:
    """The segment over every customer: what the worker stores (``segment_figures_refresh``)."""
    return _summary(_apply(Customer.objects.all(), parsed_filter(filter)))


def segment_summaries(user: User, listed: Iterable[Segment]) -> list[SegmentSummary]:
    """Each segment's figures as ``user`` sees them, for the segment list. A reader who sees every
    customer gets the stored whole-book figures when they were counted after the segment last
    changed; anyone else (or a segment not counted since its change) is counted now, within the
    reader's visibility."""
    everyone = customer_scope(user) is None
    out = []
    for s in listed:
        stored = everyone and s.counted_at is not None and s.counted_at >= s.updated_at and s.book_count is not None
        out.append(
            SegmentSummary(s.book_count or 0, s.book_value or 0.0, s.counted_at) if stored
            else segment_summary(user, s.filter)
        )
    return out


def segments() -> QuerySet[Segment]:
    """Every saved segment: definitions are shared; what each one holds depends on the reader."""
    return Segment.objects.select_related("created_by").order_by("name", "pk")
