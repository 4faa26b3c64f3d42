# mypy: disable-error-code="arg-type,call-overload"
"""The purchase models a scoring run chooses between, and the holdout back-test that chooses.

Each model in :data:`PURCHASE_MODELS` is fitted on the calibration period and predicts each
customer's purchases in the holdout weeks; the run uses the one with the smallest mean absolute
error per customer (see :func:`holdout_backtest`).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from patron.analytics import clv

# The purchase models a run chooses between by its holdout back-test, in order of preference on
# a tie (BG/NBD: the simpler and faster to fit).
PURCHASE_MODELS: dict[str, type[clv.BetaGeo] | type[clv.ParetoNBD]] = {
    "bgnbd": clv.BetaGeo,
    "paretonbd": clv.ParetoNBD,
}
# The back-test fits both models on at most this many customers (a seeded random sample): the
# parameters of either model settle well below it, and the run's time stays that of one fit.
BACKTEST_SAMPLE = 20_000


def weekly_summary(orders: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Each customer's repeat purchases, recency and age in weeks to ``end`` (clv.rfm_summary)."""
    return clv.rfm_summary(
        orders, customer_col="customer_id", date_col="date", amount_col="revenue", observation_end=end, unit="W"
    )


def fit_diagnostics(model: Any) -> dict[str, Any]:
    diag = getattr(model, "diagnostics_", None)
    out: dict[str, Any] = {"log_likelihood": float(model.log_likelihood_)}
    if diag is not None:
        for name in ("converged", "n_customers", "n_groups", "iterations", "message"):
            if hasattr(diag, name):
                v = getattr(diag, name)
                out[name] = v if isinstance(v, (bool, int, str)) or v is None else float(v)
        se = getattr(diag, "standard_errors", None)
        if se:
            out["standard_errors"] = {k: (None if v is None or not math.isfinite(v) else float(v)) for k, v in se.items()}
    return out


def holdout_backtest(orders: pd.DataFrame, as_of: pd.Timestamp, holdout_weeks: int) -> dict[str, Any]:
    """Back-test the purchase models on the book itself and choose the one the run uses.

    Each model in :data:`PURCHASE_MODELS` is fitted on the calibration period (to ``as_of -
    holdout_weeks``; the same random sample of at most :data:`BACKTEST_SAMPLE` customers for
    all) and predicts each customer's purchases in the holdout weeks. The winner has the
    smallest mean absolute error per customer; the total error (predicted minus actual
    purchases of the sample, in %) is recorded beside it. The chart is Fader-Hardie's
    conditional expectation plot: customers grouped by their number of repeat purchases in
    calibration, mean predicted (each model) vs mean actual purchases in the holdout.
    """
    cal_end = as_of - pd.Timedelta(weeks=holdout_weeks)
    cal = orders[orders["date"] < cal_end + pd.Timedelta(days=1)]
    if cal.empty or cal["customer_id"].nunique() < 50:
        return {"skipped": "not enough history before the holdout period"}
    summary = weekly_summary(cal, cal_end)
    n_book = len(summary)
    if n_book > BACKTEST_SAMPLE:
        summary = summary.sample(n=BACKTEST_SAMPLE, random_state=0).sort_index()
    hold = orders[(orders["date"] > cal_end + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))]
    hold = hold[hold["customer_id"].isin(summary.index)]
    # Same-day purchases count once, as in the calibration summary.
    actual = hold.assign(day=hold["date"].dt.normalize()).groupby("customer_id")["day"].nunique()
    frame = pd.DataFrame({"frequency": summary["frequency"], "actual": actual.reindex(summary.index).fillna(0.0)})
    models: dict[str, dict[str, Any]] = {}
    total_actual = float(frame["actual"].sum())
    for name, cls in PURCHASE_MODELS.items():
        started = time.perf_counter()
        try:
            model = cls().fit(summary)
            predicted = model.expected_purchases(summary, float(holdout_weeks))
        except clv.CLVError as exc:
            models[name] = {"error": str(exc)}
            continue
        frame[name] = predicted
        error = predicted - frame["actual"]
        total = float(predicted.sum())
        models[name] = {
            "mae": float(error.abs().mean()),
            "rmse": float(np.sqrt((error**2).mean())),
            "total_predicted": total,
            "total_error_pct": 100.0 * (total - total_actual) / total_actual if total_actual else None,
            "log_likelihood": float(model.log_likelihood_),
            "params": {k: float(v) for k, v in model.params_.items()},
            "fit_seconds": round(time.perf_counter() - started, 3),
        }
    scored = [name for name in PURCHASE_MODELS if "mae" in models[name]]
    if not scored:
        return {"error": "; ".join(f"{k}: {v['error']}" for k, v in models.items()), "models": models}
    winner = min(scored, key=lambda name: models[name]["mae"])  # ties: the first (BG/NBD)
    frame["bucket"] = frame["frequency"].clip(upper=7).astype(int)
    grouped = frame.groupby("bucket")
    means = grouped[["actual", *scored]].mean()
    return {
        "calibration_end": cal_end.date().isoformat(),
        "holdout_weeks": holdout_weeks,
        "customers": n_book,
        "sample": len(summary),
        "winner": winner,
        "models": models,
        "params": models[winner]["params"],
        "buckets": [
            {
                "frequency": int(b),
                "n": int(n),
                "predicted": float(means.at[b, winner]),
                "actual": float(means.at[b, "actual"]),
                "by_model": {name: float(means.at[b, name]) for name in scored},
            }
            for b, n in grouped.size().items()
        ],
        "total_predicted": models[winner]["total_predicted"],
        "total_actual": total_actual,
    }
