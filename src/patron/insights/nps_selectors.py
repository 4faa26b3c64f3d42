"""Reads for the NPS analytics page, also meant for home pages and dashboards.

Every figure is counted in the database (promoters, passives and detractors per group, sums of
weights), never by loading responses into Python, and starts from ``visible_responses(user)``:
customers in ``visible_customers(user)``, plus anonymous answers for the organisation-wide roles.
Only answers to NPS surveys count.

The page's default view (no survey, date or branch filter) reads precomputed figures instead
(:func:`precomputed`, then :func:`summary_from`, :func:`trend_from`, :func:`breakdowns_from`,
:func:`value_from`, :func:`group_comparison_from`): the same numbers as of the last refresh
(``insights.nps_refresh``), in a few queries whatever the number of answers. Filtered views and
period comparisons are counted live.

For other pages: :func:`nps_summary` (one query) and :func:`nps_trend` (one query), always live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast

from django.db.models import Count, F, FloatField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce, Greatest, Trunc
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from patron.analytics.nps import (
    NPSComparison,
    NPSResult,
    WeightedNPSResult,
    compare_nps,
    nps_from_counts,
    weighted_nps_from_sums,
)
from patron.core.models import Branch, Region, User
from patron.customers.selectors import customer_scope
from patron.feedback.models import (
    Channel,
    NpsFigures,
    Response,
    ScoreClass,
    SurveyKind,
    Touchpoint,
)
from patron.feedback.selectors import sees_anonymous, visible_responses
from patron.insights.labels import RFM_SEGMENTS
from patron.insights.models import ValueClass

PERIODS: dict[str, Promise] = {"week": _("Week"), "month": _("Month"), "quarter": _("Quarter")}

# What value-weighted NPS weighs each customer by (CurrentScore fields of the insights app).
WEIGHTS: dict[str, tuple[str, Promise]] = {
    "clv": ("customer__score__clv", _("predicted lifetime value (CLV)")),
    "margin": ("customer__score__profit_12m", _("margin of the last 12 months")),
}

_PROMOTER = Q(score_class=ScoreClass.PROMOTER)
_PASSIVE = Q(score_class=ScoreClass.PASSIVE)
_DETRACTOR = Q(score_class=ScoreClass.DETRACTOR)
_CLASSES = {"promoters": _PROMOTER, "passives": _PASSIVE, "detractors": _DETRACTOR}


def _counts() -> dict[str, Any]:
    return {
        "promoters": Count("pk", filter=_PROMOTER),
        "passives": Count("pk", filter=_PASSIVE),
        "detractors": Count("pk", filter=_DETRACTOR),
    }


def _result(row: dict[str, Any]) -> NPSResult:
    return nps_from_counts(
        int(row["promoters"] or 0), int(row["passives"] or 0), int(row["detractors"] or 0)
    )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class NPSFilters:
    """The page's filters; ``start`` and ``end`` are days, both included."""

    survey: int | None = None
    start: date | None = None
    end: date | None = None
    branch: int | None = None

    def apply(self, qs: QuerySet[Response]) -> QuerySet[Response]:
        if self.survey:
            qs = qs.filter(survey_id=self.survey)
        if self.start:
            qs = qs.filter(created_at__gte=_day_start(self.start))
        if self.end:
            qs = qs.filter(created_at__lt=_day_start(self.end + timedelta(days=1)))
        if self.branch:
            qs = qs.filter(
                Q(branch_id=self.branch) | Q(branch__isnull=True, customer__branch_id=self.branch)
            )
        return qs


def nps_responses(user: User, filters: NPSFilters | None = None) -> QuerySet[Response]:
    """The NPS answers ``user`` may see, filtered."""
    qs = visible_responses(user).filter(survey__kind=SurveyKind.NPS)
    return (filters or NPSFilters()).apply(qs)


def nps_summary(
    user: User, since: date | None = None, filters: NPSFilters | None = None
) -> NPSResult:
    """NPS, margin of error (``moe``) and sample size (``n``) over the answers ``user`` may see,
    from ``since`` (a day) on; one query."""
    filters = filters or NPSFilters()
    if since is not None:
        filters = replace(filters, start=max(since, filters.start) if filters.start else since)
    return _result(nps_responses(user, filters).aggregate(**_counts()))


# ---------------------------------------------------------------- trend


@dataclass(frozen=True)
class TrendPoint:
    start: date
    end: date  # first day of the next period
    label: str
    result: NPSResult


def _period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, day.month, 1)


def _next_period(day: date, period: str) -> date:
    if period == "week":
        return day + timedelta(days=7)
    months = 3 if period == "quarter" else 1
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _period_label(day: date, period: str) -> str:
    if period == "week":
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def _as_day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def nps_trend(
    user: User,
    *,
    period: str = "month",
    since: date | None = None,
    filters: NPSFilters | None = None,
) -> list[TrendPoint]:
    """NPS per week, month or quarter with its confidence band (``result.ci_low``..``ci_high``);
    one query. Periods without answers between the first and last are included with ``n = 0``
    so a chart shows a gap."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    filters = filters or NPSFilters()
    if since is not None:
        filters = replace(filters, start=max(since, filters.start) if filters.start else since)
    rows = (
        nps_responses(user, filters)
        .annotate(period=Trunc("created_at", period))
        .values("period")
        .annotate(**_counts())
        .order_by("period")
    )
    found: dict[date, NPSResult] = {}
    for row in cast(list[dict[str, Any]], list(rows)):
        day = _period_start(_as_day(row["period"]), period)
        earlier = found.get(day)
        result = _result(row)
        if earlier is not None:  # two database periods on one local day (time-zone edge): merge
            result = nps_from_counts(
                earlier.promoters + result.promoters,
                earlier.passives + result.passives,
                earlier.detractors + result.detractors,
            )
        found[day] = result
    return _trend_points(found, period)


def _trend_points(found: dict[date, NPSResult], period: str) -> list[TrendPoint]:
    """Every period from the first to the last with answers, gaps with ``n = 0``."""
    if not found:
        return []
    points = []
    empty = _nps_of_counts(0, 0, 0)  # a gap; a rep's weekly trend has a hundred or more
    day, last = min(found), max(found)
    while day <= last:
        following = _next_period(day, period)
        points.append(
            TrendPoint(day, following, _period_label(day, period), found.get(day) or empty)
        )
        day = following
    return points


# ---------------------------------------------------------------- breakdowns


@dataclass(frozen=True)
class Dimension:
    code: str
    label: Promise
    expression: Any  # what the answers are grouped by
    numeric: bool = False  # keys are ids (branch, region, user), else text codes


DIMENSIONS: dict[str, Dimension] = {
    d.code: d
    for d in [
        Dimension("touchpoint", _("Touchpoint"), F("touchpoint")),
        Dimension("channel", _("Channel"), F("channel")),
        # Where the answer was given (kiosk, invitation), else the customer's branch.
        Dimension(
            "branch", _("Branch"), Coalesce("branch_id", "customer__branch_id"), numeric=True
        ),
        Dimension(
            "region",
            _("Region"),
            Coalesce("branch__region_id", "customer__region_id"),
            numeric=True,
        ),
        Dimension("rep", _("Rep (owner)"), F("customer__owner_id"), numeric=True),
        Dimension("segment", _("Segment (RFM)"), F("customer__score__rfm_segment")),
        Dimension("value_class", _("Value class"), F("customer__score__value_class")),
    ]
}


@dataclass(frozen=True)
class BreakdownRow:
    key: str | int | None  # None: not set (anonymous answer, customer not scored, no branch ...)
    label: str
    result: NPSResult


@dataclass(frozen=True)
class Breakdown:
    dimension: Dimension
    rows: list[BreakdownRow]


def _is_unset(key: object) -> bool:
    return key is None or key == ""


def filter_by_key(
    qs: QuerySet[Response], dimension: str, key: str | int | None
) -> QuerySet[Response]:
    """The answers behind one breakdown row (``key`` None or "" for the row of unset values)."""
    dim = DIMENSIONS[dimension]
    qs = qs.annotate(_group=dim.expression)
    if _is_unset(key):
        return (
            qs.filter(_group__isnull=True)
            if dim.numeric
            else qs.filter(Q(_group__isnull=True) | Q(_group=""))
        )
    return qs.filter(_group=key)


def _grouped(qs: QuerySet[Response], dimension: Dimension) -> dict[Any, NPSResult]:
    rows = (
        qs.annotate(_group=dimension.expression).values("_group").annotate(**_counts()).order_by()
    )
    merged: dict[Any, list[int]] = {}
    for row in cast(list[dict[str, Any]], list(rows)):
        key = None if _is_unset(row["_group"]) else row["_group"]
        counts = merged.setdefault(key, [0, 0, 0])
        counts[0] += int(row["promoters"])
        counts[1] += int(row["passives"])
        counts[2] += int(row["detractors"])
    return {k: nps_from_counts(*v) for k, v in merged.items()}


def _labels(dimension: str, keys: Iterable[Any]) -> dict[Any, str]:
    keys = [k for k in keys if k is not None]
    if dimension == "touchpoint":
        return {k: str(Touchpoint(k).label) if k in Touchpoint.values else str(k) for k in keys}
    if dimension == "channel":
        return {k: str(Channel(k).label) if k in Channel.values else str(k) for k in keys}
    if dimension == "segment":
        return {k: str(RFM_SEGMENTS.get(k, k)) for k in keys}
    if dimension == "value_class":
        return {k: str(ValueClass(k).label) if k in ValueClass.values else str(k) for k in keys}
    if not keys:
        return {}
    if dimension == "branch":
        return dict(Branch.objects.filter(pk__in=keys).values_list("pk", "name"))
    if dimension == "region":
        return dict(Region.objects.filter(pk__in=keys).values_list("pk", "name"))
    if dimension == "rep":
        return {
            u.pk: str(u)
            for u in User.objects.filter(pk__in=keys).only(
                "pk", "username", "first_name", "last_name"
            )
        }
    raise KeyError(dimension)


def nps_breakdown(user: User, dimension: str, filters: NPSFilters | None = None) -> Breakdown:
    """NPS per group of ``dimension`` (a key of :data:`DIMENSIONS`), largest groups first;
    one query (two for branch, region and rep, which look up names)."""
    dim = DIMENSIONS[dimension]
    return _breakdown(dim, _grouped(nps_responses(user, filters), dim))


def _breakdown(dim: Dimension, results: dict[Any, NPSResult]) -> Breakdown:
    """Rows with their labels (a query for branch, region and rep names), largest first."""
    labels = _labels(dim.code, results)
    unset = str(_("Not set"))
    rows = [
        BreakdownRow(k, labels.get(k, unset if k is None else str(k)), r)
        for k, r in results.items()
    ]
    rows.sort(key=lambda r: (r.key is None, -r.result.n, r.label))
    return Breakdown(dim, rows)


def group_label(dimension: str, key: str | int | None) -> str:
    """ "Branch: North One": what a breakdown row is called, for one key."""
    dim = DIMENSIONS[dimension]
    name = str(_("Not set")) if _is_unset(key) else _labels(dimension, [key]).get(key, str(key))
    return f"{dim.label}: {name}"


def nps_of_answers(qs: QuerySet[Response]) -> NPSResult:
    """NPS of answers already filtered (e.g. with :func:`filter_by_key`); one query."""
    return _result(qs.order_by().aggregate(**_counts()))


def nps_breakdowns(user: User, filters: NPSFilters | None = None) -> list[Breakdown]:
    return [nps_breakdown(user, code, filters) for code in DIMENSIONS]


# ---------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class Comparison:
    label_a: str
    label_b: str
    a: NPSResult
    b: NPSResult
    test: NPSComparison | None  # None when a side has no answers


def nps_compare(
    user: User,
    filters: NPSFilters,
    *,
    a: NPSFilters | None = None,
    b: NPSFilters | None = None,
    dimension: str | None = None,
    key_a: str | int | None = None,
    key_b: str | int | None = None,
    label_a: str = "",
    label_b: str = "",
) -> Comparison:
    """Two periods (``a``/``b`` replace the page's filters) or two groups of ``dimension``
    (``key_a``/``key_b`` within the page's filters); a Wald z-test on the difference. One query
    for two periods (the page's default comparison), two for groups."""
    a, b = a or filters, b or filters
    if dimension is None and _dates_only_differ(a, b):
        ra, rb = _period_results(user, a, b)
    else:
        qs_a, qs_b = nps_responses(user, a), nps_responses(user, b)
        if dimension is not None:
            qs_a = filter_by_key(qs_a, dimension, key_a)
            qs_b = filter_by_key(qs_b, dimension, key_b)
        ra, rb = _result(qs_a.aggregate(**_counts())), _result(qs_b.aggregate(**_counts()))
    test = compare_nps(ra, rb) if ra.n and rb.n else None
    return Comparison(label_a, label_b, ra, rb, test)


def _dates_only_differ(a: NPSFilters, b: NPSFilters) -> bool:
    bounded = None not in (a.start, a.end, b.start, b.end)
    return bounded and replace(a, start=None, end=None) == replace(b, start=None, end=None)


def _days(start: date | None, end: date | None) -> Q:
    assert start is not None and end is not None  # _dates_only_differ checked it
    return Q(created_at__gte=_day_start(start), created_at__lt=_day_start(end + timedelta(days=1)))


def _period_results(user: User, a: NPSFilters, b: NPSFilters) -> tuple[NPSResult, NPSResult]:
    """Both periods' counts in one pass over the answers from the earlier start to the later end."""
    in_a, in_b = _days(a.start, a.end), _days(b.start, b.end)
    span = replace(a, start=min(a.start, b.start), end=max(a.end, b.end))  # type: ignore[type-var]
    row = nps_responses(user, span).aggregate(
        **{f"a_{k}": Count("pk", filter=q & in_a) for k, q in _CLASSES.items()},
        **{f"b_{k}": Count("pk", filter=q & in_b) for k, q in _CLASSES.items()},
    )
    return (
        _result({k: row[f"a_{k}"] for k in _CLASSES}),
        _result({k: row[f"b_{k}"] for k in _CLASSES}),
    )


# ---------------------------------------------------------------- value


@dataclass(frozen=True)
class ValueFigures:
    """Over customers, each with their latest NPS answer within the filters."""

    weight: str  # a key of WEIGHTS
    weighted: WeightedNPSResult
    customers: int
    weighted_customers: int  # customers whose weight is above 0
    detractor_customers: int
    unscored_detractors: int  # detractors without a churn risk or margin: left out of the risk
    revenue_at_risk: float  # sum over detractor customers of max(margin 12 m, 0) x churn risk


def value_figures(
    user: User, filters: NPSFilters | None = None, *, weight: str = "clv"
) -> ValueFigures:
    """Value-weighted NPS and revenue at risk from detractors, in one query."""
    filters = filters or NPSFilters()
    path = WEIGHTS[weight][0]
    latest = (
        filters.apply(
            Response.objects.filter(
                customer_id=OuterRef("customer_id"), survey__kind=SurveyKind.NPS
            )
        )
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )
    qs = nps_responses(user, filters).filter(customer__isnull=False, pk=Subquery(latest))
    zero = Value(0.0, output_field=FloatField())
    w = Greatest(Coalesce(F(path), zero), zero, output_field=FloatField())
    margin = Greatest(
        Coalesce(F("customer__score__profit_12m"), zero), zero, output_field=FloatField()
    )
    risk = margin * Coalesce(F("customer__score__churn_risk"), zero)
    row = qs.aggregate(
        n=Count("pk"),
        weighted_n=Count("pk", filter=Q(**{f"{path}__gt": 0})),
        w_p=Sum(w, filter=_PROMOTER),
        w_pa=Sum(w, filter=_PASSIVE),
        w_d=Sum(w, filter=_DETRACTOR),
        w_sq=Sum(w * w),
        detractors=Count("pk", filter=_DETRACTOR),
        unscored=Count(
            "pk",
            filter=_DETRACTOR
            & (
                Q(customer__score__churn_risk__isnull=True)
                | Q(customer__score__profit_12m__isnull=True)
            ),
        ),
        risk=Sum(risk, filter=_DETRACTOR, output_field=FloatField()),
    )
    return _value_figures(weight, row)


def _value_figures(weight: str, row: dict[str, Any]) -> ValueFigures:
    weighted = weighted_nps_from_sums(
        float(row["w_p"] or 0),
        float(row["w_pa"] or 0),
        float(row["w_d"] or 0),
        float(row["w_sq"] or 0),
        int(row["n"] or 0),
    )
    return ValueFigures(
        weight=weight,
        weighted=weighted,
        customers=int(row["n"] or 0),
        weighted_customers=int(row["weighted_n"] or 0),
        detractor_customers=int(row["detractors"] or 0),
        unscored_detractors=int(row["unscored"] or 0),
        revenue_at_risk=float(row["risk"] or 0.0),
    )


# ---------------------------------------------------------------- precomputed (the default view)


@dataclass(frozen=True)
class Precomputed:
    """The default view's figures (no survey, date or branch filter) over what a user may see,
    as of ``computed_at`` (``insights.nps_refresh``); in the form of ``insights.nps_figures``."""

    computed_at: datetime
    figures: dict[str, Any]


def precomputed(user: User, part: str | None = None) -> Precomputed | None:
    """The user's precomputed figures; None before the first computation (pages count live).

    Roles that see every answer read the total row (one query). Others read (three queries,
    whatever the number of answers) the rows their ``customer_scope`` selects: the (branch,
    region) pairs it selects whatever the owner (a manager's branches and regions: a few rows),
    then the (owner, branch, region) slices it selects outside those pairs (customers they own
    elsewhere; a rep's customers). This relies on the scope being "owner is the user OR a
    condition on branch and region", which a pair row (no owner) meets exactly when every
    customer of the pair is visible.

    ``part``: only that key of the figures (e.g. "themes" for the themes page), read from the
    database as such, so the rest is neither decoded nor summed; None as well when the figures
    were computed before that part existed.
    """
    # Imported here: the figures module brings pandas, which the home pages never need.
    from patron.insights.nps_figures import add

    kind = NpsFigures.Kind
    scope = customer_scope(user)
    figures: Any = "figures" if part is None else KeyTransform(part, "figures")
    total = NpsFigures.objects.filter(kind=kind.TOTAL)
    if part is not None:  # figures computed before ``part`` existed: as if there were none
        total = total.filter(figures__has_key=part)
    if scope is None:
        row = total.values_list("computed_at", figures).first()
        return None if row is None else Precomputed(row[0], _part(row[1], part))
    computed_at = total.values_list("computed_at", flat=True).first()
    if computed_at is None:
        return None
    pairs = list(
        NpsFigures.objects.filter(kind=kind.PAIR)
        .filter(scope)
        .values_list("branch_id", "region_id", "computed_at", figures)
    )
    rows = Q(kind=kind.SLICE) & scope
    for branch_id, region_id, _at, _f in pairs:
        rows &= ~Q(branch_id=branch_id, region_id=region_id)
    if sees_anonymous(user):
        rows |= Q(kind=kind.ANONYMOUS)
    slices = list(NpsFigures.objects.filter(rows).values_list("computed_at", figures))
    parts = [(at, _part(f, part)) for _b, _r, at, f in pairs] + [
        (at, _part(f, part)) for at, f in slices
    ]
    if parts:  # a refresh may have committed between the queries
        computed_at = max(at for at, _f in parts)
    return Precomputed(computed_at=computed_at, figures=add(f for _at, f in parts))


def _part(figures: Any, part: str | None) -> dict[str, Any]:
    """A row's figures, or only ``part`` of them under its own key (nothing when missing)."""
    if part is None:
        return cast(dict[str, Any], figures)
    return {} if figures is None else {part: figures}


def _counts_result(counts: list[int] | None) -> NPSResult:
    p, pa, d = counts or (0, 0, 0)
    return _nps_of_counts(int(p), int(pa), int(d))


@lru_cache(maxsize=8192)
def _nps_of_counts(p: int, pa: int, d: int) -> NPSResult:
    # The same counts give the same (frozen) result; the precomputed figures repeat between
    # refreshes, and each result otherwise costs a SciPy quantile call (~0.4 ms; a weekly page
    # has some 400).
    return nps_from_counts(p, pa, d)


def summary_from(figures: dict[str, Any]) -> NPSResult:
    return _counts_result(figures.get("counts"))


def trend_from(figures: dict[str, Any], period: str = "month") -> list[TrendPoint]:
    """As :func:`nps_trend` without filters, from precomputed figures."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    stored = (figures.get("trend") or {}).get(period) or {}
    return _trend_points(
        {date.fromisoformat(k): _counts_result(v) for k, v in stored.items()}, period
    )


def _stored_key(dim: Dimension, key: str) -> str | int | None:
    if key == "":
        return None
    return int(key) if dim.numeric else key


def _results_from(figures: dict[str, Any], dim: Dimension) -> dict[Any, NPSResult]:
    stored = (figures.get("breakdowns") or {}).get(dim.code) or {}
    return {_stored_key(dim, k): _counts_result(v) for k, v in stored.items()}


def breakdowns_from(figures: dict[str, Any]) -> list[Breakdown]:
    """As :func:`nps_breakdowns` without filters, from precomputed figures (labels: 3 queries)."""
    return [_breakdown(dim, _results_from(figures, dim)) for dim in DIMENSIONS.values()]


_VALUE_FIELDS = ("n", "weighted_n", "w_p", "w_pa", "w_d", "w_sq", "detractors", "unscored", "risk")


def value_from(figures: dict[str, Any], weight: str = "clv") -> ValueFigures:
    """As :func:`value_figures` without filters, from precomputed figures."""
    if weight not in WEIGHTS:
        raise KeyError(weight)
    row = (figures.get("value") or {}).get(weight) or {}
    return _value_figures(weight, {k: row.get(k, 0) for k in _VALUE_FIELDS})


def group_comparison_from(
    figures: dict[str, Any],
    dimension: str,
    key_a: str | int | None,
    key_b: str | int | None,
    *,
    label_a: str = "",
    label_b: str = "",
) -> Comparison:
    """As :func:`nps_compare` of two groups without filters, from precomputed figures."""
    results = _results_from(figures, DIMENSIONS[dimension])
    empty = nps_from_counts(0, 0, 0)
    ra = results.get(None if _is_unset(key_a) else key_a, empty)
    rb = results.get(None if _is_unset(key_b) else key_b, empty)
    test = compare_nps(ra, rb) if ra.n and rb.n else None
    return Comparison(label_a, label_b, ra, rb, test)
