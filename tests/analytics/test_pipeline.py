"""The scoring pipeline on small simulated data: complete, NaN-free, and rescoring agrees with it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from patron.analytics import value
from patron.analytics.pipeline import (
    SCORE_COLUMNS,
    ScoringConfig,
    ScoringInputs,
    rescore,
    run_pipeline,
)

AS_OF = pd.Timestamp("2025-12-31")


def simulate(n: int = 800, seed: int = 3) -> ScoringInputs:
    """Customers buying at their own rate over three years, with baskets and cost events."""
    rng = np.random.default_rng(seed)
    orders, lines, costs = [], [], []
    order_id = 0
    start = AS_OF - pd.Timedelta(days=3 * 365)
    for cid in range(1, n + 1):
        rate = rng.gamma(1.0, 1 / 25)  # purchases per day
        first = start + pd.Timedelta(days=float(rng.uniform(0, 900)))
        life_end = first + pd.Timedelta(days=float(rng.exponential(700)))
        t = first
        while t <= min(life_end, AS_OF):
            order_id += 1
            revenue = float(rng.gamma(4, 50))
            orders.append((order_id, cid, t, revenue, revenue * 0.6))
            products = {int(rng.integers(1, 40))}
            if 5 in products or rng.random() < 0.1:
                products |= {5, 6}  # a planted pair
            lines += [(order_id, p) for p in products]
            t = t + pd.Timedelta(days=float(rng.exponential(1 / max(rate, 1e-3))))
        if rng.random() < 0.3:
            costs.append((cid, first + pd.Timedelta(days=10), float(rng.gamma(1, 80))))
    return ScoringInputs(
        orders=pd.DataFrame(orders, columns=["order_id", "customer_id", "date", "revenue", "cogs"]),
        lines=pd.DataFrame(lines, columns=["order_id", "product_id"]),
        costs=pd.DataFrame(costs, columns=["customer_id", "date", "amount"]),
        customers=pd.DataFrame({"customer_id": range(1, n + 2)}),  # the last one never bought
    )


@pytest.fixture(scope="module")
def scored():
    inputs = simulate()
    config = ScoringConfig(as_of=AS_OF)
    return inputs, config, run_pipeline(inputs, config)


def test_every_customer_scored_without_nan(scored):
    inputs, _config, result = scored
    scores = result.scores
    assert list(scores.columns) == SCORE_COLUMNS
    assert len(scores) == inputs.customers["customer_id"].nunique()
    buyers = scores["frequency"].notna()
    assert buyers.sum() == inputs.orders["customer_id"].nunique()
    assert scores.loc[buyers, "p_alive"].between(0, 1).all()
    assert (scores.loc[buyers, "clv"] >= 0).all()
    never = scores.loc[~buyers]
    assert never["p_alive"].isna().all() and (never["profit"] == 0).all()
    assert set(scores["value_class"]) <= {"most_valuable", "most_growable", "other", "below_zero"}
    assert {"purchase", "gammagamma", "churn"} <= set(result.fitted)
    assert result.diagnostics["churn"]["n_test"] > 0
    # The planted pair is found: buyers of product 5 are told about 6 (or hold it already).
    rules = result.diagnostics["baskets"]["top_rules"]
    assert any(r["antecedents"] == [5] and r["consequents"] == [6] for r in rules)


def test_profit_is_revenue_minus_goods_minus_cost_to_serve(scored):
    inputs, _config, result = scored
    cid = int(inputs.costs["customer_id"].iloc[0])
    rev = inputs.orders.loc[inputs.orders["customer_id"] == cid, "revenue"].sum()
    cogs = inputs.orders.loc[inputs.orders["customer_id"] == cid, "cogs"].sum()
    cts = inputs.costs.loc[inputs.costs["customer_id"] == cid, "amount"].sum()
    assert result.scores.loc[cid, "profit"] == pytest.approx(rev - cogs - cts)


def test_rescoring_with_the_runs_models_reproduces_the_run(scored):
    inputs, config, result = scored
    again = rescore(inputs, result.fitted, result.params, config, previous=result.scores)
    for column in ("profit", "profit_12m", "p_alive", "expected_purchases", "clv", "churn_risk"):
        pd.testing.assert_series_equal(again[column].astype(float), result.scores[column].astype(float),
                                       check_names=False, rtol=1e-9)
    for column in ("value_class", "r_score", "f_score", "m_score", "trend"):
        a, b = again[column].astype(object).fillna(-1), result.scores[column].astype(object).fillna(-1)
        mismatch = (a.astype(str) != b.astype(str)).mean()
        assert mismatch == 0, (column, mismatch)


def _only(inputs: ScoringInputs, ids: list[int]) -> ScoringInputs:
    orders = inputs.orders[inputs.orders["customer_id"].isin(ids)]
    return ScoringInputs(
        orders=orders,
        lines=inputs.lines[inputs.lines["order_id"].isin(orders["order_id"])],
        costs=inputs.costs[inputs.costs["customer_id"].isin(ids)],
        customers=pd.DataFrame({"customer_id": ids}),
    )


def test_rescoring_a_few_customers_gives_what_the_run_gave_them(scored):
    """Between runs a purchase rescores one customer, not the book: what depends on the
    population (one-order customers' typical gap between orders in the churn features) is
    the run's, not that of whoever is rescored at the same time."""
    inputs, config, result = scored
    active = result.scores.index[result.scores["churn_risk"].notna()][:20].tolist()
    again = rescore(_only(inputs, active), result.fitted, result.params, config, previous=result.scores)
    for column in ("p_alive", "expected_purchases", "clv", "churn_risk"):
        pd.testing.assert_series_equal(again[column].astype(float), result.scores.loc[active, column].astype(float),
                                       check_names=False, rtol=1e-9)
    # A new customer's first order, a month before the run's day: scored alone or with others,
    # the same churn risk, from the run's typical gap.
    new = int(inputs.customers["customer_id"].max()) + 1
    first = pd.DataFrame([(10**6, new, AS_OF - pd.Timedelta(days=30), 300.0, 180.0)], columns=inputs.orders.columns)
    book = ScoringInputs(
        orders=pd.concat([inputs.orders, first], ignore_index=True), lines=inputs.lines, costs=inputs.costs,
        customers=pd.concat([inputs.customers, pd.DataFrame({"customer_id": [new]})], ignore_index=True),
    )
    alone = rescore(_only(book, [new]), result.fitted, result.params, config)
    together = rescore(_only(book, [*active, new]), result.fitted, result.params, config)
    assert alone.loc[new, "churn_risk"] == pytest.approx(together.loc[new, "churn_risk"], rel=1e-12)
    assert result.params["churn"]["typical_gap_days"] > 0


def test_a_runs_settings_come_back_from_its_parameters():
    config = ScoringConfig(
        as_of=AS_OF, clv_horizon_weeks=26, discount_rate=0.2, expected_purchases_days=30,
        value_thresholds=value.ValueThresholds(most_valuable_share=0.1, below_zero_profit=-50.0),
    )
    stored = json.loads(json.dumps({"config": config.as_params()}))  # as the run row keeps it
    later = pd.Timestamp("2026-03-31")
    assert ScoringConfig.from_params(later, stored) == replace(config, as_of=later)
    # A run stored before its settings were kept: the CLV settings it recorded, else defaults.
    old = {"clv": {"horizon_weeks": 26, "weekly_discount": config.weekly_discount, "expected_purchases_weeks": 30 / 7}}
    again = ScoringConfig.from_params(later, old)
    assert (again.clv_horizon_weeks, again.expected_purchases_days) == (26, 30)
    assert again.discount_rate == pytest.approx(0.2)
    assert again.value_thresholds == value.ValueThresholds()


def test_empty_history_gives_empty_scores_not_errors():
    inputs = ScoringInputs(
        orders=pd.DataFrame(columns=["order_id", "customer_id", "date", "revenue", "cogs"]).astype(
            {"date": "datetime64[ns]", "revenue": float, "cogs": float}),
        lines=pd.DataFrame(columns=["order_id", "product_id"]),
        costs=pd.DataFrame(columns=["customer_id", "date", "amount"]).astype({"date": "datetime64[ns]", "amount": float}),
        customers=pd.DataFrame({"customer_id": [1, 2]}),
    )
    result = run_pipeline(inputs, ScoringConfig(as_of=AS_OF))
    assert result.scores["p_alive"].isna().all()
    assert "skipped" in result.diagnostics["clv"]
    assert list(result.scores["profit"]) == [0.0, 0.0]


def test_single_customer_records_why_models_were_not_fitted():
    inputs = simulate(n=1)
    result = run_pipeline(inputs, ScoringConfig(as_of=AS_OF))
    assert len(result.scores) == 2
    notes = {k: v for k, v in result.diagnostics.items() if isinstance(v, dict) and ("error" in v or "skipped" in v)}
    assert "churn" in notes or "clv" in notes
    assert not result.scores[["profit", "profit_12m"]].isna().any().any()


def test_purchase_model_is_chosen_by_the_holdout_back_test(scored):
    """Both models are back-tested on the holdout; the smaller error per customer wins and the
    run's scores come from the winner fitted on the whole book."""
    _, _, result = scored
    holdout = result.diagnostics["holdout"]
    models = holdout["models"]
    assert set(models) == {"bgnbd", "paretonbd"}
    for figures in models.values():
        assert figures["mae"] > 0 and figures["rmse"] >= figures["mae"]
        assert figures["total_error_pct"] == pytest.approx(
            100 * (figures["total_predicted"] - holdout["total_actual"]) / holdout["total_actual"]
        )
    winner = min(models, key=lambda k: models[k]["mae"])
    assert holdout["winner"] == winner == result.params["purchase_model"]
    # These customers drop out at any moment (exponential lifetimes): Pareto/NBD's own story.
    assert winner == "paretonbd"
    model = result.fitted["purchase"]
    assert type(model).__name__ == "ParetoNBD" and set(result.params[winner]) == {"r", "alpha", "s", "beta"}
    assert holdout["buckets"][0]["by_model"].keys() == models.keys()
    assert holdout["sample"] == holdout["customers"]  # under the sample size: every customer


def test_back_test_fits_on_a_sample_of_a_large_book(monkeypatch):
    from patron.analytics import purchase_models

    monkeypatch.setattr(purchase_models, "BACKTEST_SAMPLE", 300)
    inputs = simulate(n=600, seed=5)
    result = run_pipeline(inputs, ScoringConfig(as_of=AS_OF))
    holdout = result.diagnostics["holdout"]
    assert holdout["sample"] == 300 < holdout["customers"]
    assert sum(b["n"] for b in holdout["buckets"]) == 300
    assert result.diagnostics[result.params["purchase_model"]]["n_customers"] > 300  # the full fit
