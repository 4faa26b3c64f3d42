"""Value-class migration: transition matrices, Markov forecasts of the class mix, and the
customers most likely to move down.

Input is a long frame with one row per customer and period and the customer's class in that
period (e.g. :func:`patron.analytics.value.classify_value` with ``by="period"`` on the output
of :func:`~patron.analytics.value.profit_by_period`).

*Consecutive periods*: for a pandas ``Period`` or integer period column the next period is
``period + 1`` (so a period missing from the data breaks the chain rather than being skipped);
for any other type (timestamps, strings) it is the next distinct value present in the data.
A customer missing from one of two consecutive periods contributes no transition.

*Class order* (best first) defaults to :data:`patron.analytics.value.VALUE_CLASSES`:
``most_valuable > most_growable > other > below_zero``. Growable customers rank above the core
because their predicted value is high; below-zero customers lose money. A move "down" is a move
to any class later in the order, so most_valuable -> most_growable counts as down (the customer
lost top-profit status even if their potential remains).

The forecast is a first-order, time-homogeneous Markov chain (Pfeifer & Carraway 2000,
"Modeling customer relationships as Markov chains", J. Interactive Marketing 14(2)): the mix
``x`` after one period is ``x @ P``. It assumes the next class depends only on the current one,
with the same probabilities every period - check the matrix between two recent periods against
the pooled one before trusting long horizons.

Entries and exits, stationarity and the back-test are in :mod:`patron.analytics.migration_flows`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from patron.analytics.errors import AnalyticsInputError, check_columns
from patron.analytics.value import VALUE_CLASSES

__all__ = [
    "TransitionMatrix",
    "forecast_mix",
    "likely_to_move_down",
    "mix_by_period",
    "stationary_mix",
    "transition_matrix",
]



@dataclass(frozen=True)
class TransitionMatrix:
    """Class-to-class transitions between consecutive periods.

    ``counts`` (int) and ``probabilities`` (row-normalised) are square DataFrames with the
    origin class as rows and the destination class as columns, both in ``classes`` order. A
    row with no observed transitions is all NaN in ``probabilities``: the data say nothing
    about where that class goes. ``period_pairs`` lists the (from, to) period pairs used.
    """

    classes: tuple[str, ...]
    counts: pd.DataFrame
    probabilities: pd.DataFrame
    n_transitions: int
    period_pairs: tuple[tuple[object, object], ...]


def transition_matrix(
    labels: pd.DataFrame,
    customer_col: str = "customer_id",
    period_col: str = "period",
    class_col: str = "value_class",
    classes: Sequence[str] = VALUE_CLASSES,
    *,
    from_period: object | None = None,
    to_period: object | None = None,
) -> TransitionMatrix:
    """Transition counts and probabilities between consecutive periods.

    With neither ``from_period`` nor ``to_period`` the transitions of every pair of
    consecutive periods are pooled. With both, only moves between those two periods count
    (they need not be adjacent, e.g. the same quarter a year apart). With one of them, the
    other is the adjacent period.
    """
    classes = _check_classes(classes)
    pairs = _pairs(labels, customer_col, period_col, class_col, classes)
    from_period = _coerce_period(labels[period_col], from_period)
    to_period = _coerce_period(labels[period_col], to_period)
    if from_period is not None and to_period is not None:
        pairs = _pairs_between(
            labels, customer_col, period_col, class_col, classes, from_period, to_period
        )
    elif from_period is not None:
        _require_period(from_period, _period_list(labels[period_col]))
        pairs = pairs[pairs["from_period"] == from_period]
    elif to_period is not None:
        _require_period(to_period, _period_list(labels[period_col]))
        pairs = pairs[pairs["to_period"] == to_period]
    return _matrix(pairs, classes)


def mix_by_period(
    labels: pd.DataFrame,
    period_col: str = "period",
    class_col: str = "value_class",
    classes: Sequence[str] = VALUE_CLASSES,
    *,
    normalize: bool = False,
) -> pd.DataFrame:
    """Customers per class (columns, in ``classes`` order) and period (rows); shares if
    ``normalize``."""
    classes = _check_classes(classes)
    check_columns(labels, [period_col, class_col], name="labels")
    _check_labels(labels[class_col], classes, class_col)
    table = pd.crosstab(labels[period_col], labels[class_col].astype(object))
    table = table.reindex(columns=list(classes), fill_value=0).sort_index()
    table.columns.name = class_col
    if normalize:
        table = table.div(table.sum(axis=1), axis=0)
    return table


def forecast_mix(
    matrix: TransitionMatrix | pd.DataFrame,
    current_mix: Mapping[str, float] | pd.Series,
    n_periods: int,
) -> pd.DataFrame:
    """Class mix for the next ``n_periods`` periods by the Markov chain ``x_{t+1} = x_t P``.

    ``current_mix`` maps class to a count or a share (missing classes are 0); the forecast
    keeps its scale, so counts give expected counts. Returns a frame indexed by step
    ``0..n_periods`` (0 is ``current_mix``) with one column per class.

    Raises :class:`AnalyticsInputError` if mass reaches a class whose row was never observed
    (its probabilities are NaN): fill that row (e.g. stay put) in a copy of the matrix first.
    """
    probs = matrix.probabilities if isinstance(matrix, TransitionMatrix) else matrix
    classes = [str(c) for c in probs.index]
    if list(map(str, probs.columns)) != classes:
        raise AnalyticsInputError(
            "transition matrix must be square with the same class order on both axes"
        )
    if not (isinstance(n_periods, int | np.integer) and n_periods >= 0):
        raise AnalyticsInputError(f"n_periods must be a non-negative integer, got {n_periods!r}")
    mix = (
        pd.Series(current_mix, dtype="float64")
        if not isinstance(current_mix, pd.Series)
        else current_mix.astype("float64")
    )
    unknown = sorted(set(map(str, mix.index)) - set(classes))
    if unknown:
        raise AnalyticsInputError(f"current_mix has classes not in the matrix: {unknown}")
    x = mix.reindex(classes, fill_value=0.0).to_numpy()
    if np.isnan(x).any() or (x < 0).any():
        raise AnalyticsInputError("current_mix must hold non-negative numbers")
    p = probs.to_numpy(dtype="float64")
    unobserved = np.isnan(p).any(axis=1)
    rows = [x]
    for step in range(1, int(n_periods) + 1):
        bad = unobserved & (x > 0)
        if bad.any():
            names = [classes[i] for i in np.flatnonzero(bad)]
            raise AnalyticsInputError(
                f"step {step}: the mix has customers in {names}, whose transitions were never "
                "observed; fill those rows of the matrix first"
            )
        x = x @ np.nan_to_num(p)
        rows.append(x)
    out = pd.DataFrame(rows, columns=classes)
    out.index.name = "step"
    return out


def stationary_mix(matrix: TransitionMatrix | pd.DataFrame) -> pd.Series:
    """The long-run shares ``pi = pi P`` of the chain (if every row was observed).

    Solved as a least-squares system with the constraint ``sum(pi) = 1``. For a chain with
    several closed classes the long-run mix depends on the start; this returns one solution.
    """
    probs = matrix.probabilities if isinstance(matrix, TransitionMatrix) else matrix
    p = probs.to_numpy(dtype="float64")
    if np.isnan(p).any():
        raise AnalyticsInputError("every row of the matrix must be observed (no NaN rows)")
    k = p.shape[0]
    a = np.vstack([p.T - np.eye(k), np.ones(k)])
    b = np.zeros(k + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(a, b, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return pd.Series(pi / pi.sum(), index=probs.index, name="share")


def likely_to_move_down(
    labels: pd.DataFrame,
    matrix: TransitionMatrix | None = None,
    customer_col: str = "customer_id",
    period_col: str = "period",
    class_col: str = "value_class",
    classes: Sequence[str] = VALUE_CLASSES,
    *,
    period: object | None = None,
    covariate_col: str | None = None,
    prior_strength: float = 10.0,
    top: int | None = None,
) -> pd.DataFrame:
    """Customers in ``period`` (default: the latest) ranked by P(lower class next period).

    ``p_down_class`` is the probability mass below the customer's current class in that class's
    row of ``matrix`` (default: pooled over the transitions that *start before* ``period``, so
    the ranking uses only the past).

    With ``covariate_col`` (a per-customer, per-period label in ``labels``, e.g. the
    :func:`~patron.analytics.trends.purchase_trend` label computed as of each period) the
    probability is sharpened honestly: it is re-estimated from the history of customers who
    had the same class *and* the same covariate value, shrunk toward the class's rate::

        p_down = (downs_in_stratum + m * p_down_class) / (transitions_in_stratum + m)

    with ``m = prior_strength`` pseudo-transitions (additive smoothing toward the pooled rate,
    the usual empirical-Bayes shrinkage). A covariate value with no history leaves
    ``p_down_class`` unchanged; the covariate only moves the ranking as far as the data show
    it predicts moves. ``n_evidence`` is the number of past transitions behind ``p_down``.

    Columns: ``customer_col``, ``class_col``, ``p_down``, ``p_down_class``, ``n_evidence``,
    ``most_likely_next`` (the argmax of the class row) and ``rank`` (1 = most at risk), sorted
    by ``p_down`` descending (ties by customer). The lowest class always has ``p_down`` 0; a
    class whose row was never observed has NaN and sorts last.
    """
    classes = _check_classes(classes)
    if prior_strength < 0:
        raise AnalyticsInputError(f"prior_strength must be >= 0, got {prior_strength!r}")
    cols = [customer_col, period_col, class_col, *([covariate_col] if covariate_col else [])]
    check_columns(labels, cols, name="labels")
    pairs = _pairs(labels, customer_col, period_col, class_col, classes, extra=covariate_col)
    periods = _period_list(labels[period_col])
    if period is None:
        if not periods:
            return _empty_ranking(labels, customer_col, class_col)
        period = periods[-1]
    period = _coerce_period(labels[period_col], period)
    _require_period(period, periods)
    order = {p: i for i, p in enumerate(periods)}
    history = pairs[pairs["from_period"].map(order) < order[period]]
    if matrix is None:
        matrix = _matrix(history, classes)
    elif tuple(matrix.classes) != classes:
        raise AnalyticsInputError(f"matrix classes {matrix.classes} differ from classes {classes}")

    p = matrix.probabilities.to_numpy(dtype="float64")
    k = len(classes)
    below = np.tril(np.ones((k, k)), -1).T  # below[i, j] = 1 if j is later (lower) than i
    p_down_by_class = np.where(np.isnan(p).all(axis=1), np.nan, np.nansum(p * below, axis=1))
    n_by_class = matrix.counts.to_numpy().sum(axis=1)
    with np.errstate(invalid="ignore"):
        next_idx = np.where(
            np.isnan(p).all(axis=1), -1, np.nanargmax(np.nan_to_num(p, nan=-1.0), axis=1)
        )

    now = labels[labels[period_col] == period]
    code = pd.Categorical(now[class_col].astype(object), categories=list(classes)).codes
    p_class = p_down_by_class[code]
    p_down = p_class.copy()
    evidence = n_by_class[code].astype("float64")
    if covariate_col is not None and len(history):
        h = history.assign(down=history["to_code"] > history["from_code"])
        strata = h.groupby(["from_code", "extra"], dropna=True)["down"].agg(["sum", "count"])
        key = pd.MultiIndex.from_arrays([code, now[covariate_col].to_numpy()])
        found = strata.reindex(key)
        d = found["sum"].to_numpy(dtype="float64")
        n = found["count"].to_numpy(dtype="float64")
        has = ~np.isnan(n) & ~np.isnan(p_class)
        m = float(prior_strength)
        with np.errstate(invalid="ignore", divide="ignore"):
            sharpened = (d + m * p_class) / (n + m)
        p_down = np.where(has, sharpened, p_class)
        evidence = np.where(has, n, evidence)

    out = pd.DataFrame(
        {
            customer_col: now[customer_col].to_numpy(),
            class_col: pd.Categorical.from_codes(code, pd.Index(classes)),
            "p_down": p_down,
            "p_down_class": p_class,
            "n_evidence": evidence.astype("int64"),
            "most_likely_next": pd.Categorical.from_codes(next_idx[code], pd.Index(classes)),
        }
    )
    out = out.sort_values(
        ["p_down", customer_col], ascending=[False, True], na_position="last", kind="mergesort"
    )
    out["rank"] = np.arange(1, len(out) + 1)
    out = out.reset_index(drop=True)
    return out.head(top) if top is not None else out


# -- internals -------------------------------------------------------------------------------


def _check_classes(classes: Sequence[str]) -> tuple[str, ...]:
    cl = tuple(classes)
    if len(cl) < 2 or len(set(cl)) != len(cl):
        raise AnalyticsInputError(f"classes must be at least two distinct labels, got {cl}")
    return cl


def _check_labels(values: pd.Series, classes: tuple[str, ...], class_col: str) -> None:
    if values.isna().any():
        raise AnalyticsInputError(
            f"labels[{class_col!r}] has {int(values.isna().sum())} missing value(s)"
        )
    unknown = sorted(set(map(str, pd.unique(values.astype(object)))) - set(classes))
    if unknown:
        raise AnalyticsInputError(
            f"labels[{class_col!r}] has classes not in {list(classes)}: {unknown}"
        )


def _period_list(periods: pd.Series) -> list[object]:
    return sorted(pd.unique(periods.dropna()))


def _coerce_period(periods: pd.Series, value: object) -> object:
    """Let callers write ``"2024Q3"`` for a Period column."""
    if (
        value is None
        or not isinstance(periods.dtype, pd.PeriodDtype)
        or isinstance(value, pd.Period)
    ):
        return value
    try:
        return pd.Period(value, freq=periods.dtype.freq)  # type: ignore[call-arg, arg-type]
    except (ValueError, TypeError) as exc:
        raise AnalyticsInputError(
            f"cannot read {value!r} as a period of the labels: {exc}"
        ) from exc


def _require_period(period: object, periods: list[object]) -> None:
    if period not in periods:
        raise AnalyticsInputError(f"period {period!r} is not in the labels")


def _next_key(periods: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(key, key of the next period) for each row; see the module doc for 'next'."""
    if isinstance(periods.dtype, pd.PeriodDtype):
        key = pd.Series(periods.array.asi8, index=periods.index)  # type: ignore[attr-defined]
        return key, key + 1
    if pd.api.types.is_integer_dtype(periods):
        key = periods.astype("int64")
        return key, key + 1
    order = {p: i for i, p in enumerate(_period_list(periods))}
    key = periods.map(order).astype("int64")
    return key, key + 1


def _pairs(
    labels: pd.DataFrame,
    customer_col: str,
    period_col: str,
    class_col: str,
    classes: tuple[str, ...],
    extra: str | None = None,
) -> pd.DataFrame:
    """One row per observed transition: from/to period and class codes (+ ``extra`` at from)."""
    check_columns(
        labels, [customer_col, period_col, class_col, *([extra] if extra else [])], name="labels"
    )
    _check_labels(labels[class_col], classes, class_col)
    if labels[period_col].isna().any() or labels[customer_col].isna().any():
        raise AnalyticsInputError(
            f"labels[{customer_col!r}] and labels[{period_col!r}] must have no missing values"
        )
    dup = labels.duplicated([customer_col, period_col])
    if dup.any():
        first = labels.loc[dup, [customer_col, period_col]].iloc[0].tolist()
        raise AnalyticsInputError(
            f"labels has {int(dup.sum())} duplicate (customer, period) row(s), e.g. {first}"
        )
    key, nxt = _next_key(labels[period_col])
    base = pd.DataFrame(
        {
            "customer": labels[customer_col].to_numpy(),
            # The array itself: to_numpy() would box every Period into an object (seconds at
            # 100,000s of customer-quarters) only for the frame to parse them back.
            "period": labels[period_col].array,
            "key": key.to_numpy(),
            "next": nxt.to_numpy(),
            "code": pd.Categorical(
                labels[class_col].astype(object), categories=list(classes)
            ).codes,
            "extra": labels[extra].to_numpy() if extra else np.nan,
        }
    )
    merged = base.merge(
        base[["customer", "key", "period", "code"]],
        left_on=["customer", "next"],
        right_on=["customer", "key"],
        suffixes=("", "_to"),
    )
    return pd.DataFrame(
        {
            "from_period": merged["period"],
            "to_period": merged["period_to"],
            "from_code": merged["code"],
            "to_code": merged["code_to"],
            "extra": merged["extra"],
        }
    )


def _pairs_between(
    labels: pd.DataFrame,
    customer_col: str,
    period_col: str,
    class_col: str,
    classes: tuple[str, ...],
    from_period: object,
    to_period: object,
) -> pd.DataFrame:
    periods = _period_list(labels[period_col])
    _require_period(from_period, periods)
    _require_period(to_period, periods)
    a = labels[labels[period_col] == from_period]
    b = labels[labels[period_col] == to_period]
    merged = a[[customer_col, class_col]].merge(
        b[[customer_col, class_col]], on=customer_col, suffixes=("", "_to")
    )
    cat = list(classes)
    return pd.DataFrame(
        {
            "from_period": from_period,
            "to_period": to_period,
            "from_code": pd.Categorical(merged[class_col].astype(object), categories=cat).codes,
            "to_code": pd.Categorical(
                merged[f"{class_col}_to"].astype(object), categories=cat
            ).codes,
            "extra": np.nan,
        },
        index=pd.RangeIndex(len(merged)),
    )


def _matrix(pairs: pd.DataFrame, classes: tuple[str, ...]) -> TransitionMatrix:
    k = len(classes)
    counts = np.zeros((k, k), dtype="int64")
    np.add.at(counts, (pairs["from_code"].to_numpy(), pairs["to_code"].to_numpy()), 1)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        probs = np.where(totals > 0, counts / totals, np.nan)
    idx = pd.Index(classes, name="from")
    cols = pd.Index(classes, name="to")
    pp = pairs[["from_period", "to_period"]].drop_duplicates()
    period_pairs = tuple(sorted(zip(pp["from_period"], pp["to_period"], strict=True)))
    return TransitionMatrix(
        classes=classes,
        counts=pd.DataFrame(counts, index=idx, columns=cols),
        probabilities=pd.DataFrame(probs, index=idx.copy(), columns=cols.copy()),
        n_transitions=int(counts.sum()),
        period_pairs=period_pairs,
    )


def _empty_ranking(labels: pd.DataFrame, customer_col: str, class_col: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            customer_col: labels[customer_col].iloc[:0].to_numpy(),
            class_col: pd.Series([], dtype=object),
            "p_down": pd.Series([], dtype="float64"),
            "p_down_class": pd.Series([], dtype="float64"),
            "n_evidence": pd.Series([], dtype="int64"),
            "most_likely_next": pd.Series([], dtype=object),
            "rank": pd.Series([], dtype="int64"),
        }
    )
