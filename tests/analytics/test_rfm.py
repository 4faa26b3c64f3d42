"""RFM scores on golden data computed by hand (see the arithmetic in the comments)."""

import numpy as np
import pandas as pd
import pytest

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.rfm import SEGMENT_GRID, SEGMENTS, rfm_scores, segment_for

# Ibis 12 reads a pandas option that pandas 3 deprecates; not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(
        date=lambda d: pd.to_datetime(d["date"], format="mixed")
    )


@pytest.fixture
def golden():
    return _tx(
        [
            ("A", "2024-01-30 15:00", 10.0),
            ("A", "2024-01-10", 20.0),
            ("A", "2023-12-01", 30.0),
            ("B", "2024-01-31 09:30", 5.0),
            ("C", "2023-11-01", 100.0),
            ("C", "2023-12-15", 100.0),
            ("D", "2023-06-01", 50.0),
            ("E", "2024-01-20", 40.0),
            ("E", "2024-01-25", 20.0),
            ("E", "2024-02-05", 999.0),  # after as_of: ignored
        ]
    )


def test_golden_scores_codes_and_segments(golden):
    out = rfm_scores(golden, as_of="2024-01-31")
    assert list(out["customer_id"]) == ["A", "B", "C", "D", "E"]
    # Recency in days to 2024-01-31: A 1, B 0, C 47 (Dec 15 -> Jan 31), D 244 (Jun 1 -> Jan 31), E 6.
    assert list(out["recency_days"]) == [1, 0, 47, 244, 6]
    assert list(out["frequency"]) == [3, 1, 2, 1, 2]
    assert list(out["monetary"]) == [60.0, 5.0, 200.0, 50.0, 60.0]
    # n = 5, score = floor(5 * (2*worse + tied) / 10) + 1.
    # R (recent is better), worst->best D, C, E, A, B, all distinct: 0.5, 1.5, 2.5, 3.5, 4.5 -> 1..5.
    assert list(out["r_score"]) == [4, 5, 2, 1, 3]
    # F: B, D tied at 1 (worse 0, tied 2): 5*2/10 = 1 -> 2; C, E tied at 2 (worse 2, tied 2):
    #    5*6/10 = 3 -> 4; A (worse 4, tied 1): 4.5 -> 5.
    assert list(out["f_score"]) == [5, 2, 4, 2, 4]
    # M: B 5 -> 0.5 -> 1; D 50 -> 1.5 -> 2; A, E tied at 60 -> 3 -> 4; C 200 -> 4.5 -> 5.
    assert list(out["m_score"]) == [4, 1, 5, 2, 4]
    assert list(out["rfm_code"].astype(str)) == ["454", "521", "245", "122", "344"]
    # FM = ceil((F + M) / 2): A 5, B 2, C 5, D 2, E 4; grid rows are R, columns FM.
    assert list(out["segment"].astype(str)) == [
        "loyal",
        "potential_loyalist",
        "cant_lose",
        "lost",
        "loyal",
    ]
    assert list(out["segment_name"].astype(str)) == [
        "Loyal",
        "Potential loyalists",
        "Can't lose",
        "Lost",
        "Loyal",
    ]
    assert out["last_purchase"].iloc[0] == pd.Timestamp("2024-01-30 15:00")


def test_result_does_not_depend_on_row_order(golden):
    a = rfm_scores(golden, as_of="2024-01-31")
    b = rfm_scores(golden.sample(frac=1.0, random_state=3), as_of="2024-01-31")
    pd.testing.assert_frame_equal(a, b)


def test_default_as_of_is_latest_transaction_day(golden):
    out = rfm_scores(golden)  # latest is E's 2024-02-05, which now counts
    e = out.set_index("customer_id").loc["E"]
    assert e["recency_days"] == 0 and e["frequency"] == 3 and e["monetary"] == 1059.0


def test_single_customer_and_all_ties_score_the_middle():
    one = rfm_scores(_tx([("X", "2024-01-01", 10.0)]))
    # n = 1: floor(5 * (0 + 1) / 2) + 1 = 3 on every axis.
    assert one[["r_score", "f_score", "m_score"]].iloc[0].tolist() == [3, 3, 3]
    assert one["segment"].iloc[0] == "need_attention"
    same = rfm_scores(_tx([(c, "2024-01-01", 10.0) for c in "PQRST"]))
    assert set(same["rfm_code"].astype(str)) == {"333"}


def test_fewer_than_five_distinct_values_spread_symmetrically():
    # Three customers with distinct spend, same day and frequency: M = floor(5*(2w+1)/6)+1
    # -> w=0: 0.83 -> 1; w=1: 2.5 -> 3; w=2: 4.17 -> 5.
    out = rfm_scores(
        _tx([("a", "2024-01-01", 1.0), ("b", "2024-01-01", 2.0), ("c", "2024-01-01", 3.0)])
    )
    assert list(out["m_score"]) == [1, 3, 5]
    assert list(out["r_score"]) == [3, 3, 3]


def test_ten_distinct_values_match_qcut():
    tx = _tx([(f"c{i:02d}", "2024-01-01", float(i + 1)) for i in range(10)])
    out = rfm_scores(tx)
    expected = pd.qcut(out["monetary"], 5, labels=False) + 1
    assert list(out["m_score"]) == list(expected) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_order_col_counts_distinct_orders_and_mean_monetary():
    tx = _tx(
        [
            (1, "2024-01-01", 10.0),
            (1, "2024-01-01", 30.0),
            (1, "2024-01-05", 20.0),
            (2, "2024-01-05", 5.0),
        ]
    )
    tx["order_id"] = [100, 100, 101, 200]
    out = rfm_scores(tx, order_col="order_id", monetary="mean")
    # Customer 1: 2 orders, (10 + 30 + 20) / 2 = 30 per order.
    assert out.loc[0, "frequency"] == 2 and out.loc[0, "monetary"] == 30.0


def test_float_noise_does_not_split_ties():
    # 0.1 + 0.2 != 0.3 in floating point; both customers spent 0.30.
    out = rfm_scores(
        _tx([("a", "2024-01-01", 0.1), ("a", "2024-01-01", 0.2), ("b", "2024-01-01", 0.3)])
    )
    assert out["m_score"].nunique() == 1


def test_timezone_aware_dates_use_their_wall_clock_day():
    tx = _tx([("a", "2024-01-01", 1.0), ("b", "2024-01-02", 1.0)])
    tx["date"] = pd.to_datetime(["2024-01-01 23:30", "2024-01-02 08:00"]).tz_localize(
        "Asia/Shanghai"
    )
    out = rfm_scores(tx, as_of=pd.Timestamp("2024-01-02", tz="Asia/Shanghai"))
    assert list(out["recency_days"]) == [1, 0]


def test_custom_column_names_and_string_dates():
    tx = pd.DataFrame({"cust": [7, 8], "when": ["2024-03-01", "2024-03-02"], "spend": [1, 2]})
    out = rfm_scores(tx, "cust", "when", "spend")
    assert list(out.columns[:2]) == ["cust", "last_purchase"]
    assert list(out["monetary"]) == [1.0, 2.0]


def test_empty_input_and_nothing_before_as_of():
    empty = rfm_scores(_tx([]))
    assert empty.empty and "segment" in empty.columns
    none_yet = rfm_scores(_tx([("a", "2024-05-01", 1.0)]), as_of="2024-01-01")
    assert none_yet.empty


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (
            pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"]}),
            {},
            "missing column(s) 'amount'",
        ),
        (
            pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"], "amount": ["x"]}),
            {},
            "must be numeric",
        ),
        (
            pd.DataFrame({"customer_id": [None], "date": ["2024-01-01"], "amount": [1.0]}),
            {},
            "missing value",
        ),
        (
            pd.DataFrame({"customer_id": [1], "date": ["not a date"], "amount": [1.0]}),
            {},
            "must hold dates",
        ),
        (
            pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"], "amount": [1.0]}),
            {"monetary": "max"},
            "monetary",
        ),
    ],
)
def test_bad_input_raises_clear_error(frame, kwargs, message):
    with pytest.raises(AnalyticsInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rfm_scores(frame, **kwargs)


def test_segment_grid_is_complete_and_uses_known_codes():
    codes = {s.code for s in SEGMENTS}
    assert len(SEGMENT_GRID) == 5 and all(len(row) == 5 for row in SEGMENT_GRID)
    assert {c for row in SEGMENT_GRID for c in row} == codes  # every segment reachable
    assert segment_for(5, 5, 4) == "champions" and segment_for(1, 1, 1) == "lost"
    with pytest.raises(AnalyticsInputError):
        segment_for(0, 3, 3)


def test_scores_are_quintiles_on_larger_data():
    rng = np.random.default_rng(1)
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 500, 5000),
            "date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, 5000), unit="D"),
            "amount": rng.integers(100, 10000, 5000) / 100,
        }
    )
    out = rfm_scores(tx)
    # Monetary is almost tie-free, so each score holds ~20% of the customers.
    shares = out["m_score"].value_counts(normalize=True).sort_index()
    assert np.allclose(shares.to_numpy(), 0.2, atol=0.01)
    # Scores are monotone in the underlying value.
    assert (out.groupby("m_score")["monetary"].max().diff().dropna() > 0).all()


def test_engine_and_numpy_scores_agree_with_ties():
    import ibis

    from patron.analytics import _ibis
    from patron.analytics.rfm import quintile_score_expr, quintile_scores

    rng = np.random.default_rng(5)
    values = rng.integers(0, 40, 997).astype(float)  # many ties
    t = ibis.memtable(pd.DataFrame({"v": values}))
    engine = _ibis.execute(t.mutate(up=quintile_score_expr(t.v), down=quintile_score_expr(t.v, higher_is_better=False)))
    assert (engine["up"].to_numpy() == quintile_scores(engine["v"].to_numpy())).all()
    assert (engine["down"].to_numpy() == quintile_scores(engine["v"].to_numpy(), higher_is_better=False)).all()


def test_numpy_scores_integer_histogram_path_matches_sort_path():
    from patron.analytics.rfm import quintile_scores

    rng = np.random.default_rng(11)
    ints = rng.integers(-50, 300, 2001)
    assert (quintile_scores(ints) == quintile_scores(ints.astype(float))).all()
    assert (quintile_scores(ints, higher_is_better=False) == quintile_scores(-ints.astype(float))).all()
    wide = np.array([0, 10**12, 5])  # range too wide for a histogram: sorted instead
    assert quintile_scores(wide).tolist() == [1, 5, 3]
