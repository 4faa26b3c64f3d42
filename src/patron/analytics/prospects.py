"""Prospect qualification: how likely is a prospect to become a paying customer?

Over a third of prospects waste sales time (seed articles); a score lets reps spend their time
on the prospects that convert. The pieces:

* :func:`build_prospect_features` - one row per open prospect as of a date, from the prospect
  records (acquisition channel, region, company or person, first contact) and their
  interactions and survey answers *before* that date.
* :func:`build_conversion_labels` - 1 if the prospect became a customer within a horizon.
* :class:`ProspectScorer` - one-hot + standardised logistic regression; ``score`` in [0, 1].
* :meth:`ProspectScorer.evaluate` / :func:`evaluate_holdout` - AUC, conversion lift in the top
  decile, and the share of sales time that goes to the bottom third of scores.

Features (columns of :func:`build_prospect_features`):

========================== ==================================================================
``channel``                acquisition channel (categorical: web, referral, event, ...)
``region``                 region or branch (categorical)
``is_company``             1 for a company (B2B account), 0 for a person
``n_interactions``         interactions before the date
``n_<kind>``               interactions of each kind in ``interaction_kinds`` (call, email,
                           meeting, visit, chat by default); other kinds only in the total
``days_since_first_contact`` age of the lead in days (leads go stale)
``days_since_last_contact`` days since the last interaction (or first contact if none)
``survey_answered``        1 if the prospect answered a survey before the date
========================== ==================================================================

Logistic regression for the same reasons as churn (see docs/analytics/churn.md): few,
well-understood features, calibrated probabilities a manager can read as "3 in 10", stable
refits on small data (a business has hundreds, not millions, of prospects), and coefficients
that explain the score. Counts and ages enter as log1p, so the tenth email counts less than the
first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from patron.analytics.errors import AnalyticsInputError

__all__ = [
    "DEFAULT_INTERACTION_KINDS",
    "ProspectColumns",
    "ProspectEvaluation",
    "ProspectInputError",
    "ProspectScorer",
    "build_conversion_labels",
    "build_prospect_features",
    "evaluate_holdout",
]

DEFAULT_INTERACTION_KINDS: tuple[str, ...] = ("call", "email", "meeting", "visit", "chat")
_CATEGORICAL: tuple[str, ...] = ("channel", "region")
_BINARY: tuple[str, ...] = ("is_company", "survey_answered")  # 0/1: standardised, not logged


class ProspectInputError(AnalyticsInputError):
    """Input to prospect scoring is malformed (missing columns, bad dates, one class only)."""


@dataclass(frozen=True)
class ProspectColumns:
    """Column names of the input frames (defaults match the app's extracts)."""

    prospect: str = "prospect_id"
    channel: str = "channel"
    region: str = "region"
    is_company: str = "is_company"
    first_contact: str = "first_contact_at"
    converted_at: str = "converted_at"
    interaction_date: str = "date"
    interaction_kind: str = "kind"
    survey_date: str = "date"


def build_prospect_features(
    prospects: pd.DataFrame,
    *,
    as_of: Any,
    interactions: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    interaction_kinds: Sequence[str] = DEFAULT_INTERACTION_KINDS,
    columns: ProspectColumns | None = None,
) -> pd.DataFrame:
    """Features of prospects still open at ``as_of``, from data strictly before it.

    ``prospects`` holds one row per prospect with channel, region, is_company,
    first_contact_at and (optionally) converted_at - NaT while not converted. Prospects first
    contacted at or after ``as_of`` or converted before it are left out (they are not open
    prospects at that date). ``interactions`` (prospect, date, kind) and ``surveys`` (prospect,
    date) are optional. Returns a frame indexed by prospect; see the module docstring.
    """
    col = columns or ProspectColumns()
    cut = _timestamp(as_of, "as_of")
    p = _require(
        prospects,
        "prospects",
        [col.prospect, col.channel, col.region, col.is_company, col.first_contact],
    )
    first = _dates(p[col.first_contact], "prospects", col.first_contact)
    if first.isna().any():
        raise ProspectInputError(f"prospects.{col.first_contact} has missing dates")
    open_ = first < cut
    if col.converted_at in p.columns:
        converted = _dates(p[col.converted_at], "prospects", col.converted_at)
        open_ &= converted.isna() | (converted >= cut)
    p, first = p[open_.to_numpy()], first[open_.to_numpy()]
    if p[col.prospect].duplicated().any():
        raise ProspectInputError(f"prospects.{col.prospect} has duplicate ids")
    index = pd.Index(p[col.prospect].to_numpy(), name=col.prospect)

    out = pd.DataFrame(index=index)
    out["channel"] = p[col.channel].astype("string").fillna("unknown").to_numpy()
    out["region"] = p[col.region].astype("string").fillna("unknown").to_numpy()
    out["is_company"] = p[col.is_company].fillna(False).astype(bool).astype(float).to_numpy()

    kinds = list(dict.fromkeys(interaction_kinds))
    counts = pd.DataFrame(0.0, index=index, columns=["n_interactions", *[f"n_{k}" for k in kinds]])
    last_contact = pd.Series(first.to_numpy(), index=index)
    if interactions is not None:
        it = _require(
            interactions, "interactions", [col.prospect, col.interaction_date, col.interaction_kind]
        )
        when = _dates(it[col.interaction_date], "interactions", col.interaction_date)
        keep = (when < cut).to_numpy() & it[col.prospect].isin(index).to_numpy()
        it = it[keep].assign(_when=when.to_numpy()[keep])
        counts["n_interactions"] = it.groupby(col.prospect).size().reindex(index).fillna(0)
        by_kind = it.groupby([col.prospect, col.interaction_kind]).size().unstack(fill_value=0)
        for k in kinds:
            if k in by_kind.columns:
                counts[f"n_{k}"] = by_kind[k].reindex(index).fillna(0).astype(float)
        latest = it.groupby(col.prospect)["_when"].max().reindex(index)
        last_contact = latest.where(latest.notna() & (latest > last_contact), last_contact)
    out = out.join(counts)
    out["days_since_first_contact"] = (cut - first).dt.total_seconds().to_numpy() / 86400.0
    out["days_since_last_contact"] = (
        cut - pd.to_datetime(last_contact)
    ).dt.total_seconds().to_numpy() / 86400.0

    answered = pd.Series(0.0, index=index)
    if surveys is not None:
        s = _require(surveys, "surveys", [col.prospect, col.survey_date])
        when = _dates(s[col.survey_date], "surveys", col.survey_date)
        done = set(s.loc[(when < cut).to_numpy(), col.prospect])
        answered = pd.Series(index.isin(list(done)).astype(float), index=index)
    out["survey_answered"] = answered.to_numpy()
    return out


def build_conversion_labels(
    prospects: pd.DataFrame,
    *,
    as_of: Any,
    horizon_days: int | None = 90,
    index: pd.Index | None = None,
    columns: ProspectColumns | None = None,
) -> pd.Series:
    """1 if the prospect converted in [as_of, as_of + horizon_days) (no end if ``None``).

    Pass ``index=features.index`` to label exactly the prospects you built features for.
    """
    col = columns or ProspectColumns()
    cut = _timestamp(as_of, "as_of")
    p = _require(prospects, "prospects", [col.prospect, col.converted_at])
    converted = _dates(p[col.converted_at], "prospects", col.converted_at)
    hit = converted >= cut
    if horizon_days is not None:
        hit &= converted < cut + pd.Timedelta(days=horizon_days)
    y = pd.Series(hit.to_numpy().astype(np.int64), index=p[col.prospect].to_numpy())
    if index is not None:
        missing = index.difference(y.index)
        if len(missing):
            raise ProspectInputError(f"{len(missing)} prospects of index are not in prospects")
        y = y.reindex(index)
    return y.rename("converted").rename_axis(col.prospect)


# --------------------------------------------------------------------------------------------
# Model and evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProspectEvaluation:
    """How well a prospect score ranks prospects on data it was not fitted on.

    ``top_decile_lift``: conversion rate among the 10% best-scored prospects over the overall
    rate. ``bottom_third_time_share``: share of sales time spent on the third with the lowest
    scores; ``bottom_third_conversion_share``: share of conversions they produce - time there
    is what a score lets reps redirect. ``gains`` has one row per decile of score (1 = best)
    with ``n``, ``conversion_rate``, ``lift``, ``share_of_conversions`` and ``share_of_time``.
    """

    n: int
    conversion_rate: float
    auc: float
    top_decile_lift: float
    top_decile_conversion_rate: float
    bottom_third_time_share: float
    bottom_third_conversion_share: float
    time_measure: str
    gains: pd.DataFrame = field(repr=False)


class ProspectScorer:
    """Probability that a prospect converts, from :func:`build_prospect_features` columns.

    Parameters
    ----------
    C:
        Inverse L2 regularisation strength of the logistic regression.
    min_category_share:
        Channels/regions rarer than this share of training prospects are pooled into one
        "infrequent" level, so a region seen twice cannot get an extreme coefficient.
    """

    def __init__(self, C: float = 1.0, min_category_share: float = 0.01) -> None:
        self.C = C
        self.min_category_share = min_category_share

    def fit(self, features: pd.DataFrame, converted: pd.Series | Sequence[int]) -> Self:
        y = _align(features, converted)
        if len(np.unique(y)) < 2:
            raise ProspectInputError("converted contains a single class; cannot fit a scorer")
        self.categorical_ = [c for c in _CATEGORICAL if c in features.columns]
        self.binary_ = [c for c in _BINARY if c in features.columns]
        self.numeric_ = [
            c for c in features.columns if c not in self.categorical_ and c not in self.binary_
        ]
        if not self.numeric_ and not self.categorical_:
            raise ProspectInputError("features has no usable columns")
        encoder = OneHotEncoder(handle_unknown="infrequent_if_exist",
                                min_frequency=self.min_category_share, sparse_output=False)  # fmt: skip
        numeric = make_pipeline(
            FunctionTransformer(_log1p_nonneg, feature_names_out="one-to-one"), StandardScaler()
        )
        design = ColumnTransformer(
            [
                ("categorical", encoder, self.categorical_),
                ("numeric", numeric, self.numeric_),
                ("binary", StandardScaler(), self.binary_),
            ]
        )
        self.pipeline_ = Pipeline(
            [("design", design), ("model", LogisticRegression(C=self.C, max_iter=2000))]
        )
        self.pipeline_.fit(self._frame(features), y)
        names = self.pipeline_.named_steps["design"].get_feature_names_out()
        self.coef_ = pd.Series(
            self.pipeline_.named_steps["model"].coef_[0], index=list(names), name="coef"
        )
        return self

    def _frame(self, features: pd.DataFrame) -> pd.DataFrame:
        cols = [*self.categorical_, *self.numeric_, *self.binary_]
        missing = [c for c in cols if c not in features.columns]
        if missing:
            raise ProspectInputError(f"features is missing column(s) {missing}")
        x = features[cols].copy()
        for c in self.categorical_:
            x[c] = x[c].astype(object).where(x[c].notna(), "unknown").astype(str)
        for c in [*self.numeric_, *self.binary_]:
            x[c] = pd.to_numeric(x[c], errors="raise").astype(float).fillna(0.0)
        return x

    def score(self, features: pd.DataFrame) -> pd.Series:
        """Probability of converting, in [0, 1], indexed like ``features``."""
        if not hasattr(self, "pipeline_"):
            raise ProspectInputError("ProspectScorer is not fitted yet; call fit() first")
        p = self.pipeline_.predict_proba(self._frame(features))[:, 1]
        return pd.Series(p, index=features.index, name="conversion_score")

    def evaluate(
        self,
        features: pd.DataFrame,
        converted: pd.Series | Sequence[int],
        sales_time: pd.Series | None = None,
    ) -> ProspectEvaluation:
        """Evaluate on prospects the scorer was *not* fitted on (a later cohort, a holdout).

        ``sales_time`` (minutes, hours - any unit) per prospect; defaults to the number of
        interactions, a proxy for the time reps spent.
        """
        y = _align(features, converted)
        if len(np.unique(y)) < 2:
            raise ProspectInputError("converted contains a single class; cannot compute AUC")
        if sales_time is None:
            if "n_interactions" not in features.columns:
                raise ProspectInputError("pass sales_time, or features with n_interactions")
            time = features["n_interactions"].to_numpy(dtype=float)
            measure = "n_interactions"
        else:
            time = sales_time.reindex(features.index).fillna(0.0).to_numpy(dtype=float)
            measure = str(sales_time.name or "sales_time")
        return _evaluation(y, self.score(features).to_numpy(), time, measure)


def evaluate_holdout(
    features: pd.DataFrame,
    converted: pd.Series | Sequence[int],
    *,
    sales_time: pd.Series | None = None,
    test_size: float = 0.3,
    random_state: int = 0,
    C: float = 1.0,
) -> ProspectEvaluation:
    """Fit on a stratified random part, evaluate on the rest (``test_size``).

    Prefer an out-of-time check when you have the history: fit on prospects open at an
    earlier date and call :meth:`ProspectScorer.evaluate` on those open at a later one.
    """
    y = pd.Series(_align(features, converted), index=features.index)
    train, test = train_test_split(
        features.index.to_numpy(), test_size=test_size, random_state=random_state, stratify=y
    )
    scorer = ProspectScorer(C=C).fit(features.loc[train], y.loc[train])
    return scorer.evaluate(features.loc[test], y.loc[test], sales_time=sales_time)


def _evaluation(
    y: np.ndarray, score: np.ndarray, time: np.ndarray, measure: str
) -> ProspectEvaluation:
    n = len(y)
    order = np.argsort(-score, kind="stable")  # best first
    decile = np.empty(n, dtype=np.int64)
    decile[order] = np.arange(n) * 10 // n + 1
    third = np.empty(n, dtype=np.int64)
    third[order] = np.arange(n) * 3 // n  # 2 = bottom third
    rate = float(y.mean())
    total_time = float(time.sum())
    frame = pd.DataFrame({"decile": decile, "y": y, "t": time})
    gains = frame.groupby("decile").agg(n=("y", "size"), conversions=("y", "sum"), t=("t", "sum"))
    gains["conversion_rate"] = gains["conversions"] / gains["n"]
    gains["lift"] = gains["conversion_rate"] / rate
    gains["share_of_conversions"] = gains["conversions"] / y.sum()
    gains["share_of_time"] = gains["t"] / total_time if total_time > 0 else np.nan
    gains = gains.drop(columns=["t"]).reset_index()
    bottom = third == 2
    return ProspectEvaluation(
        n=n,
        conversion_rate=rate,
        auc=float(roc_auc_score(y, score)),
        top_decile_lift=float(gains["lift"].iloc[0]),
        top_decile_conversion_rate=float(gains["conversion_rate"].iloc[0]),
        bottom_third_time_share=float(time[bottom].sum() / total_time) if total_time else np.nan,
        bottom_third_conversion_share=float(y[bottom].sum() / y.sum()),
        time_measure=measure,
        gains=gains,
    )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _log1p_nonneg(x: Any) -> Any:
    return np.log1p(np.clip(np.asarray(x, dtype=float), 0.0, None))


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ProspectInputError(f"{name} is not a date: {value!r}") from exc
    if pd.isna(ts):
        raise ProspectInputError(f"{name} is not a date: {value!r}")
    # Project rule (docs/analytics/value.md): tz-aware values keep their wall-clock time.
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def _dates(values: pd.Series, frame: str, column: str) -> pd.Series:
    try:
        s = pd.to_datetime(values)
    except (TypeError, ValueError) as exc:
        raise ProspectInputError(f"{frame}.{column} must hold dates") from exc
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # keep wall-clock time
    return s


def _require(frame: pd.DataFrame, name: str, cols: list[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ProspectInputError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ProspectInputError(
            f"{name} is missing column(s) {missing} (it has {list(frame.columns)}); "
            "pass columns=ProspectColumns(...) to map your names"
        )
    return frame


def _align(features: pd.DataFrame, converted: pd.Series | Sequence[int]) -> np.ndarray:
    if isinstance(converted, pd.Series):
        missing = features.index.difference(converted.index)
        if len(missing):
            raise ProspectInputError(f"converted is missing for {len(missing)} prospects")
        y = converted.reindex(features.index).to_numpy()
    else:
        y = np.asarray(converted)
        if len(y) != len(features):
            raise ProspectInputError("converted and features have different lengths")
    if pd.isna(y).any() or not np.isin(y, [0, 1]).all():
        raise ProspectInputError("converted must be 0/1 (or booleans)")
    return y.astype(np.int64)
