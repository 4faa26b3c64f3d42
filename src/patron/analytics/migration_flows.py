"""Value-class migration with entries and exits: the flow model, its count forecast, the
stationarity test and the back-test against simple rules.

*Entries and exits* (:func:`flow_model`, :func:`forecast_counts`). When each period's classes
are drawn among that period's active customers (e.g. "most valuable" = the top 20% of the
quarter, new customers included), a matrix fitted on the customers present in both periods
forgets that customers leave (they are then in no class) and new ones arrive. The flow model
adds an ``exit`` column to each class's row (present in one period, absent in the next) and
forecasts *counts*::

    n_{t+1}[j] = sum_i n_t[i] * P[i, j] + e[j]

where ``P`` is pooled over the fitted periods (rows sum to 1 over the classes and ``exit``) and
``e[j]`` is the mean number of customers per period who enter class ``j`` without having been
in any class the period before (new customers and returners).

*Stationarity* (:func:`stationarity_test`): the likelihood-ratio test of Anderson & Goodman
(1957, "Statistical inference about Markov chains", Ann. Math. Statist. 28(1):89-110) that
every period's transition matrix (exits included) equals the pooled one.

*Back-test* (:func:`backtest`): for each period in the book's history, a one-period-ahead
forecast of the class counts from the periods before it, against the counts that came, and
against two baselines: "no change" (next period's counts = this period's) and "last period's
matrix" (the same flow model fitted on the latest transition only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from patron.analytics.errors import AnalyticsInputError, check_columns
from patron.analytics.migration import _check_classes, _check_labels, _period_list
from patron.analytics.value import VALUE_CLASSES

__all__ = ["EXIT", "Backtest", "FlowModel", "StationarityTest", "backtest", "flow_model", "forecast_counts", "stationarity_test"]

EXIT = "exit"  #: the destination of a customer in no class the next period
# Period pairs the flow model pools by default: four quarters, a year, so that seasonal moves
# average out while a book that grows or changes is followed (pooling every pair lagged behind
# a growing generated book in the back-test; docs/analytics/value.md).
DEFAULT_WINDOW = 4


# -- entries and exits -------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowModel:
    """Transitions with exits, and entries, pooled over ``n_transitions`` period pairs.

    ``counts`` and ``probabilities``: rows are the classes, columns the classes then
    :data:`EXIT`; a row never observed is NaN in ``probabilities``. ``entries`` is the mean
    number of customers entering each class per period (Series indexed by class).
    """

    classes: tuple[str, ...]
    counts: pd.DataFrame
    probabilities: pd.DataFrame
    entries: pd.Series
    n_transitions: int


@dataclass(frozen=True)
class StationarityTest:
    """Anderson-Goodman likelihood-ratio test of equal transition matrices across periods.

    ``statistic = 2 * sum_t sum_ij n_ij(t) * log(p_ij(t) / p_ij)`` with ``p_ij`` the pooled
    probability; chi-square with ``df`` degrees of freedom (for each class, (periods in which
    it was observed - 1) * (destinations with a pooled probability above 0 - 1)). A small
    ``p_value`` (below 0.05) says the probabilities change between periods, so a forecast from
    the pooled matrix rests on an assumption the data reject. ``None`` with fewer than two
    period pairs or no degrees of freedom.
    """

    statistic: float | None
    df: int
    p_value: float | None
    n_transitions: int

    @property
    def stationary(self) -> bool | None:
        return None if self.p_value is None else self.p_value >= 0.05


@dataclass(frozen=True)
class Backtest:
    """One-period-ahead forecasts of the class counts over the book's own history.

    ``forecasts``: one row per (period forecast, method, class) with ``forecast`` and ``actual``;
    methods are ``model`` (flow model pooled over the ``window`` period pairs before), ``no_change`` and
    ``last_matrix`` (flow model on the latest pair only). ``errors``: mean absolute error of the
    counts per class (rows: methods; columns: classes then ``total``, the mean over classes).
    ``beats_no_change`` / ``beats_last_matrix``: the model's total error is smaller.
    """

    forecasts: pd.DataFrame
    errors: pd.DataFrame
    beats_no_change: bool
    beats_last_matrix: bool
    n_forecasts: int


def _wide(
    labels: pd.DataFrame,
    customer_col: str,
    period_col: str,
    class_col: str,
    classes: tuple[str, ...],
) -> tuple[np.ndarray, list[object]]:
    """Class codes per customer (rows) and period (columns, sorted); -1 = in no class."""
    check_columns(labels, [customer_col, period_col, class_col], name="labels")
    _check_labels(labels[class_col], classes, class_col)
    periods = _period_list(labels[period_col])
    if labels[[customer_col, period_col]].duplicated().any():
        raise AnalyticsInputError("labels must have one row per customer and period")
    cust_codes, _ = pd.factorize(labels[customer_col])
    period_pos = pd.Index(periods).get_indexer(pd.Index(labels[period_col]))
    class_codes = pd.Index(classes).get_indexer(pd.Index(labels[class_col].astype(object)))
    wide = np.full((int(cust_codes.max()) + 1 if len(cust_codes) else 0, len(periods)), -1, dtype=np.int64)
    ok = period_pos >= 0
    wide[cust_codes[ok], period_pos[ok]] = class_codes[ok]
    return wide, periods


def _flows(wide: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per period pair t -> t+1: transition counts (pairs x k x k+1, last column exit) and
    entries (pairs x k)."""
    n_pairs = max(wide.shape[1] - 1, 0)
    moves = np.zeros((n_pairs, k, k + 1))
    entries = np.zeros((n_pairs, k))
    for t in range(n_pairs):
        a, b = wide[:, t], wide[:, t + 1]
        present = a >= 0
        dest = np.where(b[present] >= 0, b[present], k)
        np.add.at(moves[t], (a[present], dest), 1)
        entries[t] = np.bincount(b[(~present) & (b >= 0)], minlength=k)[:k]
    return moves, entries


def _model(classes: tuple[str, ...], moves: np.ndarray, entries: np.ndarray) -> FlowModel:
    counts = moves.sum(axis=0)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        probs = np.where(totals > 0, counts / totals, np.nan)
    cols = [*classes, EXIT]
    return FlowModel(
        classes,
        pd.DataFrame(counts.astype(np.int64), index=list(classes), columns=cols),
        pd.DataFrame(probs, index=list(classes), columns=cols),
        pd.Series(entries.mean(axis=0) if len(entries) else np.zeros(len(classes)), index=list(classes)),
        len(moves),
    )


def flow_model(
    labels: pd.DataFrame,
    customer_col: str = "customer_id",
    period_col: str = "period",
    class_col: str = "value_class",
    classes: Sequence[str] = VALUE_CLASSES,
    *,
    window: int | None = DEFAULT_WINDOW,
) -> FlowModel:
    """Transition probabilities with exits, and mean entries per class, pooled over the last
    ``window`` pairs of consecutive periods in ``labels`` (``None``: every pair; sorted distinct
    periods; a customer with no row in a period is in no class then)."""
    classes = _check_classes(classes)
    _check_window(window)
    wide, _ = _wide(labels, customer_col, period_col, class_col, classes)
    moves, entries = _flows(wide, len(classes))
    lo = 0 if window is None else max(len(moves) - window, 0)
    return _model(classes, moves[lo:], entries[lo:])


def _check_window(window: int | None) -> None:
    if window is not None and not (isinstance(window, int) and window >= 1):
        raise AnalyticsInputError(f"window must be a positive integer or None, got {window!r}")


def forecast_counts(model: FlowModel, current: Mapping[str, float] | pd.Series, steps: int) -> pd.DataFrame:
    """Expected customers per class for ``steps`` periods ahead (row 0 = ``current``).

    A class whose row was never observed keeps its customers (no information to move them).
    """
    if not (isinstance(steps, int) and steps >= 0):
        raise AnalyticsInputError(f"steps must be a non-negative integer, got {steps!r}")
    k = len(model.classes)
    x = pd.Series(current, dtype="float64").reindex(list(model.classes)).fillna(0.0).to_numpy()
    p = model.probabilities.to_numpy()
    p = np.where(np.isnan(p).all(axis=1, keepdims=True), np.hstack([np.eye(k), np.zeros((k, 1))]), p)
    e = model.entries.to_numpy()
    rows = [x]
    for _ in range(steps):
        x = x @ p[:, :k] + e
        rows.append(x)
    out = pd.DataFrame(rows, columns=list(model.classes))
    out.index.name = "step"
    return out


def stationarity_test(
    labels: pd.DataFrame,
    customer_col: str = "customer_id",
    period_col: str = "period",
    class_col: str = "value_class",
    classes: Sequence[str] = VALUE_CLASSES,
) -> StationarityTest:
    """Are the transition probabilities (exits included) the same in every period pair?"""
    classes = _check_classes(classes)
    wide, _ = _wide(labels, customer_col, period_col, class_col, classes)
    moves, _ = _flows(wide, len(classes))
    return _stationarity(moves)


def _stationarity(moves: np.ndarray) -> StationarityTest:
    n_pairs = len(moves)
    if n_pairs < 2:
        return StationarityTest(None, 0, None, n_pairs)
    pooled = moves.sum(axis=0)
    row_tot = pooled.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(row_tot > 0, pooled / row_tot, 0.0)
        per_tot = moves.sum(axis=2, keepdims=True)
        p_t = np.where(per_tot > 0, moves / per_tot, 0.0)
        terms = np.where(moves > 0, moves * np.log(p_t / p), 0.0)
    statistic = float(2.0 * terms.sum())
    observed = (per_tot[:, :, 0] > 0).sum(axis=0)  # periods in which each class was seen
    destinations = (p > 0).sum(axis=1)
    df = int(np.sum(np.maximum(observed - 1, 0) * np.maximum(destinations - 1, 0)))
    if df == 0:
        return StationarityTest(None, 0, None, n_pairs)
    return StationarityTest(statistic, df, float(stats.chi2.sf(statistic, df)), n_pairs)


def backtest(
    labels: pd.DataFrame,
    customer_col: str = "customer_id",
    period_col: str = "period",
    class_col: str = "value_class",
    classes: Sequence[str] = VALUE_CLASSES,
    *,
    min_pairs: int = 2,
    window: int | None = DEFAULT_WINDOW,
) -> Backtest:
    """Forecast each period's class counts from the periods before it (needs ``min_pairs``
    period pairs before the first forecast, so the pooled model differs from the last
    matrix), and compare with "no change" and "last period's matrix"; see :class:`Backtest`."""
    classes = _check_classes(classes)
    _check_window(window)
    if not (isinstance(min_pairs, int) and min_pairs >= 1):
        raise AnalyticsInputError(f"min_pairs must be a positive integer, got {min_pairs!r}")
    wide, periods = _wide(labels, customer_col, period_col, class_col, classes)
    k = len(classes)
    moves, entries = _flows(wide, k)
    counts = np.stack([np.bincount(wide[:, t][wide[:, t] >= 0], minlength=k)[:k] for t in range(wide.shape[1])]) if wide.shape[1] else np.zeros((0, k))
    rows = []
    # Forecast period t + 1 from period t, with the pairs (0,1) .. (t-1, t) known.
    for t in range(min_pairs, len(periods) - 1):
        now = pd.Series(counts[t], index=list(classes), dtype="float64")
        lo = 0 if window is None else max(t - window, 0)
        pooled = _model(classes, moves[lo:t], entries[lo:t])
        last = _model(classes, moves[t - 1 : t], entries[t - 1 : t])
        methods = {
            "model": forecast_counts(pooled, now, 1).iloc[1].to_numpy(),
            "no_change": now.to_numpy(),
            "last_matrix": forecast_counts(last, now, 1).iloc[1].to_numpy(),
        }
        for method, fc in methods.items():
            for j, c in enumerate(classes):
                rows.append((periods[t + 1], method, c, float(fc[j]), float(counts[t + 1][j])))
    forecasts = pd.DataFrame(rows, columns=["period", "method", "class", "forecast", "actual"])
    methods_order = ["model", "no_change", "last_matrix"]
    if forecasts.empty:
        errors = pd.DataFrame(np.nan, index=methods_order, columns=[*classes, "total"])
        return Backtest(forecasts, errors, False, False, 0)
    err = (forecasts["forecast"] - forecasts["actual"]).abs()
    errors = err.groupby([forecasts["method"], forecasts["class"]]).mean().unstack("class")
    errors = errors.reindex(index=methods_order, columns=list(classes))
    errors["total"] = errors.mean(axis=1)
    total = errors["total"]
    return Backtest(
        forecasts,
        errors,
        bool(total["model"] < total["no_change"]),
        bool(total["model"] < total["last_matrix"]),
        int(forecasts["period"].nunique()),
    )
