"""Per-customer lists in the scores (churn reasons, recommendations) keep the models' order."""

from __future__ import annotations

import pandas as pd

from patron.analytics import basket, churn
from patron.analytics.pipeline import ScoringConfig, _lists, run_pipeline
from tests.analytics.test_pipeline import AS_OF, simulate


def test_lists_are_each_keys_values_in_frame_order_keys_sorted():
    keys = pd.Series([7, 3, 7, 3, 9, 7], name="customer_id")
    values = pd.Series(["c", "a", "b", "d", "e", "a"])
    got = _lists(keys, values)
    assert got.index.tolist() == [3, 7, 9] and got.index.name == "customer_id"
    assert got.tolist() == [["a", "d"], ["c", "b", "a"], ["e"]]
    assert got.tolist() == values.groupby(keys).agg(list).tolist()
    numbers = _lists(keys, pd.Series([5, 6, 7, 8, 9, 10]))
    assert all(type(x) is int for xs in numbers for x in xs)  # written as JSON numbers
    assert _lists(keys.iloc[:0], values.iloc[:0]).empty


def test_recommendations_and_reasons_per_customer_follow_rank():
    inputs = simulate(n=600, seed=5)
    config = ScoringConfig(as_of=AS_OF)
    result = run_pipeline(inputs, config)
    scores = result.scores

    model = result.fitted["churn"]
    orders = inputs.orders.assign(amount=inputs.orders["revenue"])
    features = churn.build_features(orders, cutoff=AS_OF + pd.Timedelta(days=1))
    reasons = model.reasons(features, k=3).sort_values(["customer_id", "rank"])
    expected = reasons.groupby("customer_id")["reason"].agg(list)
    assert len(expected) > 0
    for cid, codes in expected.items():
        assert scores.at[cid, "churn_reasons"] == codes

    recent_from = AS_OF + pd.Timedelta(days=1) - pd.Timedelta(days=config.basket_days)
    window = inputs.orders.loc[inputs.orders["date"] >= recent_from, "order_id"]
    recent = inputs.lines[inputs.lines["order_id"].isin(window)].drop_duplicates()
    itemsets = basket.frequent_itemsets(recent, min_support=config.basket_min_support, max_len=2)
    rules = basket.association_rules(
        itemsets,
        metric="lift",
        min_threshold=config.basket_min_lift,
        n_baskets=int(recent["order_id"].nunique()),
    )
    bought = inputs.lines.merge(inputs.orders[["order_id", "customer_id"]], on="order_id")
    recs = basket.recommend_next(
        bought[["customer_id", "product_id"]].drop_duplicates(), rules, k=3
    )
    expected_recs = (
        recs.sort_values(["customer_id", "rank"]).groupby("customer_id")["product_id"].agg(list)
    )
    assert len(expected_recs) > 0
    for cid, products in expected_recs.items():
        assert scores.at[cid, "recommendations"] == [int(p) for p in products]
