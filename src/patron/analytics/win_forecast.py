"""The pipeline forecast from win probabilities, beside the naive stage-weighted one.

* :func:`pipeline_forecast` - expected won amount by month (of ``expected_close``) and by
  owner: ``model = sum(amount_i * win_probability_i)``, ``naive = sum(amount_i *
  naive_probability_i)``.
* :func:`backtest_forecast` - at past cutoffs, refit the model on what was known then, forecast
  the next months both ways and compare with the amounts actually won (MAE, WAPE, bias).

The probabilities come from :mod:`patron.analytics.win_probability`. See
docs/analytics/win_probability.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from patron.analytics.win_probability import (
    ProspectModel,
    WinInputError,
    _book,
    _dates,
    _frame,
    _snapshots,
    _timestamp,
    training_cutoffs,
)

__all__ = ["Backtest", "PipelineForecast", "backtest_forecast", "pipeline_forecast"]


@dataclass(frozen=True)
class PipelineForecast:
    """``by_month`` (``month``) and ``by_owner`` (``owner_id``), each with ``n, amount,
    model, naive``: the open amount and the expected won amount under each probability."""

    by_month: pd.DataFrame
    by_owner: pd.DataFrame


def pipeline_forecast(scores: pd.DataFrame, *, as_of: Any) -> PipelineForecast:
    """Expected won amount: ``model = sum(amount_i * win_probability_i)``, ``naive =
    sum(amount_i * naive_probability_i)`` over the open deals of each group.

    ``scores`` is :attr:`ProspectScores.scores` (or any frame with ``owner_id, amount,
    expected_close, win_probability, naive_probability``). A deal's month is that of its
    ``expected_close``; an overdue or missing one counts in the month of ``as_of``.
    """
    s = _frame(
        scores, "scores",
        ("owner_id", "amount", "expected_close", "win_probability", "naive_probability"),
    )  # fmt: skip
    now = _timestamp(as_of, "as_of").to_period("M")
    month = _dates(s["expected_close"], "scores.expected_close", allow_missing=True)
    month = month.dt.to_period("M").fillna(now)
    s = s.assign(
        month=month.where(month >= now, now),
        model=s["amount"] * s["win_probability"],
        naive=s["amount"] * s["naive_probability"],
    )
    agg = {"n": ("amount", "size"), "amount": ("amount", "sum"),
           "model": ("model", "sum"), "naive": ("naive", "sum")}  # fmt: skip
    by_month = s.groupby("month").agg(**agg).reset_index()  # type: ignore[call-overload]
    by_owner = s.groupby("owner_id", dropna=False).agg(**agg).reset_index()  # type: ignore[call-overload]
    return PipelineForecast(by_month, by_owner)


@dataclass(frozen=True)
class Backtest:
    """``by_month``: ``cutoff, month, model, naive, actual`` (the amount of the deals open at
    the cutoff that were won in that month); ``summary``: one row per method (``model``,
    ``naive``) with ``mae`` (mean |forecast - actual| per month), ``wape``
    (sum |forecast - actual| / sum actual, per month), ``bias`` (sum(forecast - actual) /
    sum actual) and ``wape_total`` (the same as wape on each cutoff's whole window)."""

    by_month: pd.DataFrame
    summary: pd.DataFrame


def backtest_forecast(
    opportunities: pd.DataFrame,
    stage_changes: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    cutoffs: Sequence[Any],
    months: int = 3,
    horizon_days: int = 90,
    n_train_cutoffs: int = 12,
    every_days: int = 30,
    activities: pd.DataFrame | None = None,
    data_end: Any = None,
    C: float = 1.0,
) -> Backtest:
    """At each past cutoff c (best the first of a month): refit on cutoffs ending at
    ``c - h`` (what was known then), forecast the ``months`` months from c's month with both
    probabilities, and compare with what the deals open at c actually won in each month.

    New deals created after c are in neither side: the back-test measures the forecast of the
    open pipeline. Choose ``horizon_days`` about ``months * 30`` so the probabilities speak of
    the same window. The data must reach the end of each window.
    """
    book = _book(opportunities, stage_changes, stages, activities, data_end)
    rows = []
    for cut in sorted({_timestamp(c, "cutoff") for c in cutoffs}):
        first = cut.to_period("M")
        window = [first + i for i in range(months)]
        if window[-1].end_time.normalize() > book.data_end:
            raise WinInputError(f"the data end before the window of cutoff {cut.date()}")
        last = cut - pd.Timedelta(days=horizon_days)
        model = ProspectModel(C=C, horizon_days=horizon_days).fit(
            _snapshots(book, training_cutoffs(last, n=n_train_cutoffs, every_days=every_days),
                       horizon_days)
        )  # fmt: skip
        snap = _snapshots(book, [cut], None)
        snap = snap.assign(win_probability=model.predict(snap))
        fc = pipeline_forecast(snap, as_of=cut).by_month.set_index("month")
        o = book.opportunities.set_index("opportunity_id").loc[snap["opportunity_id"]]
        won = o[o["outcome"].eq("won")]
        actual = won.groupby(won["closed_at"].dt.to_period("M"))["amount"].sum()
        for m in window:
            rows.append({
                "cutoff": cut, "month": m,
                "model": float(fc["model"].get(m, 0.0)), "naive": float(fc["naive"].get(m, 0.0)),
                "actual": float(actual.get(m, 0.0)),
            })  # fmt: skip
    by_month = pd.DataFrame(rows, columns=["cutoff", "month", "model", "naive", "actual"])
    total = by_month.groupby("cutoff")[["model", "naive", "actual"]].sum()
    summary = []
    for method in ("model", "naive"):
        err = by_month[method] - by_month["actual"]
        act = by_month["actual"].sum()
        summary.append({
            "method": method, "mae": float(err.abs().mean()),
            "wape": float(err.abs().sum() / act) if act else float("nan"),
            "bias": float(err.sum() / act) if act else float("nan"),
            "wape_total": float((total[method] - total["actual"]).abs().sum() / act)
            if act else float("nan"),
        })  # fmt: skip
    return Backtest(by_month, pd.DataFrame(summary))
