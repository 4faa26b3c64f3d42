"""Churn risk from behaviour *and* attitude, with an honest out-of-time evaluation.

* :func:`build_features` - one row per customer as of a cutoff date, from orders, NPS answers,
  interactions (complaints) and follow-up cases, using only what happened *before* the cutoff.
* :func:`build_labels` - 1 if the customer made no purchase in the ``horizon_days`` after it.
* :class:`ChurnModel` - standardised logistic regression; ``predict_risk`` and per-customer
  ``reasons`` (stable reason codes such as ``detractor`` or ``no_recent_purchase``).
* :func:`evaluate_out_of_time` - fit at cutoff t0 (labels in [t0, t0 + h)), score at
  t1 = t0 + h (labels in [t1, t1 + h)), for the full and the behaviour-only model: AUC, Brier
  score, calibration by decile, and how much attitude adds.

Why logistic regression (and not gradient boosting): a dozen well-understood features with
mostly monotone effects; probabilities that are calibrated out of the box (the app shows them as
percentages and sums them into "revenue at risk"); reason codes that are exact additive parts of
the score (coefficient x standardised value) rather than an approximation; and stability when
refitted every night on a few thousand customers. See docs/analytics/churn.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler

from patron.analytics.errors import AnalyticsInputError

__all__ = [
    "ATTITUDE_FEATURES",
    "BEHAVIOUR_FEATURES",
    "REASON_CODES",
    "REASON_CODE_LIST",
    "ChurnColumns",
    "ChurnEvaluation",
    "ChurnInputError",
    "ChurnModel",
    "build_features",
    "build_labels",
    "calibration_table",
    "evaluate_out_of_time",
]


class ChurnInputError(AnalyticsInputError):
    """Input to the churn analysis is malformed (missing columns, bad dates, one class only)."""


#: What a customer did: recency, frequency, spend, tenure, trend, overdue vs own rhythm.
BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "purchase_rate_trend",
    "recency_ratio",
)
#: What a customer said and went through: NPS level and change, complaints, open cases.
ATTITUDE_FEATURES: tuple[str, ...] = (
    "nps_latest",
    "nps_change",
    "detractor",
    "complaints_180d",
    "complaints_since_order",
    "open_follow_ups",
    "has_nps",
)

#: reason code -> {feature: risky direction}. +1: high values are the risky side, -1: low
#: values. Features that say the same thing to a rep share a code and their contributions add
#: up (recency in days and relative to the customer's own rhythm; purchases and the tenure they
#: were made in). ``low_nps`` reads ``detractor`` for customers whose latest score is 0-6.
REASON_CODES: dict[str, dict[str, int]] = {
    "no_recent_purchase": {"recency_days": +1, "recency_ratio": +1},
    "few_purchases": {"frequency": -1, "tenure_days": +1},
    "low_spend": {"monetary": -1},
    "declining_purchase_rate": {"purchase_rate_trend": -1},
    "low_nps": {"nps_latest": -1, "detractor": +1},
    "nps_dropped": {"nps_change": -1},
    "recent_complaints": {"complaints_180d": +1, "complaints_since_order": +1},
    "open_follow_up": {"open_follow_ups": +1},
    "no_survey_answer": {"has_nps": -1},
}
#: Every code :meth:`ChurnModel.reasons` can return (for the app's translation table).
REASON_CODE_LIST: tuple[str, ...] = (*REASON_CODES, "detractor")

# Heavy-tailed, non-negative features enter the model as log1p(x): a customer 400 days quiet is
# not twice as risky as one 200 days quiet in log-odds.
_LOG_FEATURES = frozenset(
    {"recency_days", "frequency", "monetary", "tenure_days", "recency_ratio", "complaints_180d",
     "complaints_since_order", "open_follow_ups"}
)  # fmt: skip

_DAY = pd.Timedelta(days=1)
# build_features' default active window (see its ``customers``); equal to the default horizon.
DEFAULT_ACTIVE_DAYS = 180


@dataclass(frozen=True)
class ChurnColumns:
    """Column names of the input frames (defaults match the app's extracts)."""

    customer: str = "customer_id"
    order_date: str = "date"
    amount: str = "amount"
    nps_date: str = "date"
    nps_score: str = "score"
    interaction_date: str = "date"
    interaction_kind: str = "kind"
    follow_up_opened: str = "opened_at"
    follow_up_closed: str = "closed_at"


# --------------------------------------------------------------------------------------------
# Features and labels
# --------------------------------------------------------------------------------------------


def build_features(
    orders: pd.DataFrame,
    *,
    cutoff: Any,
    nps: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    follow_ups: pd.DataFrame | None = None,
    customers: Iterable[Any] | None = None,
    active_days: int | None = DEFAULT_ACTIVE_DAYS,
    complaint_kinds: Sequence[str] = ("complaint", "claim"),
    complaint_window_days: int = 180,
    trend_window_days: int = 180,
    columns: ChurnColumns | None = None,
    typical_gap_days: float | None = None,
) -> pd.DataFrame:
    """Churn features per customer as of ``cutoff``, from data strictly before it.

    Parameters
    ----------
    orders:
        One row per order: customer, date, amount.
    cutoff:
        Anything ``pd.Timestamp`` accepts. Rows dated at or after it are ignored; a follow-up
        closed at or after it counts as open.
    nps, interactions, follow_ups:
        NPS answers (customer, date, score 0-10), interactions (customer, date, kind) and
        follow-up cases (customer, opened_at, closed_at - NaT while open). Optional: missing
        frames give "never answered / no complaints / nothing open".
    customers:
        Population to score. Default: customers with an order before the cutoff, and, when
        ``active_days`` is set, with their last order in the ``active_days`` before it.
        The default 180 matches the default label horizon: a customer who has already gone a
        whole horizon without buying is churned by the label's own definition, and scoring
        them would only inflate the AUC with cases any rule gets right.
    complaint_kinds:
        Interaction kinds counted as complaints.
    typical_gap_days:
        The gap between orders that one-order customers get in ``recency_ratio``. Default: the
        median of the repeat customers' mean gaps in ``orders``; pass the value a whole book
        gave (``attrs["typical_gap_days"]`` of its features) to score a few customers alike.

    Returns
    -------
    DataFrame indexed by customer with the columns of :data:`BEHAVIOUR_FEATURES` then
    :data:`ATTITUDE_FEATURES`:

    - ``recency_days``: days from the last order to the cutoff (NaN for a customer in
      ``customers`` with no order yet, as for ``monetary``, ``tenure_days``, ``recency_ratio``);
    - ``frequency``: number of orders; ``monetary``: mean order amount;
    - ``tenure_days``: days since the first order;
    - ``purchase_rate_trend``: ``log((n_recent + 1) / (n_previous + 1))`` with orders counted in
      the last ``trend_window_days`` and the window before that (< 0: slowing down);
    - ``recency_ratio``: recency over the customer's own mean gap between orders (> 1: overdue);
      one-order customers get the population's median gap;
    - ``nps_latest`` (NaN if never answered), ``nps_change`` (latest minus the previous answer,
      0 with fewer than two), ``detractor`` (latest <= 6), ``has_nps`` (0/1);
    - ``complaints_180d``: complaints in the last ``complaint_window_days``;
    - ``complaints_since_order``: of those, the ones after the customer's last order;
    - ``open_follow_ups``: follow-up cases opened before and still open at the cutoff.
    """
    col = columns or ChurnColumns()
    cut = _timestamp(cutoff, "cutoff")
    o = _prepare(orders, "orders", col.customer, col.order_date, [col.amount])
    o = o[o[col.order_date] < cut]
    g = o.groupby(col.customer, sort=True)
    first = g[col.order_date].min()
    last = g[col.order_date].max()
    frequency = g.size()
    monetary = g[col.amount].mean()

    if customers is not None:
        index = pd.Index(list(dict.fromkeys(customers)), name=col.customer)
    else:
        index = last.index
        if active_days is not None:
            index = index[((cut - last) < pd.Timedelta(days=active_days)).to_numpy()]
        index = index.rename(col.customer)

    out = pd.DataFrame(index=index)
    recency = _days(cut - last)
    tenure = _days(cut - first)
    out["recency_days"] = recency.reindex(index)
    out["frequency"] = frequency.reindex(index).fillna(0).astype(float)
    out["monetary"] = monetary.reindex(index).astype(float)
    out["tenure_days"] = tenure.reindex(index)

    w = pd.Timedelta(days=trend_window_days)
    recent = o[o[col.order_date] >= cut - w].groupby(col.customer).size()
    in_previous = (o[col.order_date] >= cut - 2 * w) & (o[col.order_date] < cut - w)
    previous = o[in_previous].groupby(col.customer).size()
    out["purchase_rate_trend"] = np.log(
        (recent.reindex(index).fillna(0) + 1.0) / (previous.reindex(index).fillna(0) + 1.0)
    ).astype(float)

    gap = _days(last - first) / (frequency - 1).where(frequency > 1)
    if typical_gap_days is not None:
        typical_gap = float(typical_gap_days)
    else:
        typical_gap = float(gap.median()) if gap.notna().any() else float(trend_window_days)
    gap = gap.fillna(typical_gap).clip(lower=1.0)
    out["recency_ratio"] = (recency / gap).reindex(index)

    # --- attitude
    latest = pd.Series(np.nan, index=index)
    change = pd.Series(0.0, index=index)
    if nps is not None:
        n = _prepare(nps, "nps", col.customer, col.nps_date, [col.nps_score])
        n = n[(n[col.nps_date] < cut) & n[col.nps_score].notna()]
        n = n.sort_values([col.customer, col.nps_date], kind="stable")
        last_two = n.groupby(col.customer).tail(2)
        grp = last_two.groupby(col.customer)[col.nps_score]
        latest = grp.last().astype(float).reindex(index)
        change = (grp.last() - grp.first()).astype(float).reindex(index).fillna(0.0)
    out["nps_latest"] = latest.to_numpy()
    out["nps_change"] = change.to_numpy()
    out["detractor"] = (latest <= 6).astype(float).to_numpy()
    out["has_nps"] = latest.notna().astype(float).to_numpy()

    complaints = pd.Series(0.0, index=index)
    since_order = pd.Series(0.0, index=index)
    if interactions is not None:
        it = _prepare(
            interactions, "interactions", col.customer, col.interaction_date,
            [col.interaction_kind],
        )  # fmt: skip
        lo = cut - pd.Timedelta(days=complaint_window_days)
        it = it[
            (it[col.interaction_date] < cut)
            & (it[col.interaction_date] >= lo)
            & it[col.interaction_kind].isin(list(complaint_kinds))
        ]
        complaints = it.groupby(col.customer).size().reindex(index).fillna(0).astype(float)
        # A complaint the customer has not bought since is the classic sign of leaving; one
        # followed by a purchase was (at least partly) recovered.
        after = it[col.interaction_date].to_numpy() > last.reindex(it[col.customer]).to_numpy()
        since_order = it[after].groupby(col.customer).size().reindex(index).fillna(0).astype(float)
    out["complaints_180d"] = complaints.to_numpy()
    out["complaints_since_order"] = since_order.to_numpy()

    open_cases = pd.Series(0.0, index=index)
    if follow_ups is not None:
        f = _prepare(follow_ups, "follow_ups", col.customer, col.follow_up_opened, [])
        if col.follow_up_closed not in f.columns:
            raise ChurnInputError(f"follow_ups is missing column {col.follow_up_closed!r}")
        closed = _to_naive(f[col.follow_up_closed], "follow_ups", col.follow_up_closed)
        is_open = (f[col.follow_up_opened] < cut) & (closed.isna() | (closed >= cut))
        open_cases = f[is_open].groupby(col.customer).size().reindex(index).fillna(0) * 1.0
    out["open_follow_ups"] = open_cases.to_numpy()
    features = out[list(BEHAVIOUR_FEATURES + ATTITUDE_FEATURES)]
    features.attrs["typical_gap_days"] = typical_gap
    return features


def build_labels(
    orders: pd.DataFrame,
    *,
    cutoff: Any,
    horizon_days: int = 180,
    customers: Iterable[Any] | None = None,
    columns: ChurnColumns | None = None,
) -> pd.Series:
    """1 if the customer made no purchase in [cutoff, cutoff + horizon_days), else 0.

    ``customers`` defaults to everyone with an order before the cutoff; pass
    ``features.index`` to label exactly the customers you built features for. The caller must
    make sure the data covers the whole horizon (otherwise late customers look churned);
    :func:`evaluate_out_of_time` checks that.
    """
    if horizon_days <= 0:
        raise ChurnInputError(f"horizon_days must be positive, got {horizon_days!r}")
    col = columns or ChurnColumns()
    cut = _timestamp(cutoff, "cutoff")
    o = _prepare(orders, "orders", col.customer, col.order_date, [])
    if customers is None:
        index = pd.Index(np.sort(o.loc[o[col.order_date] < cut, col.customer].unique()))
    else:
        index = pd.Index(list(customers))
    end = cut + pd.Timedelta(days=horizon_days)
    window = o[(o[col.order_date] >= cut) & (o[col.order_date] < end)]
    bought = index.isin(window[col.customer].unique())
    return pd.Series((~bought).astype(np.int64), index=index.rename(col.customer), name="churned")


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class ChurnModel:
    """Standardised logistic regression on churn features, with per-customer reason codes.

    Parameters
    ----------
    attitude:
        Use the attitude features too (``False``: behaviour only, the baseline).
    features:
        Explicit feature list (overrides ``attitude``).
    C:
        Inverse L2 regularisation strength of the logistic regression.
    """

    def __init__(
        self, attitude: bool = True, features: Sequence[str] | None = None, C: float = 1.0
    ) -> None:
        self.attitude = attitude
        self.features = features
        self.C = C

    # sklearn-style fitted attributes: feature_names_, fill_values_, scaler_, estimator_,
    # coef_ (Series by feature), intercept_.
    def fit(self, features: pd.DataFrame, labels: pd.Series | Sequence[int]) -> Self:
        names = list(self.features) if self.features is not None else list(BEHAVIOUR_FEATURES)
        if self.features is None and self.attitude:
            names += list(ATTITUDE_FEATURES)
        missing = [c for c in names if c not in features.columns]
        if missing:
            raise ChurnInputError(f"features is missing column(s) {missing}")
        y = _align_labels(features, labels)
        if len(np.unique(y)) < 2:
            raise ChurnInputError("labels contain a single class; cannot fit a churn model")
        self.feature_names_ = names
        raw = features[names].astype(float)
        # Missing values (e.g. NPS of never-answered customers; has_nps flags them) are filled
        # with the training median so they sit at a neutral point of each scale.
        self.fill_values_ = raw.median().fillna(0.0)
        x = self._design(features)
        self.scaler_ = StandardScaler().fit(x)
        self.estimator_ = LogisticRegression(C=self.C, max_iter=2000)
        self.estimator_.fit(self.scaler_.transform(x), y)
        self.coef_ = pd.Series(self.estimator_.coef_[0], index=names, name="coef")
        self.intercept_ = float(self.estimator_.intercept_[0])
        return self

    def _design(self, features: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names_ if c not in features.columns]
        if missing:
            raise ChurnInputError(f"features is missing column(s) {missing}")
        # In numpy, one array rather than a pandas column assignment per feature; the same
        # values as ``fillna(fill_values_)`` then ``log1p(clip(lower=0))`` on the log features.
        raw = features[self.feature_names_].to_numpy(dtype=float, copy=True)
        fill = self.fill_values_.reindex(self.feature_names_).to_numpy(dtype=float)
        raw = np.where(np.isnan(raw), fill, raw)
        logs = [j for j, c in enumerate(self.feature_names_) if c in _LOG_FEATURES]
        if logs:
            part = raw[:, logs]
            raw[:, logs] = np.log1p(np.where(np.isnan(part) | (part >= 0.0), part, 0.0))
        return raw

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise ChurnInputError("ChurnModel is not fitted yet; call fit() first")

    def predict_risk(self, features: pd.DataFrame) -> pd.Series:
        """Probability of churning within the horizon, per customer (index of ``features``)."""
        self._check_fitted()
        z = self.scaler_.transform(self._design(features))
        p = self.estimator_.predict_proba(z)[:, 1]
        return pd.Series(p, index=features.index, name="churn_risk")

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Each feature's additive share of the log-odds: ``coef x standardised value``.

        The standardisation is relative to the training population's mean, so 0 means "like
        the average customer"; ``contributions.sum(axis=1) + intercept_`` is the log-odds.
        """
        self._check_fitted()
        z = self.scaler_.transform(self._design(features))
        return pd.DataFrame(
            z * self.coef_.to_numpy(), index=features.index, columns=self.feature_names_
        )

    def reasons(self, features: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """The top-``k`` reasons pushing each customer's risk up, as stable reason codes.

        A reason's contribution is the sum of its features' contributions (see
        :meth:`contributions` and :data:`REASON_CODES`). It is reported when that sum is
        positive *and* the customer is on the risky side of at least one of its features (e.g.
        below-average NPS), so a code always reads the way it is named even where correlated
        features give a coefficient a counter-intuitive sign.

        Returns a long frame: customer (the index name of ``features``), ``rank`` (1 =
        strongest), ``reason`` (a code of :data:`REASON_CODE_LIST`), ``feature`` (the
        strongest feature behind it), ``value`` (that feature's raw value) and
        ``contribution`` (log-odds added). Customers with no risk-raising reason have no rows.
        """
        if k < 1:
            raise ChurnInputError(f"k must be >= 1, got {k!r}")
        customer = features.index.name or "customer_id"
        columns = [customer, "rank", "reason", "feature", "value", "contribution"]
        z = self.scaler_.transform(self._design(features))
        contrib = z * self.coef_.to_numpy()  # as contributions(), without a second design
        raw = features[self.feature_names_].to_numpy(dtype=float)
        pos = {f: j for j, f in enumerate(self.feature_names_)}
        parts = []
        for code, members in REASON_CODES.items():
            cols = [pos[f] for f in members if f in pos]
            if not cols:
                continue
            direction = np.array([members[self.feature_names_[j]] for j in cols])
            total = contrib[:, cols].sum(axis=1)
            risky_side = (z[:, cols] * direction > 0).any(axis=1)
            rows = np.flatnonzero((total > 0) & risky_side)
            # Name the strongest feature on the risky side (what the rep should look at).
            sub = np.ix_(rows, np.asarray(cols, dtype=np.int64))
            on_side = z[sub] * direction > 0
            score = np.where(on_side, contrib[sub], -np.inf)
            lead = np.asarray(cols)[score.argmax(axis=1)]
            codes = np.full(len(rows), code, dtype=object)
            if code == "low_nps" and "detractor" in features.columns:
                det = features["detractor"].to_numpy(dtype=float)[rows] == 1
                codes[det] = "detractor"
            parts.append(
                pd.DataFrame(
                    {
                        "row": rows,
                        "reason": codes,
                        "feature": np.asarray(self.feature_names_, dtype=object)[lead],
                        "value": raw[rows, lead],
                        "contribution": total[rows],
                    }
                )
            )
        long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if long.empty:
            return pd.DataFrame(columns=columns)
        long = long.sort_values(
            ["row", "contribution", "reason"], ascending=[True, False, True], kind="stable"
        )
        long["rank"] = long.groupby("row").cumcount() + 1
        long = long[long["rank"] <= k]
        long.insert(0, customer, features.index.to_numpy()[long["row"].to_numpy()])
        return long[columns].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Out-of-time evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChurnEvaluation:
    """Out-of-time evaluation: fitted at ``train_cutoff``, scored at ``test_cutoff``.

    ``auc``/``brier``/``calibration`` are the full (behaviour + attitude) model's;
    ``*_behaviour`` the behaviour-only baseline's on the same customers. ``auc_gain`` is
    ``auc - auc_behaviour``: what attitude adds. Calibration tables have one row per decile of
    predicted risk (1 = lowest) with ``n``, ``mean_predicted`` and ``observed_rate``.
    """

    train_cutoff: pd.Timestamp
    test_cutoff: pd.Timestamp
    horizon_days: int
    n_train: int
    n_test: int
    churn_rate_train: float
    churn_rate_test: float
    auc: float
    auc_behaviour: float
    auc_gain: float
    brier: float
    brier_behaviour: float
    calibration: pd.DataFrame = field(repr=False)
    calibration_behaviour: pd.DataFrame = field(repr=False)
    model: ChurnModel = field(repr=False)
    model_behaviour: ChurnModel = field(repr=False)
    # The test set (features and labels at ``test_cutoff``): a caller fitting on that cutoff
    # with the same options can reuse them instead of building them again.
    test_features: pd.DataFrame | None = field(default=None, repr=False)
    test_labels: pd.Series | None = field(default=None, repr=False)


def evaluate_out_of_time(
    orders: pd.DataFrame,
    *,
    train_cutoff: Any,
    horizon_days: int = 180,
    nps: pd.DataFrame | None = None,
    interactions: pd.DataFrame | None = None,
    follow_ups: pd.DataFrame | None = None,
    data_end: Any | None = None,
    C: float = 1.0,
    columns: ChurnColumns | None = None,
    **feature_options: Any,
) -> ChurnEvaluation:
    """Fit at t0 = ``train_cutoff`` on labels from [t0, t0 + h), evaluate at t1 = t0 + h.

    Nothing the test labels depend on (orders in [t1, t1 + h)) is seen in training, and the
    test features use only data before t1 - this is how the model is used in production, so the
    figures are what a user can expect. ``data_end`` (default: the latest date in ``orders``)
    must reach t1 + h, or test customers would look churned merely for lack of data.
    ``feature_options`` go to :func:`build_features` (e.g. ``complaint_kinds``);
    ``active_days`` defaults to ``horizon_days``.
    """
    col = columns or ChurnColumns()
    t0 = _timestamp(train_cutoff, "train_cutoff")
    t1 = t0 + pd.Timedelta(days=horizon_days)
    end_needed = t1 + pd.Timedelta(days=horizon_days)
    o = _prepare(orders, "orders", col.customer, col.order_date, [])
    end = _timestamp(data_end, "data_end") if data_end is not None else o[col.order_date].max()
    if pd.isna(end) or end < end_needed - _DAY:
        raise ChurnInputError(
            f"the data end at {end} but the out-of-time test needs orders up to {end_needed} "
            f"(train cutoff {t0.date()} + 2 x {horizon_days} days); use an earlier train_cutoff"
        )
    options: dict[str, Any] = {
        "nps": nps,
        "interactions": interactions,
        "follow_ups": follow_ups,
        # Score customers who are not yet churned by the label's own definition.
        "active_days": horizon_days,
        **feature_options,
        "columns": col,
    }
    x0 = build_features(orders, cutoff=t0, **options)
    y0 = build_labels(orders, cutoff=t0, horizon_days=horizon_days, customers=x0.index, columns=col)
    x1 = build_features(orders, cutoff=t1, **options)
    y1 = build_labels(orders, cutoff=t1, horizon_days=horizon_days, customers=x1.index, columns=col)
    if y1.nunique() < 2:
        raise ChurnInputError("test labels contain a single class; cannot compute AUC")

    full = ChurnModel(attitude=True, C=C).fit(x0, y0)
    base = ChurnModel(attitude=False, C=C).fit(x0, y0)
    p_full, p_base = full.predict_risk(x1), base.predict_risk(x1)
    auc_full = float(roc_auc_score(y1, p_full))
    auc_base = float(roc_auc_score(y1, p_base))
    return ChurnEvaluation(
        train_cutoff=t0,
        test_cutoff=t1,
        horizon_days=horizon_days,
        n_train=len(y0),
        n_test=len(y1),
        churn_rate_train=float(y0.mean()),
        churn_rate_test=float(y1.mean()),
        auc=auc_full,
        auc_behaviour=auc_base,
        auc_gain=auc_full - auc_base,
        brier=float(brier_score_loss(y1, p_full)),
        brier_behaviour=float(brier_score_loss(y1, p_base)),
        calibration=calibration_table(y1, p_full),
        calibration_behaviour=calibration_table(y1, p_base),
        model=full,
        model_behaviour=base,
        test_features=x1,
        test_labels=y1,
    )


def calibration_table(
    labels: pd.Series | np.ndarray, predicted: pd.Series | np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """Mean predicted vs observed rate by quantile bin of the prediction (deciles by default)."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(predicted, dtype=float)
    if len(y) != len(p) or not len(y):
        raise ChurnInputError("labels and predictions must be non-empty and of equal length")
    bins = min(bins, len(p))
    # Ranks (ties broken by order) so equal predictions never collapse a bin.
    order = np.argsort(p, kind="stable")
    decile = np.empty(len(p), dtype=np.int64)
    decile[order] = np.arange(len(p)) * bins // len(p) + 1
    frame = pd.DataFrame({"decile": decile, "p": p, "y": y})
    return (
        frame.groupby("decile")
        .agg(n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
        .reset_index()
    )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / 86400.0


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ChurnInputError(f"{name} is not a date: {value!r}") from exc
    if pd.isna(ts):
        raise ChurnInputError(f"{name} is not a date: {value!r}")
    # Project rule (docs/analytics/value.md): tz-aware values keep their wall-clock time.
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def _to_naive(values: pd.Series, frame: str, column: str) -> pd.Series:
    try:
        s = pd.to_datetime(values)
    except (TypeError, ValueError) as exc:
        raise ChurnInputError(f"{frame}.{column} must hold dates") from exc
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # keep wall-clock time
    return s


def _prepare(
    frame: pd.DataFrame, name: str, customer: str, date: str, extra: list[str]
) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ChurnInputError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in (customer, date, *extra) if c not in frame.columns]
    if missing:
        raise ChurnInputError(
            f"{name} is missing column(s) {missing} (it has {list(frame.columns)}); "
            "pass columns=ChurnColumns(...) to map your names"
        )
    # A shallow copy (copy-on-write): the callers only filter, and a naive datetime column,
    # as the app's extracts give, needs no conversion, so the rows are not copied each call.
    out = frame.copy(deep=False)
    if not pd.api.types.is_datetime64_dtype(out[date]) or isinstance(
        out[date].dtype, pd.DatetimeTZDtype
    ):
        out[date] = _to_naive(out[date], name, date)
    if out[date].isna().any():
        raise ChurnInputError(f"{name}.{date} has missing dates")
    return out


def _align_labels(features: pd.DataFrame, labels: pd.Series | Sequence[int]) -> np.ndarray:
    if isinstance(labels, pd.Series):
        if not labels.index.equals(features.index):
            missing = features.index.difference(labels.index)
            if len(missing):
                raise ChurnInputError(f"labels are missing for {len(missing)} customers")
            labels = labels.reindex(features.index)
        y = labels.to_numpy()
    else:
        y = np.asarray(labels)
        if len(y) != len(features):
            raise ChurnInputError("labels and features have different lengths")
    if pd.isna(y).any() or not np.isin(y, [0, 1]).all():
        raise ChurnInputError("labels must be 0/1 (1 = churned)")
    return y.astype(np.int64)
