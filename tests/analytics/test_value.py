"""Profit and value classes on golden data computed by hand."""

import numpy as np
import pandas as pd
import pytest

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.value import (
    VALUE_CLASSES,
    ValueThresholds,
    classify_value,
    profit_by_customer,
    profit_by_period,
)

pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")


@pytest.fixture
def lines():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": pd.to_datetime(["2024-01-05", "2024-05-01", "2024-02-01", "2024-08-01"]),
            "revenue": [100.0, 50.0, 30.0, 80.0],
            "cogs": [60.0, 20.0, 10.0, 30.0],
        }
    )


@pytest.fixture
def costs():
    return pd.DataFrame(
        {
            "customer_id": ["a", "d", "b"],
            "date": pd.to_datetime(["2024-01-10", "2024-03-01", "2024-09-30"]),
            "amount": [5.0, 12.0, 40.0],
        }
    )


def test_profit_by_customer_golden(lines, costs):
    out = profit_by_customer(lines, costs).set_index("customer_id")
    # a: revenue 100 + 50 = 150, cogs 60 + 20 = 80, margin 70, cost to serve 5 -> profit 65
    # b: 30 - 10 = 20 margin, cost 40 -> -20 ;  c: 80 - 30 = 50 ;  d: only a cost event -> -12
    assert out["revenue"].to_dict() == {"a": 150.0, "b": 30.0, "c": 80.0, "d": 0.0}
    assert out["gross_margin"].to_dict() == {"a": 70.0, "b": 20.0, "c": 50.0, "d": 0.0}
    assert out["cost_to_serve"].to_dict() == {"a": 5.0, "b": 40.0, "c": 0.0, "d": 12.0}
    assert out["profit"].to_dict() == {"a": 65.0, "b": -20.0, "c": 50.0, "d": -12.0}


def test_profit_by_customer_window_and_no_costs(lines, costs):
    # [2024-02-01, 2024-08-01): a's May line (50 - 20 = 30), b's Feb line (20), d's March cost.
    out = profit_by_customer(lines, costs, start="2024-02-01", end="2024-08-01").set_index("customer_id")
    assert out["profit"].to_dict() == {"a": 30.0, "b": 20.0, "d": -12.0}
    no_costs = profit_by_customer(lines).set_index("customer_id")
    assert no_costs["profit"].to_dict() == {"a": 70.0, "b": 20.0, "c": 50.0}


def test_profit_by_period_is_dense_from_first_activity(lines, costs):
    out = profit_by_period(lines, costs, freq="Q")
    got = {(r.customer_id, str(r.period)): r.profit for r in out.itertuples()}
    assert got == {
        # a: Q1 100 - 60 - 5 = 35, Q2 50 - 20 = 30, Q3 nothing -> 0
        ("a", "2024Q1"): 35.0, ("a", "2024Q2"): 30.0, ("a", "2024Q3"): 0.0,
        # b: Q1 20, Q2 nothing, Q3 only the 40 cost event
        ("b", "2024Q1"): 20.0, ("b", "2024Q2"): 0.0, ("b", "2024Q3"): -40.0,
        # c starts in Q3; no rows before the customer existed
        ("c", "2024Q3"): 50.0,
        # d exists from its cost event in Q1
        ("d", "2024Q1"): -12.0, ("d", "2024Q2"): 0.0, ("d", "2024Q3"): 0.0,
    }
    assert isinstance(out["period"].dtype, pd.PeriodDtype)
    assert out.groupby("customer_id")["profit"].sum().to_dict() == {"a": 65.0, "b": -20.0, "c": 50.0, "d": -12.0}


def test_profit_by_period_end_extends_to_quiet_periods(lines):
    out = profit_by_period(lines, freq="Q", end="2025-01-01")
    assert out.groupby("customer_id")["period"].max().astype(str).unique().tolist() == ["2024Q4"]
    assert out.loc[(out.customer_id == "c") & (out.period == pd.Period("2024Q4", "Q")), "profit"].item() == 0.0


def test_profit_by_period_monthly_and_weekly(lines):
    monthly = profit_by_period(lines, freq="M")
    assert len(monthly[monthly.customer_id == "a"]) == 8  # 2024-01 .. 2024-08
    weekly = profit_by_period(lines.iloc[:1], freq="W")
    assert str(weekly["period"].iloc[0]) == "2024-01-01/2024-01-07"


def test_empty_inputs(lines):
    out = profit_by_customer(lines.iloc[:0])
    assert out.empty and list(out.columns) == ["customer_id", "revenue", "cogs", "gross_margin", "cost_to_serve", "profit"]
    per = profit_by_period(lines.iloc[:0])
    assert per.empty and "period" in per.columns


def test_profit_bad_input(lines, costs):
    with pytest.raises(AnalyticsInputError, match="missing column"):
        profit_by_customer(lines.drop(columns="cogs"))
    with pytest.raises(AnalyticsInputError, match="freq"):
        profit_by_period(lines, freq="fortnight")
    with pytest.raises(AnalyticsInputError, match="different types"):
        profit_by_customer(lines, costs.assign(customer_id=[1, 2, 3]))
    with pytest.raises(AnalyticsInputError, match="after start"):
        profit_by_customer(lines, start="2024-05-01", end="2024-01-01")


@pytest.fixture
def snapshot():
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(1, 11)],
            "profit": [500, 300, 200, 100, 50, 0, -20, -5, 80, 100],
            "clv": [600, 900, 250, 700, 60, 400, 1000, np.nan, 80, 150],
        }
    )


def test_classify_golden(snapshot):
    out = classify_value(snapshot, "profit", "clv")
    got = dict(zip(out.customer_id, out.value_class.astype(str), strict=True))
    # Positive profits: 500 300 200 100 100 80 50 -> n = 7, ceil(0.2 * 7) = 2 -> cutoff 300: c1, c2.
    # Gaps (clv - profit) of the rest, not below zero, gap > 0: c3 50, c4 600, c5 10, c6 400,
    # c10 50 (c9 gap 0 is not > 0) -> n = 5, ceil(0.2 * 5) = 1 -> c4.
    # Below zero: c7 (-20), c8 (-5). Everyone else: other.
    assert got == {
        "c1": "most_valuable", "c2": "most_valuable", "c4": "most_growable",
        "c7": "below_zero", "c8": "below_zero",
        "c3": "other", "c5": "other", "c6": "other", "c9": "other", "c10": "other",
    }
    assert out.loc[3, "value_gap"] == 600
    assert list(out["value_class"].cat.categories) == list(VALUE_CLASSES)
    assert "value_class" not in snapshot.columns  # input untouched


def test_classify_growable_from_below_zero(snapshot):
    out = classify_value(snapshot, "profit", "clv", ValueThresholds(growable_from_below_zero=True))
    # c7 (gap 1020) joins the pool: n = 6, ceil(1.2) = 2 -> gaps 1020, 600 -> c7, c4.
    growable = set(out.loc[out.value_class == "most_growable", "customer_id"])
    assert growable == {"c7", "c4"}
    assert out.set_index("customer_id").loc["c8", "value_class"] == "below_zero"


def test_classify_ties_are_not_split(snapshot):
    out = classify_value(snapshot, thresholds=ValueThresholds(most_valuable_share=0.5))
    # ceil(0.5 * 7) = 4 -> 4th largest positive profit is 100, held by c4 and c10: both in.
    assert set(out.loc[out.value_class == "most_valuable", "customer_id"]) == {"c1", "c2", "c3", "c4", "c10"}
    assert "value_gap" not in out.columns
    assert not (out.value_class == "most_growable").any()  # no prediction, no growable


def test_classify_float_share_rounding():
    # 0.2 * 15 is 3.0000000000000004 in floating point; it must still mean 3 customers.
    frame = pd.DataFrame({"profit": np.arange(1.0, 16.0)})
    assert (classify_value(frame)["value_class"] == "most_valuable").sum() == 3


def test_classify_below_zero_threshold_and_by_period():
    frame = pd.DataFrame(
        {
            "period": ["p1"] * 3 + ["p2"] * 3,
            "profit": [10.0, -30.0, -80.0, 1.0, 2.0, 3.0],
        }
    )
    out = classify_value(frame, by="period", thresholds=ValueThresholds(below_zero_profit=-50))
    # Within p1 only 10 is positive -> most valuable; -30 is above -50 -> other; -80 below zero.
    # Within p2: ceil(0.2 * 3) = 1 -> only 3.0.
    assert out["value_class"].astype(str).tolist() == [
        "most_valuable", "other", "below_zero", "other", "other", "most_valuable",
    ]


def test_classify_edge_cases():
    empty = classify_value(pd.DataFrame({"profit": pd.Series([], dtype=float)}))
    assert empty.empty and "value_class" in empty.columns
    one = classify_value(pd.DataFrame({"profit": [5.0]}))
    assert one["value_class"].tolist() == ["most_valuable"]
    all_negative = classify_value(pd.DataFrame({"profit": [-1.0, -2.0]}))
    assert set(all_negative["value_class"]) == {"below_zero"}


def test_classify_bad_input(snapshot):
    with pytest.raises(AnalyticsInputError, match="missing value"):
        classify_value(snapshot.assign(profit=[np.nan] + [1] * 9))
    with pytest.raises(AnalyticsInputError, match="must be numeric"):
        classify_value(snapshot.assign(profit="x"))
    with pytest.raises(AnalyticsInputError, match="missing column"):
        classify_value(snapshot, predicted_col="nope")
    with pytest.raises(AnalyticsInputError, match="most_valuable_share"):
        ValueThresholds(most_valuable_share=0)
    with pytest.raises(AnalyticsInputError, match="min_gap"):
        ValueThresholds(min_gap=float("nan"))
