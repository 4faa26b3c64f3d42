"""Shared plumbing for the analytics modules: the Ibis/DuckDB connection, input preparation
and calendar periods.

Aggregations over transaction-level data are written as Ibis expressions so the same code can
later run on another Ibis backend; today they run on an in-memory DuckDB database, one per
thread (a DuckDB connection must not be shared between threads).

Periods are pandas ``Period`` values. Inside Ibis a period is its integer *ordinal*, computed
with the same convention as pandas (``pd.Period(...).ordinal``), so that "the next period" is
``ordinal + 1`` on every backend and results convert back with ``PeriodIndex.from_ordinals``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends.duckdb import Backend as DuckDBBackend

from patron.analytics.errors import AnalyticsInputError, check_columns

__all__ = [
    "FREQS",
    "connect",
    "execute",
    "normalize_freq",
    "period_of",
    "period_ordinal",
    "periods_from_ordinals",
    "prepare",
    "to_naive_timestamp",
]

_local = threading.local()

#: Period frequencies the analytics accept: day, week (Monday-Sunday), month, quarter, year.
FREQS = ("D", "W", "M", "Q", "Y")
_FREQ_ALIASES = {"A": "Y", "ME": "M", "QE": "Q", "YE": "Y", "W-SUN": "W", "Q-DEC": "Q"}


def duckdb_threads() -> int:
    """DuckDB threads per connection: ``PATRON_DUCKDB_THREADS``, 1 by default.

    With more than one thread DuckDB adds a group's floating-point partial sums in whatever
    order its threads finish, so a sum can differ in the last digit from one run to the next
    (measured: 39% of 200,000 group sums over 3M rows). One thread makes every figure the same
    on every run, which a re-run scoring run and its tests rely on; more threads trade that
    for speed on many-core machines.
    """
    raw = os.environ.get("PATRON_DUCKDB_THREADS", "1")
    try:
        threads = int(raw)
    except ValueError:
        raise AnalyticsInputError(f"PATRON_DUCKDB_THREADS must be a whole number, not {raw!r}") from None
    if threads < 1:
        raise AnalyticsInputError(f"PATRON_DUCKDB_THREADS must be at least 1, not {threads}")
    return threads


def connect() -> DuckDBBackend:
    """This thread's in-memory DuckDB backend (created on first use)."""
    con = getattr(_local, "con", None)
    if con is None:
        con = ibis.duckdb.connect(threads=duckdb_threads())
        _local.con = con
    return con


def execute(expr: ir.Table) -> pd.DataFrame:
    """Run an Ibis table expression on this thread's backend and return a DataFrame.

    Ibis leaves every ``ibis.memtable`` it ran registered on the connection, so a long-lived
    worker would keep a copy of each input frame; they are unregistered once the result is out
    (Ibis registers them again if a later expression uses them).
    """
    con = connect()
    try:
        return con.execute(expr)
    finally:
        release(con, expr)


def release(con: DuckDBBackend, expr: ir.Expr) -> None:
    """Unregister the in-memory tables ``expr`` reads from ``con``."""
    import ibis.expr.operations as ops

    for node in expr.op().find(ops.InMemoryTable):
        with contextlib.suppress(Exception):  # best effort: nothing to free if already gone
            con.con.unregister(node.name)
        # Ibis remembers what it registered (a private set) and would not register it again.
        with contextlib.suppress(AttributeError):
            con._memtables.discard(node)


def normalize_freq(freq: str) -> str:
    """Return the canonical period code (one of :data:`FREQS`) for ``freq``."""
    if not isinstance(freq, str):
        raise AnalyticsInputError(f"freq must be a string such as 'M' or 'Q', got {freq!r}")
    code = _FREQ_ALIASES.get(freq.upper(), freq.upper())
    if code not in FREQS:
        raise AnalyticsInputError(f"freq must be one of {', '.join(FREQS)}; got {freq!r}")
    return code


def period_ordinal(ts: ir.Value, freq: str) -> ir.IntegerValue:
    """Ibis expression: the pandas ``Period`` ordinal of timestamp/date ``ts`` at ``freq``."""
    code = normalize_freq(freq)
    if code == "Y":
        return (ts.year() - 1970).cast("int64")  # type: ignore[attr-defined]
    if code == "Q":
        return ((ts.year() - 1970) * 4 + ts.quarter() - 1).cast("int64")  # type: ignore[attr-defined]
    if code == "M":
        return ((ts.year() - 1970) * 12 + ts.month() - 1).cast("int64")  # type: ignore[attr-defined]
    days = ts.date().delta(ibis.date(1970, 1, 1), unit="day").cast("int64")  # type: ignore[attr-defined]
    if code == "D":
        return days
    # pandas "W" is W-SUN (weeks Monday..Sunday); the week holding 1969-12-29 (day -3) is 1.
    return (days + 3) // 7 + 1


def periods_from_ordinals(ordinals: Iterable[int], freq: str) -> pd.PeriodIndex:
    """Turn integer ordinals (as made by :func:`period_ordinal`) back into pandas Periods."""
    return pd.PeriodIndex.from_ordinals(list(ordinals), freq=normalize_freq(freq))  # type: ignore[attr-defined]


def period_of(value: object, freq: str) -> pd.Period:
    """The period (at ``freq``) of a date, timestamp, Period or period label like '2024Q2'."""
    code = normalize_freq(freq)
    if isinstance(value, pd.Period):
        return value.asfreq(code)
    try:
        if isinstance(value, str):
            return pd.Period(value, freq=code)
        return pd.Period(to_naive_timestamp(value), freq=code)
    except (ValueError, TypeError) as exc:
        raise AnalyticsInputError(f"cannot read {value!r} as a {code} period: {exc}") from exc


def to_naive_timestamp(value: object) -> pd.Timestamp:
    """Parse ``value`` as a timestamp; a timezone-aware one keeps its wall-clock time."""
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise AnalyticsInputError(f"cannot read {value!r} as a date: {exc}") from exc
    if ts is pd.NaT:
        raise AnalyticsInputError("date must not be missing (NaT)")
    return ts.tz_localize(None) if ts.tz is not None else ts


def prepare(
    frame: pd.DataFrame,
    *,
    name: str,
    keys: Mapping[str, str] = {},
    dates: Mapping[str, str] = {},
    numbers: Mapping[str, str] = {},
) -> pd.DataFrame:
    """Validate ``frame`` and return a new frame with *internal* column names.

    Each mapping is ``{internal_name: caller_column}``. Keys must have no missing values;
    dates are parsed if needed (timezone-aware values keep their wall-clock time, so days and
    periods follow the data's own timezone); numbers must be numeric with no missing values.
    Renaming to internal names lets one caller column serve two roles and keeps the Ibis code
    independent of the caller's naming.
    """
    keys, dates, numbers = keys or {}, dates or {}, numbers or {}
    check_columns(frame, [*keys.values(), *dates.values(), *numbers.values()], name=name)
    out: dict[str, Any] = {}
    for internal, col in keys.items():
        s = frame[col]
        if s.isna().any():
            raise AnalyticsInputError(
                f"{name}[{col!r}] has {int(s.isna().sum())} missing value(s); every row needs one"
            )
        out[internal] = s
    for internal, col in dates.items():
        out[internal] = _as_datetime(frame[col], f"{name}[{col!r}]")
    for internal, col in numbers.items():
        s = frame[col]
        if len(s) == 0:
            s = s.astype("float64")  # an empty frame's columns are often object dtype
        if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
            raise AnalyticsInputError(f"{name}[{col!r}] must be numeric, got dtype {s.dtype}")
        if s.isna().any():
            raise AnalyticsInputError(
                f"{name}[{col!r}] has {int(s.isna().sum())} missing value(s); fill them (e.g. 0) first"
            )
        out[internal] = s.astype("float64") if s.dtype != "float64" else s
    result = pd.DataFrame(out, copy=False)
    result.index = pd.RangeIndex(len(result))
    return result


def _as_datetime(s: pd.Series, label: str) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(s):
        try:
            s = pd.to_datetime(s, format="mixed")
        except (ValueError, TypeError) as exc:
            raise AnalyticsInputError(f"{label} must hold dates: {exc}") from exc
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(None)
    if s.isna().any():
        raise AnalyticsInputError(f"{label} has {int(s.isna().sum())} missing date(s)")
    # Arrow (under Ibis and DuckDB) refuses to drop nanoseconds silently; a CRM needs no more
    # than microseconds, so truncate rather than fail on data that carries them.
    if s.dt.unit == "ns":
        s = s.dt.floor("us").dt.as_unit("us")
    return s
