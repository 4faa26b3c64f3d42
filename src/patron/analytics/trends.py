"""Purchase trends per customer: is this customer growing or shrinking?

* :func:`purchases_by_period` - purchases (and spend) per customer and calendar period, dense
  (zeros for quiet periods) from the customer's first purchase to the last period.
* :func:`repeat_purchase_frequency` - purchases per period over the customer's life so far.
* :func:`incremental_spend` - spend in a period against the previous comparable period (the
  period before, or the same period a year earlier), absolute and in percent.
* :func:`purchase_trend` - the least-squares slope of purchases per period over the last ``k``
  periods and a growing / stable / shrinking label (rule in :func:`purchase_trend`).

A *purchase* is a row of ``transactions``, or a distinct order when ``order_col`` is given.
"The last period" defaults to the period holding the latest transaction; that period may be
incomplete, which depresses its count - pass ``last_period`` to end on a complete period.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from patron.analytics import _ibis
from patron.analytics.errors import AnalyticsInputError

__all__ = [
    "TREND_LABELS",
    "incremental_spend",
    "purchase_trend",
    "purchases_by_period",
    "repeat_purchase_frequency",
]

#: Labels of :func:`purchase_trend`, as stable codes.
TREND_LABELS: tuple[str, ...] = ("growing", "stable", "shrinking", "inactive", "insufficient")


def purchases_by_period(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    freq: str = "M",
    *,
    order_col: str | None = None,
    last_period: object | None = None,
    period_col: str = "period",
) -> pd.DataFrame:
    """Purchases (and spend, if ``amount_col``) per customer and period, zeros included.

    Rows run from each customer's first purchase period to ``last_period``; transactions
    after ``last_period`` are ignored. Columns: ``customer_col``, ``period_col``,
    ``purchases`` and, with an amount column, ``spend``.
    """
    code = _ibis.normalize_freq(freq)
    t, last = _load(transactions, customer_col, date_col, amount_col, order_col, code, last_period)
    if last is None:
        return _empty(
            transactions,
            customer_col,
            [period_col, "purchases", *(["spend"] if amount_col else [])],
            code,
            period_col,
        )
    counts = _per_period(t, order_col is not None, amount_col is not None)
    first = counts.group_by("customer").aggregate(first=counts.p.min())
    lo = int(_ibis.execute(first.aggregate(m=first["first"].min()))["m"].iloc[0])
    periods = ibis.memtable({"p": np.arange(lo, last + 1, dtype="int64")})
    grid = first.cross_join(periods).filter(lambda g: g.p >= g["first"]).select("customer", "p")
    values = {"purchases": ibis.coalesce(counts.purchases, 0)}
    if amount_col is not None:
        values["spend"] = ibis.coalesce(counts.spend, 0.0)
    dense = grid.left_join(counts, ["customer", "p"]).select("customer", "p", **values)
    out = _ibis.execute(dense.order_by(["customer", "p"]))
    result = pd.DataFrame({customer_col: out["customer"].to_numpy()})
    result[period_col] = _ibis.periods_from_ordinals(out["p"], code)
    result["purchases"] = out["purchases"].to_numpy(dtype="int64")
    if amount_col is not None:
        result["spend"] = out["spend"].to_numpy(dtype="float64")
    return result


def repeat_purchase_frequency(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    freq: str = "M",
    *,
    order_col: str | None = None,
    last_period: object | None = None,
) -> pd.DataFrame:
    """Purchases per period for each customer since their first purchase.

    Columns: ``customer_col``, ``first_period``, ``n_periods`` (periods from the first
    purchase to ``last_period`` inclusive), ``active_periods`` (periods with a purchase),
    ``purchases``, ``repeat_purchases`` (purchases - 1) and
    ``purchases_per_period = purchases / n_periods``.
    """
    code = _ibis.normalize_freq(freq)
    cols = [
        "first_period",
        "n_periods",
        "active_periods",
        "purchases",
        "repeat_purchases",
        "purchases_per_period",
    ]
    t, last = _load(transactions, customer_col, date_col, None, order_col, code, last_period)
    if last is None:
        return _empty(transactions, customer_col, cols, code, "first_period")
    counts = _per_period(t, order_col is not None, False)
    per = counts.group_by("customer").aggregate(
        first=counts.p.min(), active_periods=counts.count(), purchases=counts.purchases.sum()
    )
    out = _ibis.execute(per.order_by("customer"))
    first = out["first"].to_numpy(dtype="int64")
    purchases = out["purchases"].to_numpy(dtype="int64")
    n_periods = last - first + 1
    return pd.DataFrame(
        {
            customer_col: out["customer"].to_numpy(),
            "first_period": _ibis.periods_from_ordinals(first, code),
            "n_periods": n_periods,
            "active_periods": out["active_periods"].to_numpy(dtype="int64"),
            "purchases": purchases,
            "repeat_purchases": purchases - 1,
            "purchases_per_period": purchases / n_periods,
        }
    )


def incremental_spend(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    freq: str = "Q",
    *,
    period: object | None = None,
    compare: str = "previous",
) -> pd.DataFrame:
    """Spend in ``period`` against the comparable earlier period, per customer.

    ``compare="previous"`` compares with the period just before; ``"year_ago"`` with the same
    period one year earlier (removes seasonality; needs ``freq`` D excluded: M, Q or W uses
    12, 4 or 52 periods back, Y one year). ``period`` defaults to the period of the latest
    transaction.

    Returns one row per customer with spend in either period: ``spend_current``,
    ``spend_previous``, ``incremental_spend = current - previous`` and
    ``incremental_pct = 100 * (current - previous) / previous`` (NaN when previous spend is
    not positive: growth from nothing has no percentage). ``attrs`` records both periods.
    """
    code = _ibis.normalize_freq(freq)
    if compare not in ("previous", "year_ago"):
        raise AnalyticsInputError(f"compare must be 'previous' or 'year_ago', got {compare!r}")
    if compare == "year_ago" and code == "D":
        raise AnalyticsInputError("compare='year_ago' needs freq W, M, Q or Y, not D")
    lag = 1 if compare == "previous" else {"W": 52, "M": 12, "Q": 4, "Y": 1}[code]
    t, cur = _load(transactions, customer_col, date_col, amount_col, None, code, period)
    cols = ["spend_current", "spend_previous", "incremental_spend", "incremental_pct"]
    if cur is None:
        return _empty(transactions, customer_col, cols, code, None)
    prev = cur - lag
    t = t.filter(t.p.isin([cur, prev]))
    per = t.group_by("customer").aggregate(
        spend_current=(t.p == cur).ifelse(t.amount, 0.0).sum(),
        spend_previous=(t.p == prev).ifelse(t.amount, 0.0).sum(),
    )
    out = _ibis.execute(per.order_by("customer"))
    current = out["spend_current"].to_numpy(dtype="float64")
    previous = out["spend_previous"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(previous > 0, 100.0 * (current - previous) / previous, np.nan)
    result = pd.DataFrame(
        {
            customer_col: out["customer"].to_numpy(),
            "spend_current": current,
            "spend_previous": previous,
            "incremental_spend": current - previous,
            "incremental_pct": pct,
        }
    )
    periods = _ibis.periods_from_ordinals([cur, prev], code)
    result.attrs.update(current_period=periods[0], previous_period=periods[1])
    return result


def purchase_trend(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    freq: str = "M",
    *,
    k: int = 6,
    last_period: object | None = None,
    order_col: str | None = None,
    threshold: float = 0.10,
    min_periods: int = 3,
) -> pd.DataFrame:
    """Slope of purchases per period over the last ``k`` periods, and a trend label.

    The window is the ``k`` periods ending at ``last_period``, cut at the customer's first
    purchase (periods before a customer existed are not zeros). ``slope`` is the ordinary
    least-squares slope of the purchase count on the period index (quiet periods count 0),
    in purchases per period per period; ``relative_slope = slope / mean`` expresses it as a
    share of the customer's own average rate in the window. The label:

    * ``insufficient`` - fewer than ``min_periods`` periods in the window (new customer);
    * ``inactive`` - no purchase in the window;
    * ``growing`` - ``relative_slope >= threshold`` (default 0.10: the rate rises by at least
      10% of its average every period);
    * ``shrinking`` - ``relative_slope <= -threshold``;
    * ``stable`` - otherwise.

    The rule is descriptive, not a significance test: with few purchases one purchase more or
    less can flip the label, which is why it is scaled by the customer's own rate and needs
    ``min_periods`` periods.

    Columns: ``customer_col``, ``n_periods``, ``purchases``, ``mean_purchases``, ``slope``,
    ``relative_slope``, ``trend``.
    """
    code = _ibis.normalize_freq(freq)
    if not (isinstance(k, int) and k >= 2):
        raise AnalyticsInputError(f"k must be an integer >= 2, got {k!r}")
    if not (isinstance(min_periods, int) and 2 <= min_periods <= k):
        raise AnalyticsInputError(f"min_periods must be an integer in 2..k, got {min_periods!r}")
    if not threshold > 0:
        raise AnalyticsInputError(f"threshold must be positive, got {threshold!r}")
    cols = ["n_periods", "purchases", "mean_purchases", "slope", "relative_slope", "trend"]
    t, last = _load(transactions, customer_col, date_col, None, order_col, code, last_period)
    if last is None:
        return _empty(transactions, customer_col, cols, code, None)
    counts = _per_period(t, order_col is not None, False)
    first = counts.group_by("customer").aggregate(first=counts.p.min())
    start = first.mutate(s=ibis.greatest(first["first"], last - k + 1))
    # Quiet periods add nothing to sum(y) or sum(x*y), so the sparse counts suffice.
    j = counts.inner_join(start, "customer").filter(lambda r: r.p >= r.s)
    sums = j.group_by("customer").aggregate(
        sy=j.purchases.sum(), sxy=((j.p - j.s) * j.purchases).sum()
    )
    per = start.left_join(sums, "customer").select(
        start.customer, start.s, sy=ibis.coalesce(sums.sy, 0), sxy=ibis.coalesce(sums.sxy, 0)
    )
    out = _ibis.execute(per.order_by("customer"))

    m = (last - out["s"].to_numpy(dtype="int64") + 1).astype("float64")
    sy = out["sy"].to_numpy(dtype="float64")
    sxy = out["sxy"].to_numpy(dtype="float64")
    sx = m * (m - 1) / 2  # x = 0..m-1
    sxx = (m - 1) * m * (2 * m - 1) / 6
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(m >= 2, (m * sxy - sx * sy) / (m * sxx - sx**2), np.nan)
        mean = sy / m
        rel = np.where(sy > 0, slope / mean, np.nan)
    label = np.select(
        [m < min_periods, sy == 0, rel >= threshold, rel <= -threshold],
        ["insufficient", "inactive", "growing", "shrinking"],
        default="stable",
    )
    return pd.DataFrame(
        {
            customer_col: out["customer"].to_numpy(),
            "n_periods": m.astype("int64"),
            "purchases": sy.astype("int64"),
            "mean_purchases": mean,
            "slope": slope,
            "relative_slope": rel,
            "trend": pd.Categorical(label, categories=TREND_LABELS),
        }
    )


def _load(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    order_col: str | None,
    code: str,
    last_period: object | None,
) -> tuple[ir.Table, int | None]:
    """Validated transactions as an Ibis table with period ordinal ``p`` <= the last period."""
    keys = {"customer": customer_col}
    if order_col is not None:
        keys["order"] = order_col
    df = _ibis.prepare(
        transactions,
        name="transactions",
        keys=keys,
        dates={"date": date_col},
        numbers={"amount": amount_col} if amount_col else {},
    )
    if last_period is not None:
        per = _ibis.period_of(last_period, code)
    elif len(df):
        per = _ibis.period_of(df["date"].max(), code)
    else:
        return ibis.memtable(df).mutate(p=ibis.literal(0, "int64")), None
    end = (per + 1).start_time  # transactions before the next period's first instant
    t = ibis.memtable(df)
    t = t.filter(t.date < end.to_pydatetime())
    t = t.mutate(p=_ibis.period_ordinal(t.date, code))
    return t, (per.ordinal if bool((df["date"] < end).any()) else None)


def _per_period(t: ir.Table, by_order: bool, with_spend: bool) -> ir.Table:
    metrics = {"purchases": t.order.nunique() if by_order else t.count()}
    if with_spend:
        metrics["spend"] = t.amount.sum()
    return t.group_by(["customer", "p"]).aggregate(**metrics)


def _empty(
    transactions: pd.DataFrame,
    customer_col: str,
    cols: list[str],
    code: str,
    period_col: str | None,
) -> pd.DataFrame:
    result = pd.DataFrame(
        {customer_col: transactions[customer_col].iloc[:0].reset_index(drop=True)}
    )
    for c in cols:
        if c == period_col:
            result[c] = pd.PeriodIndex([], freq=code)
        elif c == "trend":
            result[c] = pd.Categorical([], categories=TREND_LABELS)
        else:
            result[c] = pd.Series([], dtype="float64")
    return result
