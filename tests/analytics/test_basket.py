"""Association rules must match mlxtend (fpgrowth + association_rules) exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import association_rules as mx_rules
from mlxtend.frequent_patterns import fpgrowth
from mlxtend.preprocessing import TransactionEncoder

from patron.analytics import basket
from patron.analytics.basket import (
    RULE_METRICS,
    BasketInputError,
    association_rules,
    frequent_itemsets,
    recommend_next,
)

# The example from mlxtend's user guide (frequent_patterns/fpgrowth, association_rules).
MLXTEND_DOCS = [
    ["Milk", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
    ["Dill", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
    ["Milk", "Apple", "Kidney Beans", "Eggs"],
    ["Milk", "Unicorn", "Corn", "Kidney Beans", "Yogurt"],
    ["Corn", "Onion", "Onion", "Kidney Beans", "Ice cream", "Eggs"],
]


def to_long(lists: list[list[object]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(b, item) for b, items in enumerate(lists) for item in items],
        columns=["order_id", "product_id"],
    )


def to_lists(frame: pd.DataFrame) -> list[list[object]]:
    return frame.groupby("order_id", sort=False)["product_id"].agg(list).tolist()


def mlxtend_mine(lists, min_support, max_len=None, metric="confidence", min_threshold=0.8):
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(lists).transform(lists), columns=te.columns_)
    items = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
    if items.empty:
        return items, pd.DataFrame(columns=["antecedents", "consequents", *RULE_METRICS])
    rules = mx_rules(items, num_itemsets=len(onehot), metric=metric, min_threshold=min_threshold)
    return items, rules


def assert_same(frame, lists, min_support, max_len=None, metric="confidence", min_threshold=0.8):
    ours = frequent_itemsets(frame, min_support=min_support, max_len=max_len)
    our_rules = (
        association_rules(ours, metric=metric, min_threshold=min_threshold)
        if len(ours)
        else pd.DataFrame(columns=["antecedents", "consequents", *RULE_METRICS])
    )
    items, rules = mlxtend_mine(lists, min_support, max_len, metric, min_threshold)

    a = dict(zip(ours["itemsets"], ours["support"], strict=True))
    b = {frozenset(s): v for s, v in zip(items["itemsets"], items["support"], strict=True)}
    assert a.keys() == b.keys()
    for s in a:
        assert a[s] == pytest.approx(b[s], abs=1e-12)
    assert len(a) == len(ours)  # no duplicates

    key = ["antecedents", "consequents"]
    ra = our_rules.set_index(key)
    rb = rules.set_index(key)
    assert set(ra.index) == set(rb.index)
    assert len(ra) == len(rb)
    if len(ra):
        rb = rb.loc[ra.index]
        for m in RULE_METRICS:
            np.testing.assert_allclose(
                ra[m].to_numpy(float), rb[m].to_numpy(float), rtol=1e-9, atol=1e-12
            )
    return ours, our_rules


def test_mlxtend_docs_example() -> None:
    ours, rules = assert_same(to_long(MLXTEND_DOCS), MLXTEND_DOCS, 0.6, min_threshold=0.7)
    # The values printed in mlxtend's user guide.
    support = dict(zip(ours["itemsets"], ours["support"], strict=True))
    assert support[frozenset({"Kidney Beans"})] == 1.0
    assert support[frozenset({"Eggs", "Kidney Beans"})] == 0.8
    assert support[frozenset({"Onion", "Eggs", "Kidney Beans"})] == 0.6
    assert len(ours) == 11
    rule = rules[
        (rules["antecedents"] == frozenset({"Onion"}))
        & (rules["consequents"] == frozenset({"Eggs", "Kidney Beans"}))
    ].iloc[0]
    assert rule["confidence"] == 1.0
    assert rule["lift"] == pytest.approx(1.25)
    assert rule["leverage"] == pytest.approx(0.12)
    assert rule["conviction"] == np.inf


@pytest.mark.parametrize("metric,threshold", [("confidence", 0.5), ("lift", 1.2), ("support", 0.2)])
def test_docs_example_other_metrics(metric: str, threshold: float) -> None:
    assert_same(to_long(MLXTEND_DOCS), MLXTEND_DOCS, 0.4, metric=metric, min_threshold=threshold)


def themed_baskets(n: int, n_products: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    themes = [rng.choice(n_products, size=rng.integers(3, 7), replace=False) for _ in range(8)]
    rows = []
    for b in range(n):
        t = themes[rng.integers(len(themes))]
        items = set(t[rng.random(len(t)) < 0.55].tolist())
        items |= set(rng.integers(0, n_products, rng.poisson(2)).tolist())
        items.add(int(rng.integers(n_products)))
        rows.extend((f"o{b}", int(i)) for i in items)
    return pd.DataFrame(rows, columns=["order_id", "product_id"])


@pytest.mark.parametrize(
    "n,n_products,seed,min_support,max_len",
    [(3000, 60, 1, 0.01, None), (2000, 40, 2, 0.02, 2), (1500, 30, 3, 0.005, 3)],
)
def test_random_themed_data_matches_mlxtend(n, n_products, seed, min_support, max_len) -> None:
    frame = themed_baskets(n, n_products, seed)
    ours, _ = assert_same(frame, to_lists(frame), min_support, max_len=max_len, min_threshold=0.3)
    assert ours["length"].max() >= 2
    if max_len is not None:
        assert ours["length"].max() <= max_len


def test_long_itemsets_and_many_items_match_mlxtend() -> None:
    # 1100 products and a core of 8 always bought together: 8-item sets need the slow-path
    # (tuple) lookups because 8 codes of 11 bits do not fit in one int64 key.
    rng = np.random.default_rng(5)
    core = list(range(1000, 1008))
    lists = []
    for _ in range(300):
        items = set(rng.integers(0, 1100, 6).tolist())
        if rng.random() < 0.5:
            items |= set(core)
        lists.append(sorted(items))
    ours, rules = assert_same(to_long(lists), lists, 0.3, min_threshold=0.9)
    assert ours["length"].max() == 8
    assert len(rules) == 3**8 - 2 ** (8 + 1) + 1  # every split of every core subset


def test_duplicates_and_row_order_do_not_matter() -> None:
    frame = themed_baskets(500, 20, 7)
    noisy = pd.concat([frame, frame.sample(200, random_state=1)]).sample(frac=1, random_state=2)
    a = frequent_itemsets(frame, min_support=0.02)
    b = frequent_itemsets(noisy, min_support=0.02)
    assert dict(zip(a["itemsets"], a["count"], strict=True)) == dict(
        zip(b["itemsets"], b["count"], strict=True)
    )


def test_custom_column_names_and_attrs() -> None:
    frame = to_long(MLXTEND_DOCS).rename(columns={"order_id": "ticket", "product_id": "sku"})
    out = frequent_itemsets(frame, basket_col="ticket", item_col="sku", min_support=0.6)
    assert out.attrs["n_baskets"] == 5
    assert list(out.columns) == ["support", "itemsets", "count", "length"]
    # n_baskets is recovered from count/support if attrs were lost on the way.
    out.attrs.clear()
    rules = association_rules(out, min_threshold=0.7)
    assert len(rules) == 12


def test_threshold_ties_use_exact_count_ratios() -> None:
    # {a} in 4 baskets, {a, b} in 2: confidence is exactly 0.5 and must pass min_threshold=0.5.
    lists = [["a", "b"], ["a", "b"], ["a"], ["a"], ["b"], ["c"], ["c"], ["c"], ["c"], ["c"]]
    out = frequent_itemsets(to_long(lists), min_support=0.1)
    rules = association_rules(out, min_threshold=0.5)
    pairs = {
        (tuple(a), tuple(c))
        for a, c in zip(rules["antecedents"], rules["consequents"], strict=False)
    }
    assert (("a",), ("b",)) in pairs


def test_empty_and_bad_input() -> None:
    frame = to_long(MLXTEND_DOCS)
    assert frequent_itemsets(frame, min_support=1.0)["itemsets"].tolist() == [
        frozenset({"Kidney Beans"})
    ]
    none = frequent_itemsets(frame.iloc[:0], min_support=0.5)
    assert none.empty
    assert association_rules(none).empty
    with pytest.raises(BasketInputError, match="missing column"):
        frequent_itemsets(frame, basket_col="basket")
    with pytest.raises(BasketInputError, match="min_support"):
        frequent_itemsets(frame, min_support=0)
    with pytest.raises(ValueError, match="metric"):
        association_rules(frequent_itemsets(frame, min_support=0.6), metric="lfit")
    with pytest.raises(BasketInputError, match="nulls"):
        frequent_itemsets(pd.DataFrame({"order_id": [1, None], "product_id": [1, 2]}))
    partial = frequent_itemsets(frame, min_support=0.6)
    partial = partial[partial["length"] > 1]
    with pytest.raises(BasketInputError, match="closed under subsets"):
        association_rules(partial, n_baskets=5)


def test_recommend_next_ranks_by_lift_times_confidence_and_explains() -> None:
    rules = pd.DataFrame(
        {
            "antecedents": [frozenset({"pasta"}), frozenset({"pasta", "sauce"}),
                            frozenset({"bread"}), frozenset({"pasta"})],
            "consequents": [frozenset({"sauce"}), frozenset({"cheese"}),
                            frozenset({"butter"}), frozenset({"cheese", "wine"})],
            "support": [0.1, 0.05, 0.2, 0.02],
            "confidence": [0.6, 0.7, 0.5, 0.2],
            "lift": [3.0, 4.0, 1.1, 5.0],
        }
    )  # fmt: skip
    purchases = pd.DataFrame(
        {
            "customer_id": ["ann", "ann", "ann", "bob", "cat"],
            "product_id": ["pasta", "sauce", "pasta", "pasta", "milk"],
        }
    )
    rec = recommend_next(purchases, rules, k=5)
    ann = rec[rec["customer_id"] == "ann"]
    # ann owns pasta and sauce: cheese via {pasta, sauce} (4.0*0.7=2.8) beats {pasta} (1.0).
    assert ann["product_id"].tolist() == ["cheese", "wine"]
    assert ann["antecedents"].iloc[0] == frozenset({"pasta", "sauce"})
    assert ann["score"].iloc[0] == pytest.approx(2.8)
    assert ann["rank"].tolist() == [1, 2]
    bob = rec[rec["customer_id"] == "bob"]
    # bob lacks sauce so the 2-item rule does not apply; sauce (1.8) ranks above cheese (1.0).
    assert bob["product_id"].tolist() == ["sauce", "cheese", "wine"]
    assert bob["consequents"].iloc[1] == frozenset({"cheese", "wine"})
    assert "cat" not in set(rec["customer_id"])
    assert recommend_next(purchases, rules, k=1).groupby("customer_id").size().max() == 1


def test_recommend_next_end_to_end_never_recommends_owned_products(monkeypatch) -> None:
    frame = themed_baskets(2000, 40, 11)
    items = frequent_itemsets(frame, min_support=0.01)
    rules = association_rules(items, metric="lift", min_threshold=1.5)
    purchases = frame.rename(columns={"order_id": "customer_id"}).head(3000)
    rec = recommend_next(purchases, rules, k=3)
    assert len(rec) > 0
    bought = purchases.groupby("customer_id")["product_id"].agg(set).to_dict()
    for row in rec.itertuples():
        assert row.product_id not in bought[row.customer_id]
        assert row.antecedents <= bought[row.customer_id]
        assert row.product_id in row.consequents
    assert rec.groupby("customer_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()
    assert rec.groupby("customer_id").size().max() == 3
    # The lexsort path used when packed int64 keys would overflow gives the same answer.
    monkeypatch.setattr(basket, "_PACKED_KEY_LIMIT", 0)
    pd.testing.assert_frame_equal(recommend_next(purchases, rules, k=3), rec)
    with pytest.raises(BasketInputError):
        recommend_next(purchases, rules, k=0)


def test_module_exports() -> None:
    assert set(basket.__all__) >= {"frequent_itemsets", "association_rules", "recommend_next"}
