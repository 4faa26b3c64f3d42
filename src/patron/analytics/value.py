"""Customer value: profit per customer and per period, and the three value classes.

Profit is *contribution*, not revenue (PRODUCT.md §2)::

    gross_margin  = revenue - cost of goods
    profit        = gross_margin - cost to serve

Cost to serve is the sum of the customer's cost events (support tickets, returns, deliveries,
claims, visits). A customer with cost events but no orders has negative profit: they cost
more than they bring, and the analysis must see them.

The value classes (stable codes, best first, see :data:`VALUE_CLASSES`):

``most_valuable``
    Customers with positive profit whose profit is in the top ``most_valuable_share``
    (default 20%) of the customers with positive profit.
``most_growable``
    Not most valuable, with the largest gap ``predicted - profit`` between predicted future
    value (e.g. CLV over a horizon comparable to the profit window) and current profit: the
    top ``most_growable_share`` (default 20%) of those with a gap above ``min_gap``.
``below_zero``
    Profit below ``below_zero_profit`` (default 0): they cost more than they bring.
``other``
    Everyone else (the core).

Shares are rounded up (``ceil``) so a non-empty pool always yields at least one customer,
and customers tied with the last one admitted are admitted too (a tie is never split).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from patron.analytics import _ibis
from patron.analytics.errors import AnalyticsInputError, check_columns

__all__ = [
    "VALUE_CLASSES",
    "ValueThresholds",
    "classify_value",
    "profit_by_customer",
    "profit_by_period",
]

#: Value classes from best to worst. Migration treats a move right in this tuple as a move down.
VALUE_CLASSES: tuple[str, ...] = ("most_valuable", "most_growable", "other", "below_zero")

_MONEY = ("revenue", "cogs", "gross_margin", "cost_to_serve", "profit")


@dataclass(frozen=True)
class ValueThresholds:
    """Configurable thresholds for :func:`classify_value` (defaults documented in the module).

    most_valuable_share:
        Share (0..1] of the customers with positive profit that are ``most_valuable``.
    most_growable_share:
        Share (0..1] of the eligible customers (gap above ``min_gap``) that are
        ``most_growable``.
    below_zero_profit:
        Profit strictly below this is ``below_zero``. Lower it (e.g. -50) to ignore small
        losses.
    min_gap:
        A customer is growable only if ``predicted - profit`` exceeds this.
    growable_from_below_zero:
        If True, a below-zero customer with a large enough gap (e.g. a new customer whose
        acquisition cost is not yet repaid) is classed ``most_growable`` instead of
        ``below_zero``. Default False: a customer losing money now is flagged as such.
    """

    most_valuable_share: float = 0.20
    most_growable_share: float = 0.20
    below_zero_profit: float = 0.0
    min_gap: float = 0.0
    growable_from_below_zero: bool = False

    def __post_init__(self) -> None:
        for name in ("most_valuable_share", "most_growable_share"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0.0 < v <= 1.0):
                raise AnalyticsInputError(f"{name} must be in (0, 1], got {v!r}")
        for name in ("below_zero_profit", "min_gap"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v)):
                raise AnalyticsInputError(f"{name} must be a finite number, got {v!r}")


def profit_by_customer(
    order_lines: pd.DataFrame,
    cost_events: pd.DataFrame | None = None,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    revenue_col: str = "revenue",
    cogs_col: str = "cogs",
    cost_amount_col: str = "amount",
    cost_customer_col: str | None = None,
    cost_date_col: str | None = None,
    start: object | None = None,
    end: object | None = None,
) -> pd.DataFrame:
    """Revenue, cost of goods, cost to serve and profit per customer.

    ``order_lines`` has one row per order line (or order); ``cost_events`` one row per cost
    event (its customer and date columns default to the same names as the order lines').
    Only rows with ``start <= date < end`` count (either bound optional).

    Returns one row per customer seen in either frame, sorted by customer, with columns
    ``customer_col, revenue, cogs, gross_margin, cost_to_serve, profit``.
    """
    lines, costs = _prepare(
        order_lines,
        cost_events,
        customer_col,
        date_col,
        revenue_col,
        cogs_col,
        cost_amount_col,
        cost_customer_col,
        cost_date_col,
    )
    lo, hi = _bounds(start, end)
    lt, ct = _filter(ibis.memtable(lines), lo, hi), _filter(ibis.memtable(costs), lo, hi)
    sales = lt.group_by("customer").aggregate(revenue=lt.revenue.sum(), cogs=lt.cogs.sum())
    serve = ct.group_by("customer").aggregate(cost_to_serve=ct.amount.sum())
    joined = _outer(sales, serve, ["customer"])
    out = _ibis.execute(_with_profit(joined).order_by("customer"))
    return _finish(out, customer_col, transactions_dtype=order_lines[customer_col].dtype)


def profit_by_period(
    order_lines: pd.DataFrame,
    cost_events: pd.DataFrame | None = None,
    freq: str = "Q",
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    revenue_col: str = "revenue",
    cogs_col: str = "cogs",
    cost_amount_col: str = "amount",
    cost_customer_col: str | None = None,
    cost_date_col: str | None = None,
    start: object | None = None,
    end: object | None = None,
    period_col: str = "period",
) -> pd.DataFrame:
    """Profit per customer and calendar period (``freq``: D, W, M, Q or Y).

    The result is *dense*: every customer has a row for every period from the first period
    with any activity of theirs (order or cost event) to the last period of the data (the
    period holding ``end`` minus one instant, if ``end`` is given). Periods without activity
    have zeros, so a customer who stops buying shows up with profit 0, not as a gap, and
    class migration can see the move.

    Returns a long frame sorted by customer and period with columns ``customer_col``,
    ``period_col`` (pandas ``Period``), ``revenue, cogs, gross_margin, cost_to_serve, profit``.
    """
    code = _ibis.normalize_freq(freq)
    lines, costs = _prepare(
        order_lines,
        cost_events,
        customer_col,
        date_col,
        revenue_col,
        cogs_col,
        cost_amount_col,
        cost_customer_col,
        cost_date_col,
    )
    lo, hi = _bounds(start, end)
    lt, ct = _filter(ibis.memtable(lines), lo, hi), _filter(ibis.memtable(costs), lo, hi)
    lt = lt.mutate(p=_ibis.period_ordinal(lt.date, code))
    ct = ct.mutate(p=_ibis.period_ordinal(ct.date, code))
    sales = lt.group_by(["customer", "p"]).aggregate(revenue=lt.revenue.sum(), cogs=lt.cogs.sum())
    serve = ct.group_by(["customer", "p"]).aggregate(cost_to_serve=ct.amount.sum())
    activity = _outer(sales, serve, ["customer", "p"])

    # The first and last period with activity, from the dates (a period is monotonic in its
    # date) rather than a second pass of the engine over the whole aggregation.
    dates = _dates_within([lines["date"], costs["date"]], lo, hi)
    if dates is None:
        return _empty_periods(customer_col, period_col, order_lines[customer_col].dtype, code)
    first = _ibis.period_of(dates[0], code).ordinal
    last = _ibis.period_of(hi - pd.Timedelta(1, "ns") if hi is not None else dates[1], code).ordinal
    # Densify inside the engine: each customer x every period from their first to the last.
    starts = activity.group_by("customer").aggregate(first=activity.p.min())
    grid_periods = ibis.memtable({"p": np.arange(int(first), int(last) + 1, dtype="int64")})
    grid = starts.cross_join(grid_periods).filter(lambda t: t.p >= t.first).select("customer", "p")
    dense = grid.left_join(activity, ["customer", "p"]).select(
        "customer",
        "p",
        revenue=ibis.coalesce(activity.revenue, 0.0),
        cogs=ibis.coalesce(activity.cogs, 0.0),
        cost_to_serve=ibis.coalesce(activity.cost_to_serve, 0.0),
    )
    out = _ibis.execute(_with_profit(dense).order_by(["customer", "p"]))
    result = _finish(out, customer_col, transactions_dtype=order_lines[customer_col].dtype)
    result.insert(1, period_col, _ibis.periods_from_ordinals(out["p"], code))
    return result


def classify_value(
    frame: pd.DataFrame,
    profit_col: str = "profit",
    predicted_col: str | None = None,
    thresholds: ValueThresholds | None = None,
    *,
    by: str | list[str] | None = None,
    class_col: str = "value_class",
    gap_col: str = "value_gap",
) -> pd.DataFrame:
    """Add the value class (and, with ``predicted_col``, the gap) to a copy of ``frame``.

    ``frame`` has one row per customer (or per customer and period, with ``by`` naming the
    period column: shares are then computed within each period, so the output feeds
    :mod:`patron.analytics.migration` directly). ``predicted_col`` holds predicted future
    value, e.g. CLV; without it nobody is ``most_growable``. A missing prediction (NaN)
    means "not growable", a missing profit is an error.

    ``class_col`` is a categorical over :data:`VALUE_CLASSES`; ``gap_col`` is
    ``predicted - profit``.
    """
    th = thresholds if thresholds is not None else ValueThresholds()
    by_cols = [by] if isinstance(by, str) else list(by or [])
    check_columns(frame, [profit_col, *by_cols, *([predicted_col] if predicted_col else [])])
    profit = _numeric(frame[profit_col], profit_col, allow_nan=False)
    predicted = (
        _numeric(frame[predicted_col], predicted_col, allow_nan=True) if predicted_col else None
    )

    labels = np.full(len(frame), VALUE_CLASSES.index("other"), dtype="int8")
    groups = (
        frame.groupby(by_cols, sort=False, dropna=False).indices
        if by_cols
        else {None: np.arange(len(frame))}
    )
    for idx in groups.values():
        labels[idx] = _classify(profit[idx], None if predicted is None else predicted[idx], th)

    out = frame.copy()
    if predicted is not None:
        out[gap_col] = predicted - profit
    out[class_col] = pd.Categorical.from_codes(labels, pd.Index(VALUE_CLASSES))
    return out


def _classify(profit: np.ndarray, predicted: np.ndarray | None, th: ValueThresholds) -> np.ndarray:
    mv, mg, other, bz = range(4)
    labels = np.full(len(profit), other, dtype="int8")
    below = profit < th.below_zero_profit
    labels[below] = bz
    top = _top_share(profit, profit > 0, th.most_valuable_share)
    labels[top] = mv
    if predicted is not None:
        gap = predicted - profit
        eligible = ~top & ~np.isnan(gap) & (gap > th.min_gap)
        if not th.growable_from_below_zero:
            eligible &= ~below
        labels[_top_share(gap, eligible, th.most_growable_share)] = mg
    return labels


def _top_share(values: np.ndarray, pool: np.ndarray, share: float) -> np.ndarray:
    """Mask of the top ``ceil(share * |pool|)`` of ``values`` within ``pool``, ties included."""
    n = int(pool.sum())
    if n == 0:
        return np.zeros(len(values), dtype=bool)
    # The epsilon keeps 0.2 * 15 = 3.0000000000000004 from rounding up to 4.
    k = max(1, math.ceil(share * n - 1e-9))
    cutoff = np.sort(values[pool])[::-1][k - 1]
    return pool & (values >= cutoff)


def _numeric(s: pd.Series, name: str | None, *, allow_nan: bool) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        raise AnalyticsInputError(f"column {name!r} must be numeric, got dtype {s.dtype}")
    arr = s.to_numpy(dtype="float64", na_value=np.nan)
    if not allow_nan and np.isnan(arr).any():
        raise AnalyticsInputError(
            f"column {name!r} has {int(np.isnan(arr).sum())} missing value(s)"
        )
    if np.isinf(arr).any():
        raise AnalyticsInputError(f"column {name!r} has infinite value(s)")
    return arr


def _prepare(
    order_lines: pd.DataFrame,
    cost_events: pd.DataFrame | None,
    customer_col: str,
    date_col: str,
    revenue_col: str,
    cogs_col: str,
    cost_amount_col: str,
    cost_customer_col: str | None,
    cost_date_col: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = _ibis.prepare(
        order_lines,
        name="order_lines",
        keys={"customer": customer_col},
        dates={"date": date_col},
        numbers={"revenue": revenue_col, "cogs": cogs_col},
    )
    if cost_events is None:
        costs = pd.DataFrame(
            {
                "customer": lines["customer"].iloc[:0],
                "date": lines["date"].iloc[:0],
                "amount": pd.Series([], dtype="float64"),
            }
        )
    else:
        costs = _ibis.prepare(
            cost_events,
            name="cost_events",
            keys={"customer": cost_customer_col or customer_col},
            dates={"date": cost_date_col or date_col},
            numbers={"amount": cost_amount_col},
        )
        if len(costs) and len(lines) and not _same_kind(lines["customer"], costs["customer"]):
            raise AnalyticsInputError(
                "customer ids in order_lines and cost_events have different types "
                f"({lines['customer'].dtype} vs {costs['customer'].dtype})"
            )
        if len(lines) == 0:
            lines = lines.astype({"customer": costs["customer"].dtype})
        elif len(costs) == 0:
            costs = costs.astype({"customer": lines["customer"].dtype})
    return lines, costs


def _same_kind(a: pd.Series, b: pd.Series) -> bool:
    num = pd.api.types.is_numeric_dtype
    return (num(a) and num(b)) or (not num(a) and not num(b))


def _bounds(
    start: object | None, end: object | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    lo = _ibis.to_naive_timestamp(start) if start is not None else None
    hi = _ibis.to_naive_timestamp(end) if end is not None else None
    if lo is not None and hi is not None and hi <= lo:
        raise AnalyticsInputError(f"end ({hi}) must be after start ({lo})")
    return lo, hi


def _filter(t: ir.Table, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> ir.Table:
    if lo is not None:
        t = t.filter(t.date >= lo.to_pydatetime())
    if hi is not None:
        t = t.filter(t.date < hi.to_pydatetime())
    return t


def _dates_within(
    columns: list[pd.Series], lo: pd.Timestamp | None, hi: pd.Timestamp | None
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The earliest and latest date in ``[lo, hi)`` over the columns, or None if there is none."""
    lows, highs = [], []
    for dates in columns:
        if lo is not None:
            dates = dates[dates >= lo]
        if hi is not None:
            dates = dates[dates < hi]
        dates = dates.dropna()
        if len(dates):
            lows.append(dates.min())
            highs.append(dates.max())
    return (min(lows), max(highs)) if lows else None


def _outer(a: ir.Table, b: ir.Table, keys: list[str]) -> ir.Table:
    j = a.outer_join(b, keys)
    return j.select(
        *[ibis.coalesce(a[k], b[k]).name(k) for k in keys],
        revenue=ibis.coalesce(a.revenue, 0.0),
        cogs=ibis.coalesce(a.cogs, 0.0),
        cost_to_serve=ibis.coalesce(b.cost_to_serve, 0.0),
    )


def _with_profit(t: ir.Table) -> ir.Table:
    return t.mutate(gross_margin=t.revenue - t.cogs).mutate(
        profit=lambda s: s.gross_margin - s.cost_to_serve
    )


def _finish(out: pd.DataFrame, customer_col: str, transactions_dtype: object) -> pd.DataFrame:
    customers = out["customer"]
    if len(customers) == 0:  # keep the caller's id type even when nothing matched
        customers = customers.astype(transactions_dtype)  # type: ignore[call-overload]
    result = pd.DataFrame({customer_col: customers.reset_index(drop=True)})
    for c in _MONEY:
        result[c] = out[c].to_numpy(dtype="float64")
    return result


def _empty_periods(customer_col: str, period_col: str, dtype: object, code: str) -> pd.DataFrame:
    result = pd.DataFrame({customer_col: pd.Series([], dtype=dtype)})  # type: ignore[call-overload]
    result[period_col] = pd.PeriodIndex([], freq=code)
    for c in _MONEY:
        result[c] = pd.Series([], dtype="float64")
    return result
