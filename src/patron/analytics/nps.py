"""Net Promoter Score with its uncertainty, comparisons, weighting, breakdowns and trends.

Definitions (Reichheld 2003, "The One Number You Need to Grow", Harvard Business Review):
answers 9-10 are promoters, 7-8 passives, 0-6 detractors, and on the -100..100 scale

    NPS = 100 * (p_P - p_D),   p_P = promoters / n,  p_D = detractors / n

Uncertainty. The three categories are one multinomial draw, so (Rocks 2016, eq. 2)

    se  = 100 * sqrt((p_P + p_D - (p_P - p_D)^2) / n)
    moe = z * se            (z = 1.96 for 95%; the Wald margin of error shown next to the NPS)

The confidence interval is the *adjusted Wald* interval recommended by Rocks (2016,
"Interval Estimation for the 'Net Promoter Score'", The American Statistician 70(4):365-372,
arXiv:1601.07235) and by Sauro & Lewis (MeasuringU, "Confidence Intervals for Net Promoter
Scores", 2021): add 3 pseudo-responses - 3/4 promoter, 3/2 passive, 3/4 detractor - and apply
the Wald formula to the adjusted counts (n' = n + 3). It keeps close to nominal coverage for
small samples and extreme scores, where the plain Wald interval collapses (e.g. to zero width
when every answer is a promoter). Its centre is shrunk slightly toward 0, so ``nps`` need not be
the midpoint of ``[ci_low, ci_high]``; both ends are clipped to -100..100. The adjustment was
evaluated at 95%; other confidence levels use the same pseudo-counts.

All scores and standard errors are on the -100..100 scale. Empty input gives ``n = 0`` and
``None`` for every statistic (not NaN, which would print as a number in reports).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from patron.analytics import _ibis
from patron.analytics.errors import AnalyticsInputError, InvalidScoreError, check_columns

__all__ = [
    "DETRACTOR_MAX",
    "PROMOTER_MIN",
    "NPSComparison",
    "NPSResult",
    "WeightedNPSResult",
    "compare_nps",
    "nps",
    "nps_by_group",
    "nps_from_counts",
    "nps_trend",
    "revenue_at_risk",
    "validate_scores",
    "weighted_nps",
    "weighted_nps_from_sums",
]

PROMOTER_MIN = 9  #: 9 and 10 are promoters
DETRACTOR_MAX = 6  #: 0..6 are detractors
# Adjusted-Wald pseudo-responses (Rocks 2016): 3/4 promoter, 3/2 passive, 3/4 detractor.
_ADJ_P, _ADJ_D, _ADJ_N = 0.75, 0.75, 3.0
# Per group for a difference of two NPS: half of that (3/8, 3/4, 3/8), see NPSComparison.
_DIFF_P, _DIFF_D, _DIFF_N = 0.375, 0.375, 1.5


@dataclass(frozen=True)
class NPSResult:
    """NPS of a set of responses. Counts are integers; statistics are ``None`` when n = 0.

    ``se`` and ``moe`` are the Wald standard error and margin of error, ``ci_low`` /
    ``ci_high`` the adjusted-Wald interval (module docstring), all on the -100..100 scale.
    """

    nps: float | None
    n: int
    promoters: int
    passives: int
    detractors: int
    se: float | None
    moe: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def promoter_pct(self) -> float | None:
        return 100.0 * self.promoters / self.n if self.n else None

    @property
    def detractor_pct(self) -> float | None:
        return 100.0 * self.detractors / self.n if self.n else None


@dataclass(frozen=True)
class NPSComparison:
    """Two-group test of ``nps_a - nps_b`` on independent samples (adjusted Wald).

    Each group gets the pseudo-responses 3/8 promoter, 3/4 passive, 3/8 detractor (half of the
    one-sample adjustment, as Agresti & Caffo 2000 halve Agresti-Coull for two proportions), and
    the Wald formula runs on the adjusted shares of *both* groups::

        n'  = n + 1.5,  p' = (promoters + 3/8) / n',  d' = (detractors + 3/8) / n'
        se  = 100 * sqrt(var'_a / n'_a + var'_b / n'_b),  var' = p' + d' - (p' - d')^2
        centre = 100 * ((p'_a - d'_a) - (p'_b - d'_b)),  interval = centre +- z_conf * se

    ``z = centre / se`` and ``p_value = 2 * (1 - Phi(|z|))``, so ``significant`` agrees with the
    interval excluding 0. ``difference`` is the raw ``nps_a - nps_b``. The plain Wald test lost
    the spread of a group with no spread (20 of 20 promoters has se 0); the adjusted shares never
    do, so the test is always defined. Coverage of the 95% interval, simulated over
    promoter/passive/detractor shares from (1, 0, 0) to (0.05, 0.15, 0.8): at least 93% in every
    case with 20 or more answers per group, about 95% on average; with 5-10 answers per group it
    can fall to about 91% (tests/analytics/test_nps.py).
    """

    nps_a: float
    nps_b: float
    n_a: int
    n_b: int
    difference: float
    se: float
    z: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    significant: bool


@dataclass(frozen=True)
class WeightedNPSResult:
    """Value-weighted NPS (see :func:`weighted_nps`). Shares are weight shares, 0..1."""

    nps: float | None
    n: int
    n_effective: float
    promoter_share: float | None
    passive_share: float | None
    detractor_share: float | None
    se: float | None
    moe: float | None
    ci_low: float | None
    ci_high: float | None


def validate_scores(scores: Any, *, dropna: bool = True, name: str = "scores") -> np.ndarray:
    """Return the scores as an int64 array, or raise :class:`InvalidScoreError`.

    Valid answers are the integers 0..10 (``9.0`` is accepted as 9; ``9.5``, ``11``, ``-1``,
    ``True`` and strings such as ``"9"`` are not). Missing answers (None/NaN/NA) are dropped
    when ``dropna`` (the default: a respondent who skipped the question is not a response),
    otherwise they are errors. The message lists up to ten distinct bad values.
    """
    s = _as_series(scores, name)
    missing = s.isna().to_numpy()
    if missing.any() and not dropna:
        raise InvalidScoreError(
            f"{name} has {int(missing.sum())} missing answer(s); NPS scores must be integers 0..10",
            [None],
            int(missing.sum()),
        )
    s = s[~missing]
    if pd.api.types.is_bool_dtype(s):
        bad_mask = np.ones(len(s), dtype=bool)
    elif pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype="float64")
        bad_mask = ~(np.isfinite(v) & (v == np.round(v)) & (v >= 0) & (v <= 10))
    else:
        bad_mask = np.array([not _is_score(x) for x in s], dtype=bool)
    if bad_mask.any():
        bad = list(dict.fromkeys(s[bad_mask].tolist()))
        shown = ", ".join(repr(b) for b in bad[:10]) + (", ..." if len(bad) > 10 else "")
        raise InvalidScoreError(
            f"NPS scores must be integers 0..10; {name} has {int(bad_mask.sum())} bad answer(s): {shown}",
            bad[:10],
            int(bad_mask.sum()),
        )
    return s.to_numpy(dtype="float64").astype("int64") if len(s) else np.zeros(0, dtype="int64")


def _as_series(values: Any, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise AnalyticsInputError(
            f"{name} must be a sequence of answers, got {type(values).__name__}"
        )
    return pd.Series(values if isinstance(values, np.ndarray) else list(values))


def _is_score(x: object) -> bool:
    if isinstance(x, bool | np.bool_) or not isinstance(x, int | float | np.integer | np.floating):
        return False
    return math.isfinite(float(x)) and float(x).is_integer() and 0 <= float(x) <= 10


def nps_from_counts(
    promoters: int, passives: int, detractors: int, *, confidence: float = 0.95
) -> NPSResult:
    """NPS, standard error, margin of error and adjusted-Wald interval from category counts."""
    counts = (promoters, passives, detractors)
    if any(not isinstance(c, int | np.integer) or c < 0 for c in counts):
        raise AnalyticsInputError(f"counts must be non-negative integers, got {counts}")
    z = _z(confidence)
    p, pa, d = (int(c) for c in counts)
    n = p + pa + d
    if n == 0:
        return NPSResult(None, 0, 0, 0, 0, None, None, None, None)
    score, se, lo, hi = (
        float(x[0]) for x in _stats(np.array([p]), np.array([d]), np.array([n]), z)
    )
    return NPSResult(score, n, p, pa, d, se, z * se, lo, hi)


def nps(scores: Any, *, confidence: float = 0.95, dropna: bool = True) -> NPSResult:
    """NPS of a Series (or any sequence) of 0..10 answers; see the module docstring."""
    v = validate_scores(scores, dropna=dropna)
    p, d = int((v >= PROMOTER_MIN).sum()), int((v <= DETRACTOR_MAX).sum())
    return nps_from_counts(p, len(v) - p - d, d, confidence=confidence)


def compare_nps(a: Any, b: Any, *, confidence: float = 0.95) -> NPSComparison:
    """Is the NPS of group ``a`` different from group ``b``? (two periods, two branches ...)

    ``a`` and ``b`` are answer sequences or :class:`NPSResult` objects. The groups must be
    independent samples (different respondents); see :class:`NPSComparison` for the formulas.
    Raises :class:`AnalyticsInputError` if a group has no answers.
    """
    z_conf = _z(confidence)
    ra = a if isinstance(a, NPSResult) else nps(a)
    rb = b if isinstance(b, NPSResult) else nps(b)
    if ra.n == 0 or rb.n == 0 or ra.nps is None or rb.nps is None:
        raise AnalyticsInputError("both groups need at least one answer to compare NPS")
    centre, se, lo, hi = (
        float(x[0])
        for x in _difference_interval(
            np.array([ra.promoters]),
            np.array([ra.detractors]),
            np.array([ra.n]),
            np.array([rb.promoters]),
            np.array([rb.detractors]),
            np.array([rb.n]),
            z_conf,
        )
    )
    z = centre / se  # se > 0 always: the pseudo-responses give every group some spread
    p_value = float(2.0 * stats.norm.sf(abs(z)))
    return NPSComparison(
        ra.nps,
        rb.nps,
        ra.n,
        rb.n,
        ra.nps - rb.nps,
        se,
        z,
        p_value,
        lo,
        hi,
        p_value < 1.0 - confidence,
    )


def weighted_nps(scores: Any, weights: Any, *, confidence: float = 0.95) -> WeightedNPSResult:
    """NPS with each answer weighted by the respondent's value (e.g. profit or CLV).

    ``weights`` aligns with ``scores`` position by position. Negative weights are clipped to
    0: a below-zero customer's opinion does not count *against* the score, it just does not
    count. Missing answers are dropped with their weights; missing weights are an error.

        p_P = sum(w | promoter) / sum(w),   p_D likewise,   NPS = 100 * (p_P - p_D)

    Uncertainty uses Kish's effective sample size ``n_eff = (sum w)^2 / sum(w^2)`` (Kish 1965,
    *Survey Sampling*) in place of n in the formulas of :func:`nps`, including the
    adjusted-Wald interval (pseudo-counts added to ``p * n_eff``; our extension of Rocks 2016
    to weights). If every weight is 0 the result has ``nps=None``.
    """
    s = _as_series(scores, "scores").reset_index(drop=True)
    w = _as_series(weights, "weights").reset_index(drop=True)
    if len(s) != len(w):
        raise AnalyticsInputError(
            f"scores ({len(s)}) and weights ({len(w)}) must have the same length"
        )
    if len(w) == 0:
        w = w.astype("float64")
    if not pd.api.types.is_numeric_dtype(w) or pd.api.types.is_bool_dtype(w):
        raise AnalyticsInputError(f"weights must be numeric, got dtype {w.dtype}")
    wv = w.to_numpy(dtype="float64", na_value=np.nan)
    keep = ~s.isna().to_numpy()
    wv = wv[keep]
    if np.isnan(wv).any() or np.isinf(wv).any():
        raise AnalyticsInputError("weights must be finite numbers with no missing values")
    v = validate_scores(s[keep])
    wv = np.clip(wv, 0.0, None)
    return weighted_nps_from_sums(
        float(wv[v >= PROMOTER_MIN].sum()),
        float(wv[(v > DETRACTOR_MAX) & (v < PROMOTER_MIN)].sum()),
        float(wv[v <= DETRACTOR_MAX].sum()),
        float((wv**2).sum()),
        len(v),
        confidence=confidence,
    )


def weighted_nps_from_sums(
    promoter_weight: float,
    passive_weight: float,
    detractor_weight: float,
    squared_weight: float,
    n: int,
    *,
    confidence: float = 0.95,
) -> WeightedNPSResult:
    """:func:`weighted_nps` from sums a database can compute: the weights of promoters, passives
    and detractors (each clipped at 0), the sum of the squared weights and the number of answers."""
    sums = (promoter_weight, passive_weight, detractor_weight, squared_weight)
    if any(not math.isfinite(x) or x < 0 for x in sums) or n < 0:
        raise AnalyticsInputError(
            f"weight sums must be finite and non-negative, got {sums} for n={n}"
        )
    w_p, w_d = float(promoter_weight), float(detractor_weight)
    total = w_p + float(passive_weight) + w_d
    if total == 0 or squared_weight == 0:
        return WeightedNPSResult(None, n, 0.0, None, None, None, None, None, None, None)
    n_eff = float(total**2 / squared_weight)
    z = _z(confidence)
    # Effective counts: the weight shares scaled to n_eff responses.
    eff_p, eff_d = np.array([w_p / total * n_eff]), np.array([w_d / total * n_eff])
    _, se, lo, hi = (float(x[0]) for x in _stats(eff_p, eff_d, np.array([n_eff]), z))
    score = 100.0 * (w_p - w_d) / total
    return WeightedNPSResult(
        score, n, n_eff, w_p / total, float(passive_weight) / total, w_d / total, se, z * se, lo, hi
    )


def nps_by_group(
    frame: pd.DataFrame,
    score_col: str = "score",
    by: str | Sequence[str] = "group",
    *,
    min_n: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """NPS per group (touchpoint, channel, branch, rep, value tier ...), one row per group.

    Columns: ``n, promoters, passives, detractors, nps, se, moe, ci_low, ci_high, small``;
    ``small`` flags groups with fewer than ``min_n`` answers (default 30), whose NPS should be
    shown greyed out or with its interval. Missing group keys form their own group rather than
    being dropped. Groups are sorted by key.
    """
    by_cols = [by] if isinstance(by, str) else list(by)
    check_columns(frame, [score_col, *by_cols], name="frame")
    v = validate_scores(frame[score_col], dropna=False, name=f"frame[{score_col!r}]")
    cat = pd.DataFrame({c: frame[c].to_numpy() for c in by_cols})
    cat["_p"] = v >= PROMOTER_MIN
    cat["_d"] = v <= DETRACTOR_MAX
    cat["_n"] = 1
    g = cat.groupby(by_cols, dropna=False, sort=True)[["_p", "_d", "_n"]].sum()
    out = _frame_stats(
        g["_p"].to_numpy(), g["_d"].to_numpy(), g["_n"].to_numpy(), _z(confidence), min_n
    )
    out.index = g.index
    return out


def nps_trend(
    frame: pd.DataFrame,
    score_col: str = "score",
    date_col: str = "date",
    freq: str = "M",
    *,
    min_n: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """NPS per calendar period with its confidence band (``ci_low``..``ci_high``).

    One row per period from the first to the last answer, indexed by ``period``; a period with
    no answers has ``n = 0`` and NaN statistics, so a chart shows a gap instead of joining
    across it. Columns as in :func:`nps_by_group`.
    """
    code = _ibis.normalize_freq(freq)
    check_columns(frame, [score_col, date_col], name="frame")
    v = validate_scores(frame[score_col], dropna=False, name=f"frame[{score_col!r}]")
    dates = _ibis.prepare(frame[[date_col]], name="frame", dates={"d": date_col})["d"]
    if len(v) == 0:
        out = _frame_stats(np.zeros(0), np.zeros(0), np.zeros(0), _z(confidence), min_n)
        out.index = pd.PeriodIndex([], freq=code, name="period")
        return out
    periods = pd.PeriodIndex(dates, freq=code)
    cat = pd.DataFrame(
        {"period": periods, "_p": v >= PROMOTER_MIN, "_d": v <= DETRACTOR_MAX, "_n": 1}
    )
    g = cat.groupby("period")[["_p", "_d", "_n"]].sum()
    full = pd.period_range(periods.min(), periods.max(), freq=code, name="period")
    g = g.reindex(full, fill_value=0)
    out = _frame_stats(
        g["_p"].to_numpy(), g["_d"].to_numpy(), g["_n"].to_numpy(), _z(confidence), min_n
    )
    out.index = full
    return out


def revenue_at_risk(
    frame: pd.DataFrame, score_col: str = "score", value_col: str = "value"
) -> float:
    """Total value (e.g. annual revenue or CLV) of the customers whose answer is a detractor.

    One row per customer with their latest answer; negative values count as 0.
    """
    check_columns(frame, [score_col, value_col], name="frame")
    v = validate_scores(frame[score_col], dropna=False, name=f"frame[{score_col!r}]")
    val = frame[value_col]
    if not pd.api.types.is_numeric_dtype(val) or val.isna().any():
        raise AnalyticsInputError(f"frame[{value_col!r}] must be numeric with no missing values")
    return float(np.clip(val.to_numpy(dtype="float64"), 0.0, None)[v <= DETRACTOR_MAX].sum())


# -- internals -------------------------------------------------------------------------------


def _z(confidence: float) -> float:
    if not (isinstance(confidence, float | int) and 0.0 < confidence < 1.0):
        raise AnalyticsInputError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def _stats(p: np.ndarray, d: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, ...]:
    """NPS, Wald se, adjusted-Wald low/high (all x100) from promoter/detractor counts and n > 0."""
    p, d, n = (np.asarray(x, dtype="float64") for x in (p, d, n))
    pp, pd_ = p / n, d / n
    score = 100.0 * (p - d) / n  # one rounding: (40 - 30) / 100 is exactly 0.1, 0.4 - 0.3 is not
    se = 100.0 * np.sqrt(np.maximum(pp + pd_ - (pp - pd_) ** 2, 0.0) / n)
    na = n + _ADJ_N
    ap, ad = (p + _ADJ_P) / na, (d + _ADJ_D) / na
    centre = ap - ad
    half = z * np.sqrt(np.maximum(ap + ad - centre**2, 0.0) / na)
    lo = np.clip(100.0 * (centre - half), -100.0, 100.0)
    hi = np.clip(100.0 * (centre + half), -100.0, 100.0)
    return score, se, lo, hi


def _difference_interval(
    p_a: np.ndarray,
    d_a: np.ndarray,
    n_a: np.ndarray,
    p_b: np.ndarray,
    d_b: np.ndarray,
    n_b: np.ndarray,
    z: float,
) -> tuple[np.ndarray, ...]:
    """Adjusted-Wald centre, se, low and high (x100) of NPS_a - NPS_b; see NPSComparison."""
    centre = np.zeros(np.shape(p_a))
    var = np.zeros(np.shape(p_a))
    for sign, p, d, n in ((1.0, p_a, d_a, n_a), (-1.0, p_b, d_b, n_b)):
        na = np.asarray(n, dtype="float64") + _DIFF_N
        ap, ad = (p + _DIFF_P) / na, (d + _DIFF_D) / na
        centre += sign * (ap - ad)
        var += (ap + ad - (ap - ad) ** 2) / na
    centre, se = 100.0 * centre, 100.0 * np.sqrt(var)
    return centre, se, np.maximum(centre - z * se, -200.0), np.minimum(centre + z * se, 200.0)


def _frame_stats(p: np.ndarray, d: np.ndarray, n: np.ndarray, z: float, min_n: int) -> pd.DataFrame:
    if not (isinstance(min_n, int) and min_n >= 0):
        raise AnalyticsInputError(f"min_n must be a non-negative integer, got {min_n!r}")
    p, d, n = (np.asarray(x, dtype="int64") for x in (p, d, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        score, se, lo, hi = _stats(p, d, n, z)
    empty = n == 0
    score, se, lo, hi = (np.where(empty, np.nan, x) for x in (score, se, lo, hi))
    return pd.DataFrame(
        {
            "n": n,
            "promoters": p,
            "passives": n - p - d,
            "detractors": d,
            "nps": score,
            "se": se,
            "moe": z * se,
            "ci_low": lo,
            "ci_high": hi,
            "small": n < min_n,
        }
    )
