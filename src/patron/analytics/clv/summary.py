"""Per-customer frequency / recency / T / monetary summary from a transaction table.

The aggregation is an Ibis expression (:func:`rfm_summary_expr`), executed on the analytics
core's in-memory DuckDB (one per thread) by default, so the same code runs unchanged on another Ibis backend (pass an Ibis
table that lives there).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _

from patron.analytics import _ibis

from ._base import CLVInputError

__all__ = ["UNIT_DAYS", "rfm_summary", "rfm_summary_expr"]

# Length of one time unit in days. "M" is the average Gregorian month.
UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 30.4375}


def _unit_days(unit: str) -> float:
    try:
        return UNIT_DAYS[unit]
    except KeyError:
        raise CLVInputError(f"unit must be one of {sorted(UNIT_DAYS)}, got {unit!r}") from None


def _as_date(value: Any, what: str) -> dt.date:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise CLVInputError(f"{what} {value!r} is not a date") from exc
    if ts is pd.NaT:
        raise CLVInputError(f"{what} is missing")
    return ts.date()


def rfm_summary_expr(
    table: ir.Table,
    *,
    observation_end: dt.date,
    unit: str = "W",
    with_monetary: bool = True,
) -> ir.Table:
    """The summary as an Ibis expression over ``table`` with columns ``customer`` (any type),
    ``day`` (date) and, if ``with_monetary``, ``amount`` (numeric).

    Transactions after ``observation_end`` are left out. Purchases on the same day count as
    one purchase whose amount is their sum. Result columns: customer, frequency, recency, T
    [, monetary_value], with recency and T in ``unit``.
    """
    days = _unit_days(unit)
    end = ibis.literal(observation_end, type="date")
    kept = table.filter(table.day <= end)
    daily_aggs: dict[str, Any] = {"amount": _.amount.sum()} if with_monetary else {"n": _.count()}
    daily = kept.group_by(["customer", "day"]).aggregate(**daily_aggs)
    aggs: dict[str, Any] = {
        "n_days": _.count(),
        "first_day": _.day.min(),
        "last_day": _.day.max(),
    }
    if with_monetary:
        aggs["total"] = _.amount.sum()
        aggs["first_amount"] = _.amount.argmin(_.day)  # spend on the first purchase day
    per = daily.group_by("customer").aggregate(**aggs)
    cols: dict[str, Any] = {
        "frequency": (per.n_days - 1).cast("int64"),
        "recency": per.last_day.delta(per.first_day, unit="day").cast("float64") / days,
        "T": end.delta(per.first_day, unit="day").cast("float64") / days,
    }
    if with_monetary:
        # Mean spend of the repeat purchase days; 0 for customers with no repeat purchase.
        cols["monetary_value"] = ibis.ifelse(
            per.n_days > 1,
            (per.total - per.first_amount).cast("float64") / (per.n_days - 1).cast("float64"),
            0.0,
        )
    return per.select("customer", **cols)


def rfm_summary(
    transactions: pd.DataFrame | ir.Table,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    observation_end: str | dt.date | pd.Timestamp | None = None,
    unit: str = "W",
    *,
    strict: bool = False,
) -> pd.DataFrame:
    """One row per customer (index = customer id, sorted) with

    - ``frequency``: number of repeat purchase days (days with a purchase after the first;
      several purchases on one day count once),
    - ``recency``: time from the first to the last purchase day, in ``unit``,
    - ``T``: time from the first purchase day to ``observation_end``, in ``unit``,
    - ``monetary_value`` (if ``amount_col``): mean spend of the repeat purchase days, the
      amounts of one day summed; 0 when frequency is 0.

    ``unit`` is "D" (days), "W" (weeks, 7 days) or "M" (30.4375 days); times are computed in
    whole days and then divided, as ``lifetimes.utils.summary_data_from_transaction_data``
    does with ``freq="D", freq_multiplier=7`` for weeks. Dates with a time of day are
    truncated to the day (timezone-aware ones to their local day).

    ``observation_end`` defaults to the last transaction day. Transactions after it are left
    out, and customers whose first purchase is after it are not in the result; the number of
    transactions left out is in ``result.attrs["excluded_after_observation_end"]``. With
    ``strict=True`` any such transaction raises :class:`CLVInputError` instead.

    Raises :class:`CLVInputError` for an empty table, missing columns, missing customer ids
    or dates, missing or negative amounts (net refunds off before calling), or when no
    transaction is on or before ``observation_end``.

    ``transactions`` may also be an Ibis table (on any backend) with those columns; the
    aggregation then runs on that backend.
    """
    _unit_days(unit)
    if isinstance(transactions, pd.DataFrame):
        table, mem_name = _memtable(transactions, customer_col, date_col, amount_col)
        con = _ibis.connect()
        try:
            return _summarise(table, con.execute, customer_col, date_col, amount_col,
                              observation_end, unit, strict)
        finally:
            _release(con, mem_name)
    if isinstance(transactions, ir.Table):
        table = _rename(transactions, customer_col, date_col, amount_col)
        return _summarise(table, lambda e: e.execute(), customer_col, date_col, amount_col,
                          observation_end, unit, strict)
    raise CLVInputError(
        f"transactions must be a pandas DataFrame or an Ibis table, got "
        f"{type(transactions).__name__}"
    )


def _summarise(
    table: ir.Table,
    run: Callable[[ir.Expr], Any],
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    observation_end: str | dt.date | pd.Timestamp | None,
    unit: str,
    strict: bool,
) -> pd.DataFrame:
    # One pass of checks; the message says what to fix.
    checks: dict[str, Any] = {
        "n": _.count(),
        "null_customer": _.customer.isnull().sum(),
        "null_day": _.day.isnull().sum(),
        "max_day": _.day.max(),
    }
    if amount_col is not None:
        checks["null_amount"] = _.amount.isnull().sum()
        checks["negative"] = (_.amount < 0).sum()
    end_given = None if observation_end is None else _as_date(observation_end, "observation_end")
    if end_given is not None:
        checks["n_after"] = (_.day > ibis.literal(end_given, type="date")).sum()
    chk = run(table.aggregate(**checks)).iloc[0]
    if int(chk["n"]) == 0:
        raise CLVInputError("the transaction table is empty")
    if int(chk["null_customer"]):
        raise CLVInputError(f"{int(chk['null_customer'])} transaction(s) have no {customer_col}")
    if int(chk["null_day"]):
        raise CLVInputError(f"{int(chk['null_day'])} transaction(s) have no {date_col}")
    if amount_col is not None:
        if int(chk["null_amount"]):
            raise CLVInputError(
                f"{int(chk['null_amount'])} transaction(s) have a missing {amount_col}"
            )
        if int(chk["negative"]):
            raise CLVInputError(
                f"{int(chk['negative'])} transaction(s) have a negative {amount_col}; net refunds "
                "off against their purchases (or drop them) before summarising"
            )
    # Without an observation_end nothing is after it: it is the last transaction day.
    end = end_given or _as_date(chk["max_day"], "last transaction date")
    n_after = int(chk["n_after"]) if end_given is not None else 0
    if n_after and strict:
        raise CLVInputError(
            f"{n_after} transaction(s) are dated after observation_end {end.isoformat()}"
        )

    expr = rfm_summary_expr(table, observation_end=end, unit=unit,
                            with_monetary=amount_col is not None)
    out = run(expr)
    if len(out) == 0:
        raise CLVInputError(f"no transaction is on or before observation_end {end.isoformat()}")
    out = out.set_index("customer").sort_index()
    out.index.name = customer_col
    out["frequency"] = out["frequency"].astype(np.int64)
    for col in ("recency", "T", "monetary_value"):
        if col in out:
            out[col] = out[col].astype(np.float64)
    out.attrs["excluded_after_observation_end"] = n_after
    out.attrs["observation_end"] = end.isoformat()
    out.attrs["unit"] = unit
    return out


def _release(con: Any, name: str) -> None:
    """Unregister a memtable from the shared DuckDB connection. Ibis leaves it registered, so
    without this every call would keep its copy of the transactions in memory (measured:
    +25 MB per call for a million rows)."""
    with contextlib.suppress(Exception):  # best effort: a newer Ibis may have dropped it
        con.con.unregister(name)


def _memtable(
    df: pd.DataFrame, customer_col: str, date_col: str, amount_col: str | None
) -> tuple[ir.Table, str]:
    cols = [customer_col, date_col] + ([amount_col] if amount_col is not None else [])
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise CLVInputError(
            f"missing column(s) {missing}; pass the names with customer_col=, date_col=, "
            "amount_col="
        )
    frame = pd.DataFrame({"customer": df[customer_col].to_numpy()})
    dates = df[date_col]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        try:  # ISO 8601 first (also takes 19970101 and a mix of dates and date-times)
            dates = pd.to_datetime(dates, format="ISO8601")
        except (TypeError, ValueError):
            try:
                dates = pd.to_datetime(dates)
            except (TypeError, ValueError) as exc:
                raise CLVInputError(f"column {date_col!r} does not hold dates: {exc}") from exc
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)  # keep the local wall-clock day
    frame["day"] = dates.dt.normalize().to_numpy()
    if amount_col is not None:
        amounts = df[amount_col]
        if not pd.api.types.is_numeric_dtype(amounts):
            try:
                amounts = pd.to_numeric(amounts)
            except (TypeError, ValueError) as exc:
                raise CLVInputError(f"column {amount_col!r} must be numeric") from exc
        frame["amount"] = amounts.astype("float64").to_numpy()
    mem = ibis.memtable(frame)
    return mem.mutate(day=_.day.cast("date")), mem.op().name


def _rename(
    table: ir.Table, customer_col: str, date_col: str, amount_col: str | None
) -> ir.Table:
    cols = [customer_col, date_col] + ([amount_col] if amount_col is not None else [])
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise CLVInputError(f"missing column(s) {missing}")
    sel: dict[str, Any] = {"customer": table[customer_col], "day": table[date_col].cast("date")}
    if amount_col is not None:
        sel["amount"] = table[amount_col].cast("float64")
    return table.select(**sel)
