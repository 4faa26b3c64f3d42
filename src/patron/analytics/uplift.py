"""Uplift: who responds *because* they were contacted, learned from campaigns with control groups.

For a customer with features x, treatment T (1 contacted, 0 control) and binary outcome Y
(responded), the uplift is

    tau(x) = P(Y=1 | T=1, x) - P(Y=1 | T=0, x)

Two learners estimate it:

* :class:`TwoModelUplift` (the "two-model" or T-learner): one classifier on the treatment
  group, one on the control group, ``tau(x) = p1(x) - p0(x)``.
* :class:`ClassTransformationUplift` (Jaskowski & Jaroszewicz 2012, after Lai 2006): with the
  transformed label ``Z = T*Y + (1-T)*(1-Y)`` (a treated responder or a control non-responder),
  one classifier for ``P(Z=1 | x)`` and ``tau(x) = 2 P(Z=1 | x) - 1``. That identity holds when
  ``P(T=1 | x) = 1/2``. With a treatment share ``e`` different from one half, each row is
  weighted ``1/(2e)`` (treated) or ``1/(2(1-e))`` (control), which makes the weighted share one
  half: then ``P_w(Z=1|x) = (p1(x) + 1 - p0(x)) / 2`` and ``2 P_w(Z=1|x) - 1 = tau(x)``. ``e`` may
  differ by row (campaigns with different control shares), given as a column.

Both use a standardised logistic regression by default (calibrated probabilities, and with a
value class one-hot among the features it reproduces each class's response rates). Features
are numbers (missing values: the training median plus a "was missing" indicator) or categories
(one-hot over the training categories; an unseen category is all zeros).

Evaluation, on held-out rows ranked by predicted uplift (Radcliffe 2007):

* :func:`qini_curve` - after the top k rows, ``Q(k) = Y_T(k) - Y_C(k) * N_T(k) / N_C(k)`` where
  ``Y_T(k)``, ``N_T(k)`` are the treated responders and treated rows among them (``_C`` the
  control); rows with equal predictions enter together. A random ranking follows the straight
  line from ``(0, 0)`` to ``(N, Q(N))``.
* :func:`qini_coefficient` - the area between the curve and that line, divided by the same area
  for the perfect ranking (treated responders first, control responders last): 0 is no better
  than random, 1 perfect, negative worse than random. This is scikit-uplift's
  ``qini_auc_score`` (``negative_effect=True``), compared in tests/analytics/test_uplift.py.

:func:`uplift_by_group` is the model-free estimate per group (e.g. value class): the difference
of the response rates with a normal-approximation interval,
``(r1 - r0) +- z * sqrt(r1 (1 - r1) / n1 + r0 (1 - r0) / n0)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from patron.analytics.errors import AnalyticsInputError, check_columns

__all__ = [
    "ClassTransformationUplift",
    "FeatureEncoder",
    "TwoModelUplift",
    "UpliftInputError",
    "qini_coefficient",
    "qini_curve",
    "uplift_by_group",
]


class UpliftInputError(AnalyticsInputError):
    """Input the uplift learners cannot use: missing columns, a group without rows or one outcome."""


def _need(frame: object, columns: Sequence[str]) -> None:
    try:
        check_columns(frame, columns, name="uplift input")
    except AnalyticsInputError as exc:
        raise UpliftInputError(str(exc)) from exc


def _default_classifier() -> Any:
    # Light regularisation: close to the maximum-likelihood fit, still defined when a one-hot
    # column and the intercept are collinear.
    return LogisticRegression(C=100.0, max_iter=2000)


@dataclass
class FeatureEncoder:
    """Numbers standardised (missing: training median and an indicator), categories one-hot."""

    numeric: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)
    with_missing: list[str] = field(default_factory=list)

    def fit(self, frame: pd.DataFrame, features: Sequence[str]) -> Self:
        _need(frame, features)
        for name in features:
            column = frame[name]
            if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
                values = column.astype(float)
                self.numeric.append(name)
                median = float(values.median()) if values.notna().any() else 0.0
                filled = values.fillna(median)
                self.medians[name] = median
                self.means[name] = float(filled.mean())
                self.scales[name] = float(filled.std(ddof=0)) or 1.0
                if values.isna().any():
                    self.with_missing.append(name)
            else:
                self.categories[name] = sorted({str(v) for v in column.dropna()})
        return self

    @property
    def columns(self) -> list[str]:
        return [
            *self.numeric,
            *(f"{n}__missing" for n in self.with_missing),
            *(f"{n}={c}" for n, cats in self.categories.items() for c in cats),
        ]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        _need(frame, [*self.numeric, *self.categories])
        parts: list[np.ndarray] = []
        for name in self.numeric:
            values = frame[name].astype(float)
            parts.append(((values.fillna(self.medians[name]) - self.means[name]) / self.scales[name]).to_numpy())
        for name in self.with_missing:
            parts.append(frame[name].isna().to_numpy(dtype=float))
        for name, cats in self.categories.items():
            text = frame[name].astype("string")
            parts.extend((text == c).fillna(False).to_numpy(dtype=float) for c in cats)
        if not parts:
            return np.zeros((len(frame), 0))
        return np.column_stack(parts)


def _arrays(frame: pd.DataFrame, treatment: str, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    _need(frame, [treatment, outcome])
    t = frame[treatment].to_numpy()
    y = frame[outcome].to_numpy()
    for name, values in ((treatment, t), (outcome, y)):
        if pd.isna(values).any() or not np.isin(values.astype(float), (0.0, 1.0)).all():
            raise UpliftInputError(f"{name} must be 0/1 (or true/false) on every row.")
    return t.astype(int), y.astype(int)


def _check_both(values: np.ndarray, what: str) -> None:
    if len(np.unique(values)) < 2:
        raise UpliftInputError(f"The {what} has only one outcome: nothing to learn from.")


@dataclass
class TwoModelUplift:
    """``tau(x) = p1(x) - p0(x)``: one classifier per group."""

    classifier: Callable[[], Any] = _default_classifier
    encoder: FeatureEncoder = field(default_factory=FeatureEncoder)
    treated_model: Any = None
    control_model: Any = None

    def fit(self, frame: pd.DataFrame, features: Sequence[str], treatment: str, outcome: str) -> Self:
        t, y = _arrays(frame, treatment, outcome)
        self.encoder = FeatureEncoder().fit(frame, features)
        x = self.encoder.transform(frame)
        _check_both(y[t == 1], "treatment group")
        _check_both(y[t == 0], "control group")
        self.treated_model = self.classifier().fit(x[t == 1], y[t == 1])
        self.control_model = self.classifier().fit(x[t == 0], y[t == 0])
        return self

    def predict_uplift(self, frame: pd.DataFrame) -> np.ndarray:
        if self.treated_model is None:
            raise UpliftInputError("Fit the model before predicting.")
        x = self.encoder.transform(frame)
        return self.treated_model.predict_proba(x)[:, 1] - self.control_model.predict_proba(x)[:, 1]


@dataclass
class ClassTransformationUplift:
    """``tau(x) = 2 P_w(Z=1 | x) - 1`` with ``Z = T*Y + (1-T)*(1-Y)``, groups weighted to halves.

    ``propensity`` is the treatment share: a column of ``frame`` (per-row shares, e.g. each
    campaign's ``1 - control_share``), a number, or None for the share observed in ``frame``.
    """

    classifier: Callable[[], Any] = _default_classifier
    encoder: FeatureEncoder = field(default_factory=FeatureEncoder)
    model: Any = None

    def fit(
        self,
        frame: pd.DataFrame,
        features: Sequence[str],
        treatment: str,
        outcome: str,
        *,
        propensity: str | float | None = None,
    ) -> Self:
        t, y = _arrays(frame, treatment, outcome)
        if isinstance(propensity, str):
            _need(frame, [propensity])
            e = frame[propensity].to_numpy(dtype=float)
        else:
            e = np.full(len(frame), float(t.mean()) if propensity is None else float(propensity))
        if not ((e > 0) & (e < 1)).all():
            raise UpliftInputError("The treatment share must be strictly between 0 and 1.")
        _check_both(t, "data (treatment)")
        z = t * y + (1 - t) * (1 - y)
        _check_both(z, "transformed label")
        weights = np.where(t == 1, 0.5 / e, 0.5 / (1 - e))
        self.encoder = FeatureEncoder().fit(frame, features)
        self.model = self.classifier().fit(self.encoder.transform(frame), z, sample_weight=weights)
        return self

    def predict_uplift(self, frame: pd.DataFrame) -> np.ndarray:
        if self.model is None:
            raise UpliftInputError("Fit the model before predicting.")
        return 2.0 * self.model.predict_proba(self.encoder.transform(frame))[:, 1] - 1.0


def uplift_by_group(
    frame: pd.DataFrame, group: str, treatment: str, outcome: str, *, level: float = 0.95
) -> pd.DataFrame:
    """Per value of ``group``: rows and response rate of each arm, their difference and interval.

    Columns: ``group, n_treatment, n_control, rate_treatment, rate_control, uplift, low, high``
    (rates NaN for an arm without rows; the interval NaN when either arm is empty).
    """
    t, y = _arrays(frame, treatment, outcome)
    _need(frame, [group])
    if not 0 < level < 1:
        raise UpliftInputError("The interval's level must be between 0 and 1.")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    data = pd.DataFrame({"group": frame[group].to_numpy(), "t": t, "y": y})
    sizes: dict[Any, int] = data.groupby(["group", "t"])["y"].size().to_dict()
    hits: dict[Any, int] = data.groupby(["group", "t"])["y"].sum().to_dict()
    rows = []
    for key in sorted({k for k, _arm in sizes}, key=str):
        n1, n0 = int(sizes.get((key, 1), 0)), int(sizes.get((key, 0), 0))
        r1 = hits[(key, 1)] / n1 if n1 else float("nan")
        r0 = hits[(key, 0)] / n0 if n0 else float("nan")
        se = float(np.sqrt(r1 * (1 - r1) / n1 + r0 * (1 - r0) / n0)) if n1 and n0 else float("nan")
        rows.append(
            {"group": key, "n_treatment": n1, "n_control": n0, "rate_treatment": r1, "rate_control": r0,
             "uplift": r1 - r0, "low": r1 - r0 - z * se, "high": r1 - r0 + z * se}
        )
    return pd.DataFrame(rows, columns=["group", "n_treatment", "n_control", "rate_treatment", "rate_control", "uplift", "low", "high"])


def _qini_points(y: np.ndarray, t: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(score, kind="mergesort")[::-1]
    y, t, score = y[order], t[order], score[order]
    # One point per distinct prediction: tied rows enter together, whatever their order.
    ends = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]
    n_t = np.cumsum(t)[ends].astype(float)
    n_all = (ends + 1).astype(float)
    n_c = n_all - n_t
    y_t = np.cumsum(y * t)[ends].astype(float)
    y_c = np.cumsum(y * (1 - t))[ends].astype(float)
    ratio = np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    return np.r_[0.0, n_all], np.r_[0.0, y_t - y_c * ratio]


def qini_curve(outcome: Any, treatment: Any, uplift: Any) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(k, Q(k))`` of the Qini curve of the ranking by ``uplift``, from ``(0, 0)``."""
    y, t, score = (np.asarray(a) for a in (outcome, treatment, uplift))
    if not len(y) == len(t) == len(score) or len(y) == 0:
        raise UpliftInputError("Outcome, treatment and uplift must be non-empty and of one length.")
    if not (np.isin(y, (0, 1)).all() and np.isin(t, (0, 1)).all()):
        raise UpliftInputError("Outcome and treatment must be 0/1.")
    return _qini_points(y.astype(int), t.astype(int), score.astype(float))


def qini_coefficient(outcome: Any, treatment: Any, uplift: Any) -> float:
    """Area between the Qini curve and the random line over that of the perfect ranking.

    NaN when the perfect ranking is no better than random (e.g. no responders at all).
    """
    x, q = qini_curve(outcome, treatment, uplift)
    y, t = np.asarray(outcome).astype(int), np.asarray(treatment).astype(int)
    px, pq = _qini_points(y, t, (y * t - y * (1 - t)).astype(float))
    baseline = x[-1] * q[-1] / 2.0
    perfect = float(np.trapezoid(pq, px)) - baseline
    actual = float(np.trapezoid(q, x)) - baseline
    return actual / perfect if perfect > 0 else float("nan")
