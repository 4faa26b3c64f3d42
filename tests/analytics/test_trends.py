"""Repeat-purchase frequency, incremental spend and purchase-rate trends on hand-made data."""

import numpy as np
import pandas as pd
import pytest

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.trends import (
    incremental_spend,
    purchase_trend,
    purchases_by_period,
    repeat_purchase_frequency,
)

pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")


@pytest.fixture
def tx():
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 3],
            "date": pd.to_datetime(["2024-01-03", "2024-01-20", "2024-03-02", "2024-02-01", "2024-06-01", "2024-06-30"]),
            "amount": [10.0, 20.0, 5.0, 7.0, 9.0, 100.0],
        }
    )


def _from_counts(customer, counts, start="2024-01"):
    """One transaction on the 10th of each month, ``counts[i]`` times in month ``start + i``."""
    months = pd.period_range(start, periods=len(counts), freq="M")
    rows = [(customer, m.start_time + pd.Timedelta(days=9), 1.0) for m, n in zip(months, counts, strict=True) for _ in range(n)]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def test_purchases_by_period_dense(tx):
    out = purchases_by_period(tx)
    c1 = out[out.customer_id == 1]
    # Customer 1: Jan 2 purchases (10 + 20), Feb 0, Mar 1 (5), then 0 until June (last period).
    assert c1["purchases"].tolist() == [2, 0, 1, 0, 0, 0]
    assert c1["spend"].tolist() == [30.0, 0.0, 5.0, 0.0, 0.0, 0.0]
    assert [str(p) for p in c1["period"]] == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert out[out.customer_id == 3]["purchases"].tolist() == [1]
    no_amount = purchases_by_period(tx, amount_col=None, freq="Q")
    assert "spend" not in no_amount.columns
    assert no_amount[no_amount.customer_id == 1]["purchases"].tolist() == [3, 0]


def test_repeat_purchase_frequency_golden(tx):
    out = repeat_purchase_frequency(tx).set_index("customer_id")
    # 1: Jan..Jun = 6 periods, 3 purchases in 2 active months -> 3 / 6 = 0.5
    # 2: Feb..Jun = 5 periods, 2 purchases -> 0.4 ;  3: June only -> 1 / 1
    assert out["n_periods"].tolist() == [6, 5, 1]
    assert out["active_periods"].tolist() == [2, 2, 1]
    assert out["repeat_purchases"].tolist() == [2, 1, 0]
    assert out["purchases_per_period"].tolist() == [0.5, 0.4, 1.0]
    assert str(out.loc[2, "first_period"]) == "2024-02"


def test_repeat_purchase_frequency_last_period_and_orders(tx):
    tx = tx.assign(order_id=[10, 10, 11, 20, 21, 30])  # customer 1's January lines are one order
    out = repeat_purchase_frequency(tx, order_col="order_id", last_period="2024-03").set_index("customer_id")
    # Up to March: customer 1 has orders 10 and 11 over 3 months; 2 has one order over 2 months;
    # customer 3 only buys in June and is left out.
    assert out.index.tolist() == [1, 2]
    assert out["purchases"].tolist() == [2, 1]
    assert out["purchases_per_period"].tolist() == pytest.approx([2 / 3, 1 / 2])


@pytest.fixture
def spend():
    rows = [
        ("a", "2024-02-01", 100.0), ("a", "2024-05-01", 150.0),
        ("b", "2024-03-01", 80.0),
        ("c", "2024-04-15", 30.0),
        ("d", "2023-05-01", 40.0), ("d", "2024-06-30", 60.0),
        ("e", "2023-11-01", 5.0),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(date=lambda d: pd.to_datetime(d.date))


def test_incremental_spend_previous_period(spend):
    out = incremental_spend(spend).set_index("customer_id")  # latest period 2024Q2 vs 2024Q1
    assert out.index.tolist() == ["a", "b", "c", "d"]  # e has no spend in either quarter
    assert out["spend_current"].tolist() == [150.0, 0.0, 30.0, 60.0]
    assert out["spend_previous"].tolist() == [100.0, 80.0, 0.0, 0.0]
    assert out["incremental_spend"].tolist() == [50.0, -80.0, 30.0, 60.0]
    # a: (150 - 100) / 100 = +50 %; b: -100 %; c, d: no previous spend -> no percentage.
    assert out.loc["a", "incremental_pct"] == 50.0 and out.loc["b", "incremental_pct"] == -100.0
    assert out[["incremental_pct"]].loc[["c", "d"]].isna().all().item()
    assert str(out.attrs["current_period"]) == "2024Q2" and str(out.attrs["previous_period"]) == "2024Q1"


def test_incremental_spend_year_ago_and_explicit_period(spend):
    out = incremental_spend(spend, compare="year_ago").set_index("customer_id")  # 2024Q2 vs 2023Q2
    assert out.index.tolist() == ["a", "c", "d"]
    # d: 2023Q2 40 -> 2024Q2 60: +20, +50 %
    assert out.loc["d", "incremental_spend"] == 20.0 and out.loc["d", "incremental_pct"] == 50.0
    q1 = incremental_spend(spend, period="2024Q1").set_index("customer_id")  # vs 2023Q4
    assert q1["incremental_spend"].to_dict() == {"a": 100.0, "b": 80.0, "e": -5.0}


def test_purchase_trend_golden():
    tx = pd.concat(
        [
            # x = 0..5, y = 1 1 2 2 3 3: mean 2, sum((x - 2.5) * y) = 8, Sxx = 17.5
            # -> slope 8 / 17.5 = 0.4571, relative 0.2286 -> growing
            _from_counts("grow", [1, 1, 2, 2, 3, 3]),
            # y = 2 2 3 2 2 2: sum((x - 2.5) * y) = -0.5 -> slope -0.0286, relative -0.0132 -> stable
            _from_counts("flat", [2, 2, 3, 2, 2, 2]),
            # y = 3 3 2 1 1 0: sum((x - 2.5) * y) = -7.5 - 4.5 - 1 + 0.5 + 1.5 + 0 = -11
            # -> slope -0.629, mean 1.667 -> relative -0.377 -> shrinking
            _from_counts("fall", [3, 3, 2, 1, 1, 0]),
            # bought in 2023 only: no purchase in the window
            _from_counts("gone", [1], start="2023-03"),
            # first purchase in April: window Apr..Jun, y = 1 0 2: slope 0.5, mean 1 -> growing
            _from_counts("late", [1, 0, 2], start="2024-04"),
            # first purchase in June: one period only
            _from_counts("new", [1], start="2024-06"),
        ]
    )
    out = purchase_trend(tx, k=6).set_index("customer_id")
    assert out.loc["grow", "slope"] == pytest.approx(8 / 17.5)
    assert out.loc["grow", "relative_slope"] == pytest.approx(8 / 17.5 / 2)
    assert out.loc["flat", "slope"] == pytest.approx(-0.5 / 17.5)
    assert out.loc["fall", "slope"] == pytest.approx(-11 / 17.5)
    assert out.loc["late", "slope"] == pytest.approx(0.5) and out.loc["late", "n_periods"] == 3
    assert out["trend"].astype(str).to_dict() == {
        "fall": "shrinking", "flat": "stable", "gone": "inactive",
        "grow": "growing", "late": "growing", "new": "insufficient",
    }
    assert out.loc["gone", "n_periods"] == 6 and out.loc["gone", "purchases"] == 0


def test_purchase_trend_slope_matches_numpy_polyfit():
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 5, 8).tolist()
    out = purchase_trend(_from_counts("x", counts), k=8)
    assert out["slope"].item() == pytest.approx(np.polyfit(np.arange(8), counts, 1)[0])


def test_purchase_trend_window_and_threshold():
    tx = _from_counts("x", [5, 0, 0, 1, 1, 1, 1, 1])
    # Only the last 4 months (1 1 1 1) are in the window: flat.
    assert purchase_trend(tx, k=4)["trend"].item() == "stable"
    # Jan..Jun with last_period: y = 5 0 0 1 1 1, sum((x - 2.5) * y) = -12.5 + 0.5 + 1.5 + 2.5 = -8
    # -> slope -8 / 17.5 = -0.457, mean 8 / 6, relative -0.343
    out = purchase_trend(tx, k=6, last_period="2024-06")
    assert out["relative_slope"].item() == pytest.approx(-8 / 17.5 / (8 / 6))
    assert purchase_trend(tx, k=6, last_period="2024-06", threshold=0.5)["trend"].item() == "stable"


def test_empty_and_bad_input(tx):
    assert purchase_trend(tx.iloc[:0]).empty
    assert incremental_spend(tx.iloc[:0]).empty
    assert repeat_purchase_frequency(tx, last_period="2023-01").empty  # nothing that early
    with pytest.raises(AnalyticsInputError, match="k must be"):
        purchase_trend(tx, k=1)
    with pytest.raises(AnalyticsInputError, match="compare"):
        incremental_spend(tx, compare="last_year")
    with pytest.raises(AnalyticsInputError, match="year_ago"):
        incremental_spend(tx, freq="D", compare="year_ago")
    with pytest.raises(AnalyticsInputError, match="missing column"):
        purchase_trend(tx, date_col="when")
    with pytest.raises(AnalyticsInputError, match="period"):
        purchase_trend(tx, last_period="not a month")
