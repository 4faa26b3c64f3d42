"""Cohort retention and revenue curves.

A cohort is the customers acquired in the same period (month by default). Acquisition is the
period of the first transaction, or - if a ``customers`` frame with acquisition dates is given -
that date, so customers who never bought still count in their cohort's size.

For cohort ``c`` and *period number* ``k`` (0 = the acquisition period, 1 = the next, ...):

    retention(c, k)          = customers of c with a transaction in period c + k / size(c)
    revenue_per_member(c, k) = revenue of c's customers in period c + k / size(c)
    cumulative_revenue_per_member(c, k) = sum of revenue_per_member(c, 0..k)

(the classic cohort table, e.g. Fader & Hardie's "tracking plots"; cumulative revenue per
acquired customer is the empirical lifetime-value curve). Cells after the last period of the
data are absent, so pivots are triangular; quiet periods inside the range are 0.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from patron.analytics import _ibis
from patron.analytics.errors import AnalyticsInputError

__all__ = ["cohort_pivot", "cohort_retention", "cohort_revenue", "cohort_table"]


def cohort_table(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    freq: str = "M",
    *,
    customers: pd.DataFrame | None = None,
    acquired_col: str = "acquired_at",
    last_period: object | None = None,
) -> pd.DataFrame:
    """Retention and revenue per cohort and period number, as one long frame.

    Columns: ``cohort``, ``period_number``, ``period``, ``cohort_size``, ``active``,
    ``retention`` and, with ``amount_col``, ``revenue``, ``revenue_per_member``,
    ``cumulative_revenue_per_member``. Sorted by cohort and period number.

    With ``customers`` (columns ``customer_col`` and ``acquired_col``), transactions of
    customers not in that frame, and transactions before a customer's acquisition period, are
    ignored. ``last_period`` (default: the period of the latest transaction or acquisition)
    ends the table.
    """
    code = _ibis.normalize_freq(freq)
    tx = _ibis.prepare(
        transactions,
        name="transactions",
        keys={"customer": customer_col},
        dates={"date": date_col},
        numbers={"amount": amount_col} if amount_col else {},
    )
    t = ibis.memtable(tx)
    t = t.mutate(p=_ibis.period_ordinal(t.date, code))
    if customers is not None:
        cust = _ibis.prepare(
            customers,
            name="customers",
            keys={"customer": customer_col},
            dates={"acquired": acquired_col},
        )
        if cust["customer"].duplicated().any():
            raise AnalyticsInputError(f"customers[{customer_col!r}] has duplicate ids")
        if (
            len(cust)
            and len(tx)
            and (
                pd.api.types.is_numeric_dtype(cust["customer"])
                != pd.api.types.is_numeric_dtype(tx["customer"])
            )
        ):
            raise AnalyticsInputError(
                "customer ids in customers and transactions have different types"
            )
        c = ibis.memtable(cust)
        members = c.select("customer", cohort=_ibis.period_ordinal(c.acquired, code))
        latest = max(_latest(tx["date"]), _latest(cust["acquired"]))
    else:
        members = t.group_by("customer").aggregate(cohort=t.p.min())
        latest = _latest(tx["date"])

    with_amount = amount_col is not None
    if latest is pd.NaT:
        return _empty(code, with_amount)
    last = _ibis.period_of(last_period if last_period is not None else latest, code).ordinal

    j = t.inner_join(members, "customer")
    j = j.filter((j.p >= j.cohort) & (j.p <= last))
    metrics = {"active": j.customer.nunique()}
    if with_amount:
        metrics["revenue"] = j.amount.sum()
    cells = _ibis.execute(j.group_by(["cohort", j.p]).aggregate(**metrics))
    members_f = members.filter(members.cohort <= last)
    sizes = _ibis.execute(members_f.group_by("cohort").aggregate(cohort_size=members_f.count()))
    if sizes.empty:
        return _empty(code, with_amount)

    # Densify: every cohort x every period number up to the last period (a small table).
    sizes = sizes.sort_values("cohort")
    cohort_ord = sizes["cohort"].to_numpy(dtype="int64")
    spans = last - cohort_ord + 1
    grid = pd.DataFrame(
        {
            "cohort": np.repeat(cohort_ord, spans),
            "p": np.concatenate([np.arange(c, last + 1) for c in cohort_ord]),
        }
    )
    grid = grid.merge(sizes, on="cohort", how="left").merge(cells, on=["cohort", "p"], how="left")
    size = grid["cohort_size"].to_numpy(dtype="float64")
    out = pd.DataFrame(
        {
            "cohort": _ibis.periods_from_ordinals(grid["cohort"], code),
            "period_number": (grid["p"] - grid["cohort"]).to_numpy(dtype="int64"),
            "period": _ibis.periods_from_ordinals(grid["p"], code),
            "cohort_size": grid["cohort_size"].to_numpy(dtype="int64"),
            "active": grid["active"].fillna(0).to_numpy(dtype="int64"),
        }
    )
    out["retention"] = out["active"] / size
    if with_amount:
        revenue = grid["revenue"].fillna(0.0).to_numpy(dtype="float64")
        out["revenue"] = revenue
        out["revenue_per_member"] = revenue / size
        out["cumulative_revenue_per_member"] = out.groupby("cohort", sort=False)[
            "revenue_per_member"
        ].cumsum()
    return out


def cohort_retention(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    freq: str = "M",
    *,
    customers: pd.DataFrame | None = None,
    acquired_col: str = "acquired_at",
    last_period: object | None = None,
) -> pd.DataFrame:
    """Share of each cohort active in each later period (long frame; see :func:`cohort_table`)."""
    return cohort_table(
        transactions,
        customer_col,
        date_col,
        None,
        freq,
        customers=customers,
        acquired_col=acquired_col,
        last_period=last_period,
    )


def cohort_revenue(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    freq: str = "M",
    *,
    customers: pd.DataFrame | None = None,
    acquired_col: str = "acquired_at",
    last_period: object | None = None,
) -> pd.DataFrame:
    """Revenue and cumulative revenue per cohort member (long frame; see :func:`cohort_table`)."""
    out = cohort_table(
        transactions,
        customer_col,
        date_col,
        amount_col,
        freq,
        customers=customers,
        acquired_col=acquired_col,
        last_period=last_period,
    )
    cols = [
        "cohort",
        "period_number",
        "period",
        "cohort_size",
        "revenue",
        "revenue_per_member",
        "cumulative_revenue_per_member",
    ]
    return out[cols]


def cohort_pivot(long: pd.DataFrame, values: str = "retention") -> pd.DataFrame:
    """Cohorts as rows, period numbers as columns: the matrix a heatmap draws.

    Cells after the end of the data are NaN (the triangle); ``values`` is any numeric column
    of :func:`cohort_table` (``retention``, ``active``, ``cumulative_revenue_per_member`` ...).
    """
    for col in ("cohort", "period_number", values):
        if col not in long.columns:
            raise AnalyticsInputError(f"cohort frame is missing column {col!r}")
    table = long.pivot(index="cohort", columns="period_number", values=values)
    table.columns.name = "period_number"
    return table


def _latest(dates: pd.Series) -> pd.Timestamp:
    return dates.max() if len(dates) else pd.NaT  # type: ignore[return-value]


def _empty(code: str, with_amount: bool) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "cohort": pd.PeriodIndex([], freq=code),
            "period_number": pd.Series([], dtype="int64"),
            "period": pd.PeriodIndex([], freq=code),
            "cohort_size": pd.Series([], dtype="int64"),
            "active": pd.Series([], dtype="int64"),
            "retention": pd.Series([], dtype="float64"),
        }
    )
    if with_amount:
        for c in ("revenue", "revenue_per_member", "cumulative_revenue_per_member"):
            out[c] = pd.Series([], dtype="float64")
    return out
