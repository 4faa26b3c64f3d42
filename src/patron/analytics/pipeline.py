# mypy: disable-error-code="union-attr,arg-type,call-overload,type-var,assignment"
# (pandas-stubs types cell values and itertuples fields as a union of every scalar type;
# this module moves such values between frames and casts them explicitly where it matters.)
"""The scoring pipeline: every per-customer figure of a scoring run, from plain DataFrames.

It strings the analytics core together in one place (CLV models, profit and value classes,
RFM, churn, value-class migration, purchase trends, next-product recommendations) and returns
one frame of scores per customer plus JSON-ready parameters and diagnostics. It never imports
Django: the application extracts the frames and writes the results back, and a notebook can run
the same pipeline on a CSV export.

Conventions (documented for users in docs/analytics/scoring.md):

* Time unit of the purchase models: weeks; observation end = the run's ``as_of`` day (inclusive).
* Purchase model: BG/NBD or Pareto/NBD, whichever predicts the book's own holdout period better
  (mean absolute error per customer; both fitted on the same calibration sample): the run's
  back-test, recorded in ``diagnostics["holdout"]["models"]`` and ``params["purchase_model"]``.
* CLV: discounted expected *gross margin* over ``clv_horizon_weeks`` (default 52), with the
  annual ``discount_rate`` (default 10%) turned into a weekly rate; spend comes from the
  Gamma-Gamma model on revenue, times the customer's own gross-margin rate (clipped to 0..1).
* Current value: profit over the trailing 12 months (revenue - cost of goods - cost to serve);
  value classes compare it with the 12-month CLV (most growable = largest gap).
* Churn: no purchase in the ``churn_horizon_days`` after a cutoff. The production model is fitted
  at ``as_of - h`` on what happened in ``[as_of - h, as_of)`` and scores customers as of
  ``as_of``; its out-of-time evaluation fits at ``as_of - 2h`` and tests at ``as_of - h``.
* Migration: value classes per complete calendar quarter from that quarter's profit
  (most valuable / other / below zero: predicted value cannot be reconstructed for the past).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from patron.analytics import (
    _pairs,
    basket,
    churn,
    clv,
    migration,
    migration_flows,
    purchase_models,
    rfm,
    trends,
    value,
)
from patron.analytics.errors import AnalyticsInputError

MIGRATION_CLASSES: tuple[str, ...] = ("most_valuable", "other", "below_zero")


@dataclass(frozen=True)
class ScoringConfig:
    as_of: pd.Timestamp
    clv_horizon_weeks: int = 52
    discount_rate: float = 0.10  # per year
    expected_purchases_days: int = 90
    holdout_weeks: int = 26
    churn_horizon_days: int = 180
    migration_quarters: int = 8
    migration_forecast_quarters: int = 4
    basket_days: int = 365
    basket_min_support: float = 0.002
    basket_min_lift: float = 1.2
    basket_max_len: int = 2
    recommendations: int = 3
    value_thresholds: value.ValueThresholds = field(default_factory=value.ValueThresholds)

    @property
    def weekly_discount(self) -> float:
        return (1.0 + self.discount_rate) ** (1.0 / 52.0) - 1.0

    def as_params(self) -> dict[str, Any]:
        """Every setting but the day, JSON-ready: a run keeps them to rescore alike between runs."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("as_of", "value_thresholds")}
        out["value_thresholds"] = asdict(self.value_thresholds)
        return out

    @classmethod
    def from_params(cls, as_of: pd.Timestamp, params: dict[str, Any]) -> ScoringConfig:
        """The configuration a run scored with (``params["config"]``, from :meth:`as_params`), as
        of its day. A run stored before the settings were kept: the defaults, with the CLV
        horizon and rates its ``params["clv"]`` recorded."""
        stored = dict(params.get("config") or {})
        if not stored and isinstance(params.get("clv"), dict):
            clv_params = params["clv"]
            if "horizon_weeks" in clv_params:
                stored["clv_horizon_weeks"] = int(clv_params["horizon_weeks"])
            if "weekly_discount" in clv_params:
                stored["discount_rate"] = (1.0 + float(clv_params["weekly_discount"])) ** 52.0 - 1.0
            if "expected_purchases_weeks" in clv_params:
                stored["expected_purchases_days"] = round(float(clv_params["expected_purchases_weeks"]) * 7.0)
        known = {f.name for f in fields(cls)} - {"as_of", "value_thresholds"}
        settings = {k: v for k, v in stored.items() if k in known}
        thresholds = stored.get("value_thresholds")
        if isinstance(thresholds, dict):
            settings["value_thresholds"] = value.ValueThresholds(**thresholds)
        return cls(as_of=pd.Timestamp(as_of).normalize(), **settings)


@dataclass
class ScoringInputs:
    """Frames with these columns (extra columns are ignored):

    orders: order_id, customer_id, date, revenue, cogs
    lines: order_id, product_id                       (for baskets)
    costs: customer_id, date, amount                  (cost to serve)
    customers: customer_id                            (every customer, buyers or not)
    nps: customer_id, date, score                     (optional)
    interactions: customer_id, date, kind             (optional; complaints and claims count)
    follow_ups: customer_id, opened_at, closed_at     (optional)
    """

    orders: pd.DataFrame
    lines: pd.DataFrame
    costs: pd.DataFrame
    customers: pd.DataFrame
    nps: pd.DataFrame | None = None
    interactions: pd.DataFrame | None = None
    follow_ups: pd.DataFrame | None = None


@dataclass
class ScoringResult:
    scores: pd.DataFrame  # index customer_id
    params: dict[str, Any]
    diagnostics: dict[str, Any]
    # Fitted estimators by name ("purchase": the chosen BG/NBD or Pareto/NBD, "gammagamma",
    # "churn"), kept to rescore a customer between runs with the same models.
    fitted: dict[str, Any]
    timings: dict[str, float]


SCORE_COLUMNS = [
    "revenue", "cogs", "cost_to_serve", "profit", "profit_12m", "value_class", "value_gap",
    "frequency", "recency", "T", "monetary", "p_alive", "expected_purchases", "clv",
    "r_score", "f_score", "m_score", "rfm_code", "rfm_segment", "trend", "churn_risk",
    "churn_reasons", "move_down_prob", "recommendations",
]  # fmt: skip

Progress = Callable[[str], None]


def run_pipeline(inputs: ScoringInputs, config: ScoringConfig, progress: Progress | None = None) -> ScoringResult:
    as_of = pd.Timestamp(config.as_of).normalize()
    orders = inputs.orders[inputs.orders["date"] < as_of + pd.Timedelta(days=1)]
    costs = inputs.costs[inputs.costs["date"] < as_of + pd.Timedelta(days=1)]
    ids = pd.Index(inputs.customers["customer_id"].unique(), name="customer_id").sort_values()
    scores = pd.DataFrame(index=ids)
    params: dict[str, Any] = {"as_of": as_of.date().isoformat(), "config": config.as_params()}
    diagnostics: dict[str, Any] = {}
    timings: dict[str, float] = {}
    say = progress or (lambda _step: None)

    def run(name: str, fn: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            fn()
        except (AnalyticsInputError, clv.CLVError) as exc:
            if name == "profit":
                raise  # without profit there is nothing to score: the data itself is unusable
            # A model that cannot be fitted on these data leaves its figures empty and says why;
            # the other figures are still worth having.
            diagnostics[name] = {"error": str(exc)}
        timings[name] = round(time.perf_counter() - started, 3)

    def step(name: str, fn: Callable[[], None]) -> None:
        say(name)
        run(name, fn)

    # Migration and baskets read only the inputs and fill only their own column, so they run in
    # a second thread beside the other steps: DuckDB, numpy's sorts and scipy's sparse products
    # work outside the GIL (at 1M customers their 15 s hid almost wholly behind the other
    # steps' 18 s). Each fills a frame of its own; this thread copies the columns over.
    aside = {name: pd.DataFrame(index=ids) for name in ("migration", "baskets")}
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = [
            pool.submit(run, "migration", lambda: _migration(orders, costs, config, as_of, aside["migration"], diagnostics)),
            pool.submit(run, "baskets", lambda: _baskets(orders, inputs.lines, config, as_of, aside["baskets"], params, diagnostics)),
        ]
        fitted: dict[str, Any] = {}
        try:
            step("profit", lambda: _profit(orders, costs, as_of, scores))
            # The back-test first: it chooses the purchase model the CLV step fits on everything.
            step("holdout", lambda: diagnostics.update(holdout=purchase_models.holdout_backtest(orders, as_of, config.holdout_weeks)))
            step("clv", lambda: _clv(orders, config, as_of, scores, params, diagnostics, fitted))
            step("value", lambda: _value_classes(config, scores, params, diagnostics))
            step("rfm", lambda: _rfm(orders, as_of, scores, params))
            step("trend", lambda: _trend(orders, as_of, scores))
            step("churn", lambda: _churn(orders, inputs, config, as_of, scores, params, diagnostics, fitted))
        except BaseException:
            for future in later:
                future.cancel()
            raise
        for name, future in zip(aside, later, strict=True):
            say(name)
            future.result()
            for column in aside[name].columns:
                scores[column] = aside[name][column]
    for column in SCORE_COLUMNS:
        if column not in scores.columns:
            scores[column] = None
    diagnostics["timings"] = timings
    return ScoringResult(scores[SCORE_COLUMNS], params, diagnostics, fitted, timings)


# --- steps ------------------------------------------------------------------------------------


def _profit(orders: pd.DataFrame, costs: pd.DataFrame, as_of: pd.Timestamp, scores: pd.DataFrame) -> None:
    end = as_of + pd.Timedelta(days=1)
    total = value.profit_by_customer(orders, costs, end=end)
    recent = value.profit_by_customer(orders, costs, start=end - pd.Timedelta(days=365), end=end)
    total = total.set_index("customer_id")
    scores["revenue"] = total["revenue"].reindex(scores.index).fillna(0.0)
    scores["cogs"] = total["cogs"].reindex(scores.index).fillna(0.0)
    scores["cost_to_serve"] = total["cost_to_serve"].reindex(scores.index).fillna(0.0)
    scores["profit"] = total["profit"].reindex(scores.index).fillna(0.0)
    scores["profit_12m"] = recent.set_index("customer_id")["profit"].reindex(scores.index).fillna(0.0)


def _clv(
    orders: pd.DataFrame,
    config: ScoringConfig,
    as_of: pd.Timestamp,
    scores: pd.DataFrame,
    params: dict[str, Any],
    diagnostics: dict[str, Any],
    fitted: dict[str, Any],
) -> None:
    if orders.empty:
        diagnostics["clv"] = {"skipped": "no orders"}
        return
    summary = purchase_models.weekly_summary(orders, as_of)
    _summary_scores(summary, scores)
    chosen = diagnostics.get("holdout", {}).get("winner") or "bgnbd"
    try:
        bg = purchase_models.PURCHASE_MODELS[chosen]().fit(summary)
    except clv.CLVError as exc:
        if chosen == "bgnbd":
            diagnostics["clv"] = {"error": str(exc)}
            return
        # The back-test's winner failed on the whole book: the simpler model, saying why.
        diagnostics["purchase_model_fallback"] = {"model": chosen, "error": str(exc)}
        chosen = "bgnbd"
        try:
            bg = clv.BetaGeo().fit(summary)
        except clv.CLVError as exc2:
            diagnostics["clv"] = {"error": str(exc2)}
            return
    fitted["purchase"] = bg
    params["purchase_model"] = chosen
    params[chosen] = {k: float(v) for k, v in bg.params_.items()}
    diagnostics[chosen] = purchase_models.fit_diagnostics(bg)
    t = config.expected_purchases_days / 7.0
    _purchase_scores(bg, summary, config, scores)
    try:
        gg = clv.GammaGamma().fit(summary)
    except clv.CLVError as exc:
        diagnostics["gammagamma"] = {"error": str(exc)}
        return
    fitted["gammagamma"] = gg
    params["gammagamma"] = {k: float(v) for k, v in gg.params_.items()}
    diagnostics["gammagamma"] = purchase_models.fit_diagnostics(gg)
    scores["clv"] = _margin_clv(bg, gg, summary, config, scores)
    params["clv"] = {
        "horizon_weeks": config.clv_horizon_weeks,
        "weekly_discount": config.weekly_discount,
        "expected_purchases_weeks": t,
    }


def _summary_scores(summary: pd.DataFrame, scores: pd.DataFrame) -> None:
    for src, dst in (("frequency", "frequency"), ("recency", "recency"), ("T", "T"), ("monetary_value", "monetary")):
        scores[dst] = summary[src].reindex(scores.index)


def _purchase_scores(bg: Any, summary: pd.DataFrame, config: ScoringConfig, scores: pd.DataFrame) -> None:
    scores["p_alive"] = bg.p_alive(summary).reindex(scores.index)
    scores["expected_purchases"] = bg.expected_purchases(summary, config.expected_purchases_days / 7.0).reindex(scores.index)


def _margin_clv(bg: Any, gg: Any, summary: pd.DataFrame, config: ScoringConfig, scores: pd.DataFrame) -> pd.Series:
    """Discounted expected revenue times the customer's own gross-margin rate."""
    value_rev = clv.lifetime_value(bg, gg, summary, horizon=config.clv_horizon_weeks, discount_rate=config.weekly_discount)
    margin_rate = ((scores["revenue"] - scores["cogs"]) / scores["revenue"].where(scores["revenue"] > 0)).clip(0, 1)
    return (value_rev.reindex(scores.index) * margin_rate.fillna(0.0)).where(scores["frequency"].notna())


def _value_classes(config: ScoringConfig, scores: pd.DataFrame, params: dict[str, Any], diagnostics: dict[str, Any]) -> None:
    predicted = scores["clv"].astype(float).fillna(0.0) if "clv" in scores else pd.Series(0.0, index=scores.index)
    frame = pd.DataFrame({"profit_12m": scores["profit_12m"], "clv": predicted})
    classified = value.classify_value(frame, profit_col="profit_12m", predicted_col="clv", thresholds=config.value_thresholds)
    scores["value_class"] = classified["value_class"]
    scores["value_gap"] = classified["value_gap"]
    counts = scores["value_class"].value_counts()
    diagnostics["value_classes"] = {k: int(counts.get(k, 0)) for k in value.VALUE_CLASSES}
    mv = scores.loc[scores["value_class"] == "most_valuable", "profit_12m"]
    mg = scores.loc[scores["value_class"] == "most_growable", "value_gap"]
    # The cut-offs this run drew, so a customer rescored between runs lands in the same classes.
    params["value"] = {
        "most_valuable_min_profit_12m": float(mv.min()) if len(mv) else None,
        "most_growable_min_gap": float(mg.min()) if len(mg) else None,
        "below_zero_profit": float(config.value_thresholds.below_zero_profit),
    }


def _rfm(orders: pd.DataFrame, as_of: pd.Timestamp, scores: pd.DataFrame, params: dict[str, Any]) -> None:
    if orders.empty:
        return
    table = rfm.rfm_scores(orders, "customer_id", "date", "revenue", as_of=as_of).set_index("customer_id")
    for src, dst in (("r_score", "r_score"), ("f_score", "f_score"), ("m_score", "m_score"),
                     ("rfm_code", "rfm_code"), ("segment", "rfm_segment")):  # fmt: skip
        scores[dst] = table[src].reindex(scores.index)
    # The smallest value that earns each score, so a new order can be scored at once between
    # runs (recency: the largest number of days that still earns each score).
    bounds: dict[str, dict[str, float]] = {}
    for dim, col, agg in (("r", "recency_days", "max"), ("f", "frequency", "min"), ("m", "monetary", "min")):
        per = table.groupby(f"{dim}_score")[col].agg(agg)
        bounds[dim] = {str(int(k)): float(v) for k, v in per.items()}
    params["rfm_bounds"] = bounds


def _trend(orders: pd.DataFrame, as_of: pd.Timestamp, scores: pd.DataFrame) -> None:
    if orders.empty:
        return
    last = pd.Period(as_of, freq="M") - 1  # the last complete month
    table = trends.purchase_trend(orders, "customer_id", "date", freq="M", k=6, last_period=last, order_col="order_id")
    scores["trend"] = table.set_index("customer_id")["trend"].reindex(scores.index)


def _optional(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if frame is None or frame.empty else frame


def _churn(
    orders: pd.DataFrame,
    inputs: ScoringInputs,
    config: ScoringConfig,
    as_of: pd.Timestamp,
    scores: pd.DataFrame,
    params: dict[str, Any],
    diagnostics: dict[str, Any],
    fitted: dict[str, Any],
) -> None:
    h = pd.Timedelta(days=config.churn_horizon_days)
    end = as_of + pd.Timedelta(days=1)
    if orders.empty or orders["date"].min() > end - 2 * h - pd.Timedelta(days=90):
        diagnostics["churn"] = {"skipped": "less than two churn horizons of order history"}
        return
    extra = {
        "nps": _optional(inputs.nps),
        "interactions": _optional(inputs.interactions),
        "follow_ups": _optional(inputs.follow_ups),
    }
    orders = orders.assign(amount=orders["revenue"])
    try:
        evaluation = churn.evaluate_out_of_time(
            orders, train_cutoff=end - 2 * h, horizon_days=config.churn_horizon_days, data_end=end, **extra
        )
        test_x, test_y = evaluation.test_features, evaluation.test_labels
        if config.churn_horizon_days == churn.DEFAULT_ACTIVE_DAYS and test_x is not None and test_y is not None:
            # The evaluation's test set is this training set: same cutoff (end - h), same orders
            # and answers, and its active window (the horizon) is build_features' default one.
            train_x, train_y = test_x, test_y
        else:
            train_x = churn.build_features(orders, cutoff=end - h, **extra)
            train_y = churn.build_labels(orders, cutoff=end - h, horizon_days=config.churn_horizon_days)
        model = churn.ChurnModel(attitude=True).fit(train_x, train_y.reindex(train_x.index))
        now_x = churn.build_features(orders, cutoff=end, **extra)
    except AnalyticsInputError as exc:
        diagnostics["churn"] = {"error": str(exc)}
        return
    fitted["churn"] = model
    risk = model.predict_risk(now_x)
    reasons = model.reasons(now_x, k=3)
    by_customer = _lists(reasons["customer_id"], reasons["reason"])
    scores["churn_risk"] = risk.reindex(scores.index)
    scores["churn_reasons"] = by_customer.reindex(scores.index)
    diagnostics["churn"] = {
        "train_cutoff": str(evaluation.train_cutoff.date()),
        "test_cutoff": str(evaluation.test_cutoff.date()),
        "horizon_days": evaluation.horizon_days,
        "n_train": evaluation.n_train,
        "n_test": evaluation.n_test,
        "auc": evaluation.auc,
        "auc_behaviour": evaluation.auc_behaviour,
        "auc_gain": evaluation.auc_gain,
        "brier": evaluation.brier,
        "brier_behaviour": evaluation.brier_behaviour,
        "calibration": _records(evaluation.calibration),
        "calibration_behaviour": _records(evaluation.calibration_behaviour),
        "coefficients": {k: float(v) for k, v in model.coef_.items()},
    }
    params["churn"] = {
        "horizon_days": config.churn_horizon_days,
        "cutoff": str((end - h).date()),
        # One-order customers' gap in recency_ratio is the book's; rescoring a few uses it too.
        "typical_gap_days": float(now_x.attrs["typical_gap_days"]),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()})
    return out


def _migration(
    orders: pd.DataFrame,
    costs: pd.DataFrame,
    config: ScoringConfig,
    as_of: pd.Timestamp,
    scores: pd.DataFrame,
    diagnostics: dict[str, Any],
) -> None:
    current_q = pd.Period(as_of, freq="Q")
    end = current_q.start_time  # complete quarters only
    start = (current_q - config.migration_quarters).start_time
    if orders.empty or orders["date"].min() >= (current_q - 2).start_time:
        diagnostics["migration"] = {"skipped": "fewer than two complete quarters of history"}
        return
    by_q = value.profit_by_period(orders, costs, freq="Q", start=start, end=end)
    labels = value.classify_value(by_q, profit_col="profit", by="period", thresholds=config.value_thresholds)
    labels = labels[["customer_id", "period", "value_class"]]
    matrix = migration.transition_matrix(labels, classes=MIGRATION_CLASSES)
    latest = labels["period"].max()
    current_mix = labels.loc[labels["period"] == latest, "value_class"].value_counts(normalize=True)
    current_counts = labels.loc[labels["period"] == latest, "value_class"].value_counts()
    # The forecast counts customers entering (new) and leaving each class, not survivors only.
    flows = migration_flows.flow_model(labels, classes=MIGRATION_CLASSES)
    counts_ahead = migration_flows.forecast_counts(flows, current_counts, config.migration_forecast_quarters)
    forecast = counts_ahead.div(counts_ahead.sum(axis=1).where(lambda x: x > 0), axis=0).fillna(0.0)
    stationarity = migration_flows.stationarity_test(labels, classes=MIGRATION_CLASSES)
    back = migration_flows.backtest(labels, classes=MIGRATION_CLASSES)
    down = migration.likely_to_move_down(labels, matrix, classes=MIGRATION_CLASSES, period=latest)
    scores["move_down_prob"] = down.set_index("customer_id")["p_down"].reindex(scores.index)
    diagnostics["migration"] = {
        "classes": list(MIGRATION_CLASSES),
        "latest_period": str(latest),
        "periods": sorted({str(p) for pair in matrix.period_pairs for p in pair}),
        "counts": matrix.counts.astype(int).values.tolist(),
        "probabilities": [[None if pd.isna(v) else float(v) for v in row] for row in matrix.probabilities.values],
        "current_mix": {k: float(current_mix.get(k, 0.0)) for k in MIGRATION_CLASSES},
        "forecast": [
            {"step": int(i), **{k: float(row[k]) for k in MIGRATION_CLASSES if k in row}}
            for i, (_, row) in enumerate(forecast.iterrows())
        ],
        "forecast_counts": [
            {"step": int(i), **{k: float(row[k]) for k in MIGRATION_CLASSES}}
            for i, (_, row) in enumerate(counts_ahead.iterrows())
        ],
        "exit_probabilities": {k: _finite(flows.probabilities.at[k, migration_flows.EXIT]) for k in MIGRATION_CLASSES},
        "entries_per_period": {k: float(flows.entries[k]) for k in MIGRATION_CLASSES},
        "stationarity": {
            "statistic": stationarity.statistic,
            "df": stationarity.df,
            "p_value": stationarity.p_value,
            "stationary": stationarity.stationary,
        },
        "backtest": {
            "forecasts": back.n_forecasts,
            "errors": {
                method: {k: _finite(v) for k, v in row.items()} for method, row in back.errors.iterrows()
            },
            "beats_no_change": back.beats_no_change,
            "beats_last_matrix": back.beats_last_matrix,
        },
    }


def _finite(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def _baskets(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    config: ScoringConfig,
    as_of: pd.Timestamp,
    scores: pd.DataFrame,
    params: dict[str, Any],
    diagnostics: dict[str, Any],
) -> None:
    if lines.empty:
        diagnostics["baskets"] = {"skipped": "no order lines"}
        return
    window_start = as_of + pd.Timedelta(days=1) - pd.Timedelta(days=config.basket_days)
    recent_orders = orders.loc[orders["date"] >= window_start, "order_id"]
    recent = _pairs.drop_duplicates(
        lines.loc[lines["order_id"].isin(recent_orders), ["order_id", "product_id"]], "order_id", "product_id"
    )
    if recent["order_id"].nunique() < 100:
        diagnostics["baskets"] = {"skipped": "fewer than 100 orders in the basket window"}
        return
    itemsets = basket.frequent_itemsets(
        recent, min_support=config.basket_min_support, max_len=config.basket_max_len
    )
    rules = basket.association_rules(itemsets, metric="lift", min_threshold=config.basket_min_lift,
                                     n_baskets=int(recent["order_id"].nunique()))
    diagnostics["baskets"] = {
        "orders": int(recent["order_id"].nunique()),
        "itemsets": len(itemsets),
        "rules": len(rules),
        "top_rules": [
            {
                "antecedents": sorted(int(x) for x in r.antecedents),
                "consequents": sorted(int(x) for x in r.consequents),
                "support": float(r.support),
                "confidence": float(r.confidence),
                "lift": float(r.lift),
            }
            for r in rules.sort_values("lift", ascending=False).head(20).itertuples()
        ],
    }
    if rules.empty:
        return
    owner = orders[["order_id", "customer_id"]]
    purchases = lines[["order_id", "product_id"]].merge(owner, on="order_id")[["customer_id", "product_id"]]
    purchases = _pairs.drop_duplicates(purchases, "customer_id", "product_id")
    recs = basket.recommend_next(purchases, rules, k=config.recommendations)
    recs = recs.sort_values(["customer_id", "rank"])
    grouped = _lists(recs["customer_id"], recs["product_id"].astype("int64"))
    scores["recommendations"] = grouped.reindex(scores.index)
    params["baskets"] = {"min_support": config.basket_min_support, "min_lift": config.basket_min_lift}


def _lists(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values.groupby(keys).agg(list)``: each key's values in frame order, keys sorted.

    One stable sort and list slices instead of a Python call per group (100,000s of customers).
    """
    if len(keys) == 0:
        return pd.Series([], dtype=object, index=pd.Index([], name=keys.name))
    k = keys.to_numpy()
    order = np.argsort(k, kind="stable")
    k = k[order]
    items = values.to_numpy()[order].tolist()  # Python scalars, as agg(list) gives
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = [*starts[1:].tolist(), len(k)]
    lists = [items[a:b] for a, b in zip(starts.tolist(), ends, strict=True)]
    return pd.Series(lists, index=pd.Index(k[starts], name=keys.name), dtype=object)


# --- rescoring between runs ------------------------------------------------------------------


def rescore(
    inputs: ScoringInputs,
    fitted: dict[str, Any],
    params: dict[str, Any],
    config: ScoringConfig,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rescore a few customers as of ``config.as_of`` with a run's fitted models and cut-offs.

    Used when a customer buys between runs: profit, CLV, P(alive), RFM, value class, trend and
    churn risk move at once; the population-level figures (model parameters, class cut-offs,
    RFM boundaries, migration probabilities) stay those of the last run until the next one.
    Recommendations are carried over, minus products the customer has bought since.
    """
    as_of = pd.Timestamp(config.as_of).normalize()
    end = as_of + pd.Timedelta(days=1)
    orders = inputs.orders[inputs.orders["date"] < end]
    costs = inputs.costs[inputs.costs["date"] < end]
    ids = pd.Index(inputs.customers["customer_id"].unique(), name="customer_id").sort_values()
    scores = pd.DataFrame(index=ids)
    _profit(orders, costs, as_of, scores)
    # "bgnbd": the key of runs stored before the purchase model was chosen per run.
    bg, gg = fitted.get("purchase", fitted.get("bgnbd")), fitted.get("gammagamma")
    if bg is not None and not orders.empty:
        summary = purchase_models.weekly_summary(orders, as_of)
        _summary_scores(summary, scores)
        _purchase_scores(bg, summary, config, scores)
        if gg is not None:
            scores["clv"] = _margin_clv(bg, gg, summary, config, scores)
    _rescore_value(scores, params.get("value", {}))
    _rescore_rfm(orders, as_of, scores, params.get("rfm_bounds"))
    if not orders.empty:
        _trend(orders, as_of, scores)
    model = fitted.get("churn")
    if model is not None and not orders.empty:
        extra = {
            "nps": _optional(inputs.nps),
            "interactions": _optional(inputs.interactions),
            "follow_ups": _optional(inputs.follow_ups),
        }
        # Same population as the run: customers active within the model's window (not every id).
        gap = params.get("churn", {}).get("typical_gap_days")
        features = churn.build_features(
            orders.assign(amount=orders["revenue"]), cutoff=end, typical_gap_days=gap, **extra
        )
        if len(features):
            scores["churn_risk"] = model.predict_risk(features).reindex(ids)
            reasons = model.reasons(features, k=3)
            scores["churn_reasons"] = reasons.groupby("customer_id")["reason"].agg(list).reindex(ids)
    if previous is not None:
        scores["move_down_prob"] = previous["move_down_prob"].reindex(ids)
        bought = inputs.lines.merge(orders[["order_id", "customer_id"]], on="order_id")
        owned = bought.groupby("customer_id")["product_id"].agg(set) if len(bought) else pd.Series(dtype=object)
        carried = previous["recommendations"].reindex(ids)
        scores["recommendations"] = [
            [p for p in recs if p not in owned.get(cid, set())] if isinstance(recs, list) else recs
            for cid, recs in carried.items()
        ]
    for column in SCORE_COLUMNS:
        if column not in scores.columns:
            scores[column] = None
    return scores[SCORE_COLUMNS]


def _rescore_value(scores: pd.DataFrame, cut: dict[str, Any]) -> None:
    profit = scores["profit_12m"].astype(float)
    predicted = scores["clv"].astype(float).fillna(0.0) if "clv" in scores else pd.Series(0.0, index=scores.index)
    gap = predicted - profit
    mv, mg = cut.get("most_valuable_min_profit_12m"), cut.get("most_growable_min_gap")
    below = float(cut.get("below_zero_profit", 0.0))
    classes = pd.Series("other", index=scores.index, dtype=object)
    if mg is not None:
        classes[(gap >= mg) & (gap > 0)] = "most_growable"
    if mv is not None:
        classes[(profit >= mv) & (profit > 0)] = "most_valuable"
    classes[profit < below] = "below_zero"
    scores["value_class"] = classes
    scores["value_gap"] = gap


def _rescore_rfm(orders: pd.DataFrame, as_of: pd.Timestamp, scores: pd.DataFrame, bounds: dict[str, Any] | None) -> None:
    if not bounds or orders.empty:
        return
    per = orders.groupby("customer_id").agg(last=("date", "max"), frequency=("order_id", "nunique"), monetary=("revenue", "sum"))
    per = per.reindex(scores.index)
    days = (as_of - per["last"].dt.normalize()).dt.days

    def score(values: pd.Series, table: dict[str, float], better_low: bool) -> pd.Series:
        # table[s] is the worst value that earned score s in the run (the largest number of days
        # for recency, the smallest count or spend otherwise). Ascending, so the best score whose
        # boundary the value meets wins; a value worse than every boundary scores 1.
        out = pd.Series(np.nan, index=values.index)
        for s in sorted(table, key=int):
            ok = values <= table[s] if better_low else values >= table[s]
            out[ok.fillna(False)] = int(s)
        out[values.notna() & out.isna()] = 1
        return out

    r = score(days, bounds["r"], better_low=True)
    f = score(per["frequency"], bounds["f"], better_low=False)
    m = score(per["monetary"].round(2), bounds["m"], better_low=False)
    scores["r_score"], scores["f_score"], scores["m_score"] = r, f, m
    ok = r.notna() & f.notna() & m.notna()
    scores["rfm_code"] = None
    scores["rfm_segment"] = None
    scores.loc[ok, "rfm_code"] = [f"{int(a)}{int(b)}{int(c)}" for a, b, c in zip(r[ok], f[ok], m[ok], strict=True)]
    scores.loc[ok, "rfm_segment"] = [rfm.segment_for(int(a), int(b), int(c)) for a, b, c in zip(r[ok], f[ok], m[ok], strict=True)]
