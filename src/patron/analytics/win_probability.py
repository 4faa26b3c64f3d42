"""Win probability of open leads and opportunities, and the pipeline forecast it gives.

Frames in, frames out; no Django. The pieces:

* :func:`build_snapshots` - one row per (opportunity, cutoff) for every opportunity open at the
  cutoff, with its features *as they were then* and, where the data reach far enough, its label.
* :func:`fit_prospect_model` - a regularised logistic regression trained on snapshots at several
  past cutoffs; :func:`score_prospects` - ``win_probability`` and signed reasons per open one.
* :func:`evaluate_out_of_time` - train on cutoffs whose labels are known at T, test at T: AUC,
  Brier, log-loss and calibration bins for the model *and* the naive stage-weighted baseline.
* The pipeline forecast built on these probabilities and its back-test are in
  :mod:`patron.analytics.win_forecast`.

**Label.** ``win_probability`` is ``P(won within horizon_days of the cutoff)``. Among the
opportunities open at cutoff ``c``: ``y = 1`` if ``outcome == "won"`` and
``c <= closed_at < c + h``, else ``0`` - lost in the window, won later, *and still open at
c + h* (not won within the horizon). Excluding the still-open ones would keep only the deals
that closed fast and push the probabilities up, so ``sum(amount * p)`` would overstate what is
won in the next months. A cutoff is only labelled when the data cover ``c + h``.

**Features** (:data:`FEATURES`), as of ``c`` from data strictly before it: ``stage_position``
(position of the stage held at ``c``), ``days_in_stage`` (since the last stage change before
``c``, or since creation), ``age_days``, ``source``, ``channel`` (one-hot),
``log_company_size = log(1 + company_size)`` with ``company_size_missing`` (persons: 0 and 1),
``activity_per_week = activities before c / max(age in weeks, 1)``. Day counts and activity
enter the regression as ``log1p``; numerics are standardised.

**Model.** ``logit p = b0 + sum_j w_j x_j`` (L2, ``C``), as in churn (docs/analytics/churn.md):
calibrated probabilities to sum into money, exact additive reasons. A reason's contribution is
``sum over the feature's columns of w_j * (x_j - mean_j)`` (training means), so
``logit p = b0 + sum_j w_j mean_j + sum of the contributions``.

**Naive baseline.** ``naive_probability`` is the stage's default probability (``stages``).
See docs/analytics/win_probability.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from patron.analytics.errors import AnalyticsInputError

__all__ = [
    "FEATURES",
    "OPPORTUNITY_COLUMNS",
    "OUTCOMES",
    "REASON_CODES",
    "REASON_CODE_LIST",
    "ForecastEvaluation",
    "ProspectModel",
    "ProspectScores",
    "WinInputError",
    "build_snapshots",
    "calibration_bins",
    "evaluate_out_of_time",
    "fit_prospect_model",
    "score_prospects",
    "training_cutoffs",
]

OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "owner_id", "created_at", "closed_at", "outcome", "amount",
    "expected_close", "source", "channel", "company_size", "activity",
)  # fmt: skip
OUTCOMES: tuple[str, ...] = ("won", "lost", "open")
_CATEGORICAL: tuple[str, ...] = ("source", "channel")
_LOGGED: tuple[str, ...] = ("days_in_stage", "age_days", "activity_per_week")
_PLAIN: tuple[str, ...] = ("stage_position", "log_company_size", "company_size_missing")
FEATURES: tuple[str, ...] = (*_PLAIN[:1], *_LOGGED, *_CATEGORICAL, *_PLAIN[1:])

#: Reason codes per feature group: (value above the training mean, below it). Categoricals
#: carry their value instead (``source``, ``channel``); a person has ``no_company_size``.
REASON_CODES: dict[str, tuple[str, str]] = {
    "stage_position": ("late_stage", "early_stage"),
    "days_in_stage": ("long_in_stage", "recent_stage_move"),
    "age_days": ("old_deal", "new_deal"),
    "activity_per_week": ("high_activity", "low_activity"),
    "company_size": ("large_company", "small_company"),
    "source": ("source", "source"),
    "channel": ("channel", "channel"),
}
REASON_CODE_LIST: tuple[str, ...] = (
    *dict.fromkeys(c for pair in REASON_CODES.values() for c in pair), "no_company_size",
)  # fmt: skip


class WinInputError(AnalyticsInputError):
    """Input to the win-probability model is malformed (columns, outcomes, dates, stages)."""


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _frame(frame: Any, name: str, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise WinInputError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WinInputError(
            f"{name} is missing column(s) {', '.join(map(repr, missing))}; "
            f"it has: {', '.join(map(str, frame.columns)) or '(none)'}"
        )
    return frame.copy(deep=False)


def _dates(values: pd.Series, name: str, *, allow_missing: bool = False) -> pd.Series:
    try:
        s = pd.to_datetime(values)
    except (TypeError, ValueError) as exc:
        raise WinInputError(f"{name} must hold dates") from exc
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # project rule: keep wall-clock time
    if not allow_missing and s.isna().any():
        raise WinInputError(f"{name} has {int(s.isna().sum())} missing date(s)")
    return s.astype("datetime64[ns]")


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise WinInputError(f"{name} is not a date: {value!r}") from exc
    if pd.isna(ts):
        raise WinInputError(f"{name} is not a date: {value!r}")
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def _examples(ids: pd.Series) -> str:
    return ", ".join(map(str, ids.head(5).tolist()))


def _check_opportunities(opportunities: Any) -> pd.DataFrame:
    o = _frame(opportunities, "opportunities", OPPORTUNITY_COLUMNS)
    if o["opportunity_id"].duplicated().any():
        dup = o.loc[o["opportunity_id"].duplicated(), "opportunity_id"]
        raise WinInputError(f"opportunities.opportunity_id has duplicates: {_examples(dup)}")
    bad = ~o["outcome"].isin(OUTCOMES)
    if bad.any():
        values = sorted(map(repr, o.loc[bad, "outcome"].unique()[:5]))
        raise WinInputError(
            f"opportunities.outcome must be one of {', '.join(OUTCOMES)}; got {', '.join(values)}"
        )
    o["created_at"] = _dates(o["created_at"], "opportunities.created_at")
    o["closed_at"] = _dates(o["closed_at"], "opportunities.closed_at", allow_missing=True)
    o["expected_close"] = _dates(
        o["expected_close"], "opportunities.expected_close", allow_missing=True
    )
    is_open = o["outcome"].eq("open")
    for mask, what in (
        (is_open & o["closed_at"].notna(), "are open but have a closed_at"),
        (~is_open & o["closed_at"].isna(), "are won or lost but have no closed_at"),
        (o["closed_at"] < o["created_at"], "have closed_at before created_at"),
    ):
        if mask.any():
            raise WinInputError(
                f"{int(mask.sum())} opportunities {what} (e.g. "
                f"{_examples(o.loc[mask, 'opportunity_id'])})"
            )
    for col in ("amount", "activity", "company_size"):
        try:
            o[col] = pd.to_numeric(o[col]).astype(float)
        except (TypeError, ValueError) as exc:
            raise WinInputError(f"opportunities.{col} must be numeric") from exc
        allowed_nan = col == "company_size"
        if (o[col] < 0).any() or (not allowed_nan and o[col].isna().any()):
            raise WinInputError(f"opportunities.{col} must be non-negative numbers")
    for col in _CATEGORICAL:
        o[col] = o[col].astype(object).where(o[col].notna(), "unknown").astype(str)
    return o


def _check_stages(stages: Any) -> pd.DataFrame:
    s = _frame(stages, "stages", ("stage", "position", "probability"))
    if s["stage"].duplicated().any():
        raise WinInputError("stages.stage has duplicate keys")
    p = pd.to_numeric(s["probability"], errors="coerce")
    if p.isna().any() or ((p < 0) | (p > 1)).any():
        raise WinInputError("stages.probability must be numbers in [0, 1]")
    return s.assign(probability=p.astype(float), position=s["position"].astype(float))


def _check_changes(changes: Any, stages: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    c = _frame(changes, "stage_changes", ("opportunity_id", "stage", "changed_at"))
    c["changed_at"] = _dates(c["changed_at"], "stage_changes.changed_at")
    unknown = ~c["stage"].isin(stages["stage"])
    if unknown.any():
        raise WinInputError(
            "stage_changes.stage has keys not in stages: "
            f"{', '.join(map(str, c.loc[unknown, 'stage'].unique()[:5]))}"
        )
    orphan = ~c["opportunity_id"].isin(ids)
    if orphan.any():
        raise WinInputError(
            f"stage_changes has {int(orphan.sum())} rows for unknown opportunities "
            f"(e.g. {_examples(c.loc[orphan, 'opportunity_id'])})"
        )
    return c


@dataclass(frozen=True)
class _Book:
    """Checked inputs, shared by every function of the module."""

    opportunities: pd.DataFrame
    changes: pd.DataFrame
    stages: pd.DataFrame
    activities: pd.DataFrame | None
    data_end: pd.Timestamp


def _book(
    opportunities: Any,
    stage_changes: Any,
    stages: Any,
    activities: Any = None,
    data_end: Any = None,
) -> _Book:
    o = _check_opportunities(opportunities)
    s = _check_stages(stages)
    c = _check_changes(stage_changes, s, o["opportunity_id"])
    a = None
    if activities is not None:
        a = _frame(activities, "activities", ("opportunity_id", "occurred_at"))
        a["occurred_at"] = _dates(a["occurred_at"], "activities.occurred_at")
    if data_end is None:
        dates = [o["created_at"].max(), o["closed_at"].max(), c["changed_at"].max()]
        data_end = max(d for d in dates if pd.notna(d)) if len(o) else pd.Timestamp(0)
    return _Book(o, c, s, a, _timestamp(data_end, "data_end"))


# --------------------------------------------------------------------------------------------
# Snapshots: features as of each cutoff, labels over the horizon
# --------------------------------------------------------------------------------------------


def _snapshots(book: _Book, cutoffs: Sequence[Any], horizon_days: int | None) -> pd.DataFrame:
    o, parts = book.opportunities, []
    for cut in sorted({_timestamp(c, "cutoff") for c in cutoffs}):
        if horizon_days is not None and cut + pd.Timedelta(days=horizon_days) > book.data_end:
            raise WinInputError(
                f"cutoff {cut.date()} + {horizon_days} days is after the end of the data "
                f"({book.data_end.date()}): open deals would look lost for lack of data"
            )
        open_ = (o["created_at"] < cut) & (o["closed_at"].isna() | (o["closed_at"] >= cut))
        parts.append(o[open_].assign(cutoff=cut))
    snap = pd.concat(parts, ignore_index=True) if parts else o.iloc[:0].assign(cutoff=None)
    snap["cutoff"] = pd.to_datetime(snap["cutoff"]).astype("datetime64[ns]")
    # Stage held at the cutoff: the last change strictly before it (else the first stage).
    snap = snap.sort_values("cutoff", kind="stable")
    ch = book.changes.sort_values("changed_at", kind="stable")
    snap = pd.merge_asof(
        snap, ch[["opportunity_id", "stage", "changed_at"]], left_on="cutoff",
        right_on="changed_at", by="opportunity_id", allow_exact_matches=False,
    )  # fmt: skip
    first = book.stages.sort_values("position")["stage"].iloc[0]
    snap["stage"] = snap["stage"].fillna(first)
    entered = snap["changed_at"].fillna(snap["created_at"]).clip(lower=snap["created_at"])
    meta = book.stages.set_index("stage")
    snap["stage_position"] = snap["stage"].map(meta["position"]).astype(float)
    snap["naive_probability"] = snap["stage"].map(meta["probability"]).astype(float)
    snap["days_in_stage"] = (snap["cutoff"] - entered).dt.total_seconds() / 86400.0
    snap["age_days"] = (snap["cutoff"] - snap["created_at"]).dt.total_seconds() / 86400.0
    weeks = np.maximum(snap["age_days"] / 7.0, 1.0)
    if book.activities is not None:
        act = book.activities.sort_values("occurred_at", kind="stable")
        act = act.assign(_n=act.groupby("opportunity_id").cumcount() + 1.0)
        snap = pd.merge_asof(
            snap, act[["opportunity_id", "occurred_at", "_n"]], left_on="cutoff",
            right_on="occurred_at", by="opportunity_id", allow_exact_matches=False,
        )  # fmt: skip
        snap["activity_per_week"] = snap["_n"].fillna(0.0) / weeks
    else:
        # A count without dates: its rate over the deal's life so far (to close or data end).
        end = snap["closed_at"].fillna(book.data_end)
        end = end.mask(end > book.data_end, book.data_end)
        life = (end - snap["created_at"]).dt.total_seconds() / (7 * 86400.0)
        snap["activity_per_week"] = snap["activity"] / np.maximum(life, 1.0)
    size = snap["company_size"]
    snap["company_size_missing"] = size.isna().astype(float)
    snap["log_company_size"] = np.log1p(size.fillna(0.0))
    if horizon_days is not None:
        until = snap["cutoff"] + pd.Timedelta(days=horizon_days)
        snap["won"] = (snap["outcome"].eq("won") & (snap["closed_at"] < until)).astype(int)
    snap = snap.sort_values(["cutoff", "opportunity_id"], kind="stable").reset_index(drop=True)
    keep = ["opportunity_id", "cutoff", "owner_id", "amount", "expected_close", "stage"]
    return snap[[*keep, "naive_probability", *FEATURES, *(["won"] if horizon_days else [])]]


def build_snapshots(
    opportunities: pd.DataFrame,
    stage_changes: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    cutoffs: Sequence[Any],
    horizon_days: int | None = 90,
    activities: pd.DataFrame | None = None,
    data_end: Any = None,
) -> pd.DataFrame:
    """One row per (opportunity, cutoff) open at the cutoff: features and label.

    Open at ``c``: ``created_at < c`` and (``closed_at`` missing or ``closed_at >= c``).
    Columns: ``opportunity_id, cutoff, owner_id, amount, expected_close, stage,
    naive_probability`` then :data:`FEATURES` and, unless ``horizon_days`` is None, ``won``
    (see the module docstring; every cutoff must then satisfy ``c + h <= data_end``, which
    defaults to the latest date in the inputs). ``activities`` (``opportunity_id,
    occurred_at``), if given, counts activity before each cutoff exactly; otherwise the
    ``activity`` count is spread evenly over the deal's life.
    """
    book = _book(opportunities, stage_changes, stages, activities, data_end)
    return _snapshots(book, cutoffs, horizon_days)


def training_cutoffs(last: Any, *, n: int = 12, every_days: int = 30) -> list[pd.Timestamp]:
    """``n`` cutoffs ``every_days`` apart, the latest at ``last`` (oldest first)."""
    if n < 1 or every_days < 1:
        raise WinInputError("n and every_days must be >= 1")
    end = _timestamp(last, "last").normalize()
    return [end - pd.Timedelta(days=every_days * k) for k in range(n - 1, -1, -1)]


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

_GROUPS: dict[str, tuple[str, ...]] = {
    "stage_position": ("stage_position",),
    "days_in_stage": ("days_in_stage",),
    "age_days": ("age_days",),
    "activity_per_week": ("activity_per_week",),
    "source": ("source",),
    "channel": ("channel",),
    "company_size": ("log_company_size", "company_size_missing"),
}


class ProspectModel:
    """Fitted win-probability model (see :func:`fit_prospect_model`)."""

    def __init__(self, C: float = 1.0, horizon_days: int = 90) -> None:
        self.C = C
        self.horizon_days = horizon_days
        log1p = FunctionTransformer(np.log1p, feature_names_out="one-to-one")
        transformers = [
            (name, make_pipeline(log1p, StandardScaler()), [name]) for name in _LOGGED
        ]
        transformers += [(name, StandardScaler(), [name]) for name in _PLAIN]
        transformers += [
            (name, OneHotEncoder(handle_unknown="ignore", sparse_output=False), [name])
            for name in _CATEGORICAL
        ]
        self.design_ = ColumnTransformer(transformers)
        self.regression_ = LogisticRegression(C=C, max_iter=2000)

    def fit(self, snapshots: pd.DataFrame) -> ProspectModel:
        """Fit on labelled snapshots (:func:`build_snapshots` with a horizon)."""
        y = snapshots["won"].to_numpy()
        if len(np.unique(y)) < 2:
            raise WinInputError("training snapshots need both won and not-won deals")
        x = self.design_.fit_transform(snapshots[list(FEATURES)])
        self.regression_.fit(x, y)
        self.mean_ = x.mean(axis=0)
        self.coef_ = self.regression_.coef_[0]
        names = self.design_.get_feature_names_out()
        self.coefficients_ = pd.Series(self.coef_, index=[n.split("__", 1)[1] for n in names])
        self.n_train_ = len(y)
        self.win_rate_train_ = float(y.mean())
        self.cutoffs_ = sorted(snapshots["cutoff"].unique())
        return self

    def predict(self, snapshots: pd.DataFrame) -> np.ndarray:
        """``win_probability`` = ``1 / (1 + exp(-logit))`` for each snapshot row."""
        if not hasattr(self, "coef_"):
            raise WinInputError("the model is not fitted")
        x = self.design_.transform(snapshots[list(FEATURES)])
        return np.asarray(self.regression_.predict_proba(x)[:, 1])

    def contributions(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        """Log-odds added by each feature group: ``sum_j w_j (x_j - mean_j)`` over its columns."""
        x = self.design_.transform(snapshots[list(FEATURES)])
        parts = (x - self.mean_) * self.coef_
        idx = self.design_.output_indices_
        return pd.DataFrame(
            {g: sum(parts[:, idx[f]].sum(axis=1) for f in cols) for g, cols in _GROUPS.items()},
            index=snapshots.index,
        )

    def reasons(self, snapshots: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """Top-``k`` reasons per row by absolute contribution, signed (+ raises the chance).

        Columns: ``opportunity_id, rank, reason`` (a code of :data:`REASON_CODE_LIST`),
        ``feature``, ``value`` (the raw value: days, per week, the category, the company
        size), ``contribution`` (log-odds).
        """
        if k < 1:
            raise WinInputError(f"k must be >= 1, got {k!r}")
        contrib = self.contributions(snapshots)
        n, parts = len(snapshots), []
        for g in _GROUPS:
            if g in _CATEGORICAL:
                code = np.full(n, g, dtype=object)
                value = snapshots[g].to_numpy(dtype=object)
            elif g == "company_size":
                lsize = snapshots["log_company_size"].to_numpy(dtype=float)
                person = snapshots["company_size_missing"].to_numpy(dtype=float) == 1
                mean = self.design_.named_transformers_["log_company_size"].mean_[0]
                code = np.where(person, "no_company_size",
                                np.where(lsize > mean, *REASON_CODES[g]))  # fmt: skip
                value = np.where(person, np.nan, np.expm1(lsize)).astype(object)
            else:
                raw = snapshots[g].to_numpy(dtype=float)
                step = self.design_.named_transformers_[g]
                mean = (step[-1] if hasattr(step, "steps") else step).mean_[0]
                t = np.log1p(raw) if g in _LOGGED else raw
                code = np.where(t > mean, *REASON_CODES[g]).astype(object)
                value = raw.astype(object)
            parts.append(pd.DataFrame({
                "row": np.arange(n), "reason": code, "feature": g, "value": value,
                "contribution": contrib[g].to_numpy(),
            }))  # fmt: skip
        long = pd.concat(parts, ignore_index=True)
        long = long[long["contribution"] != 0]
        long = long.assign(_abs=-long["contribution"].abs()).sort_values(
            ["row", "_abs", "feature"], kind="stable"
        )
        long["rank"] = long.groupby("row").cumcount() + 1
        long = long[long["rank"] <= k]
        ids = snapshots["opportunity_id"].to_numpy()
        long.insert(0, "opportunity_id", ids[long["row"].to_numpy()])
        cols = ["opportunity_id", "rank", "reason", "feature", "value", "contribution"]
        return long[cols].reset_index(drop=True)


def fit_prospect_model(
    opportunities: pd.DataFrame,
    stage_changes: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    cutoffs: Sequence[Any],
    horizon_days: int = 90,
    activities: pd.DataFrame | None = None,
    data_end: Any = None,
    C: float = 1.0,
) -> ProspectModel:
    """Fit the model on the snapshots at ``cutoffs`` (each needs ``c + h <= data_end``).

    A deal open at several cutoffs gives one row per cutoff, with its stage, age in stage and
    activity as they were then; e.g. ``cutoffs=training_cutoffs(today - h, n=12)``.
    """
    book = _book(opportunities, stage_changes, stages, activities, data_end)
    return ProspectModel(C=C, horizon_days=horizon_days).fit(
        _snapshots(book, cutoffs, horizon_days)
    )


@dataclass(frozen=True)
class ProspectScores:
    """``scores``: one row per open opportunity (``opportunity_id, owner_id, amount,
    expected_close, stage, naive_probability, win_probability``); ``reasons``: see
    :meth:`ProspectModel.reasons`."""

    scores: pd.DataFrame
    reasons: pd.DataFrame


def score_prospects(
    model: ProspectModel,
    opportunities: pd.DataFrame,
    stage_changes: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    as_of: Any,
    activities: pd.DataFrame | None = None,
    k: int = 3,
) -> ProspectScores:
    """``win_probability`` and the top-``k`` signed reasons of each deal open at ``as_of``."""
    book = _book(opportunities, stage_changes, stages, activities, data_end=as_of)
    snap = _snapshots(book, [as_of], None)
    cols = ["opportunity_id", "owner_id", "amount", "expected_close", "stage"]
    scores = snap[[*cols, "naive_probability"]].assign(win_probability=model.predict(snap))
    return ProspectScores(scores, model.reasons(snap, k=k))


# --------------------------------------------------------------------------------------------
# Out-of-time evaluation
# --------------------------------------------------------------------------------------------


def calibration_bins(won: Any, predicted: Any, bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed by equal-width bins of the prediction (empty bins dropped).

    Columns ``bin, lower, upper, n, mean_predicted, observed_rate``. Fixed edges (not
    quantiles) so the model and the stage-weighted baseline, which has a handful of distinct
    values, are read on the same axis.
    """
    y, p = np.asarray(won, dtype=float), np.asarray(predicted, dtype=float)
    if len(y) != len(p) or not len(y):
        raise WinInputError("labels and predictions must be non-empty and of equal length")
    b = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": b, "p": p, "y": y})
    out = frame.groupby("bin").agg(
        n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean")
    )
    out.insert(0, "lower", out.index / bins)
    out.insert(1, "upper", (out.index + 1) / bins)
    return out.reset_index()


def _scores(y: np.ndarray, p: np.ndarray, bins: int) -> dict[str, Any]:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    return {
        "auc": auc,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, q, labels=[0, 1])),
        "calibration": calibration_bins(y, p, bins),
    }


@dataclass(frozen=True)
class ForecastEvaluation:
    """Out-of-time scores of the model and of the naive stage-weighted baseline at T."""

    test_cutoff: pd.Timestamp
    horizon_days: int
    train_cutoffs: list[pd.Timestamp]
    n_train: int
    n_test: int
    win_rate_train: float
    win_rate_test: float
    model: dict[str, Any]  # auc, brier, log_loss, calibration
    naive: dict[str, Any]
    predictions: pd.DataFrame  # the test snapshots with win_probability
    fitted: ProspectModel


def evaluate_out_of_time(
    opportunities: pd.DataFrame,
    stage_changes: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    test_cutoff: Any,
    horizon_days: int = 90,
    train_cutoffs: Sequence[Any] | None = None,
    n_train_cutoffs: int = 12,
    every_days: int = 30,
    activities: pd.DataFrame | None = None,
    data_end: Any = None,
    C: float = 1.0,
    bins: int = 10,
) -> ForecastEvaluation:
    """Train on cutoffs whose labels were known at T, test on the deals open at T.

    Training cutoffs default to :func:`training_cutoffs` ending at ``T - h``; any cutoff after
    ``T - h`` is refused (its labels would look past T). Test: the snapshots at T, labelled
    over ``[T, T + h)``. Both the model and the baseline (``naive_probability``) get AUC, Brier
    ``mean((p - y)^2)``, log-loss ``-mean(y log p + (1 - y) log(1 - p))`` (p clipped to
    [1e-6, 1 - 1e-6]) and :func:`calibration_bins`.
    """
    book = _book(opportunities, stage_changes, stages, activities, data_end)
    t = _timestamp(test_cutoff, "test_cutoff")
    last = t - pd.Timedelta(days=horizon_days)
    cuts = [_timestamp(c, "train_cutoff") for c in train_cutoffs] if train_cutoffs else None
    cuts = cuts or training_cutoffs(last, n=n_train_cutoffs, every_days=every_days)
    if max(cuts) > last:
        raise WinInputError(f"training cutoffs must be on or before T - horizon ({last.date()})")
    train = _snapshots(book, cuts, horizon_days)
    test = _snapshots(book, [t], horizon_days)
    if test.empty:
        raise WinInputError(f"no opportunity is open at {t.date()}")
    model = ProspectModel(C=C, horizon_days=horizon_days).fit(train)
    test = test.assign(win_probability=model.predict(test))
    y = test["won"].to_numpy()
    return ForecastEvaluation(
        test_cutoff=t, horizon_days=horizon_days, train_cutoffs=sorted(cuts),
        n_train=len(train), n_test=len(test), win_rate_train=float(train["won"].mean()),
        win_rate_test=float(y.mean()), model=_scores(y, test["win_probability"].to_numpy(), bins),
        naive=_scores(y, test["naive_probability"].to_numpy(), bins), predictions=test,
        fitted=model,
    )  # fmt: skip
