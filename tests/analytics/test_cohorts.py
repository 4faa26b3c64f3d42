"""Cohort retention and revenue curves on hand-made transactions."""

import numpy as np
import pandas as pd
import pytest

from patron.analytics.cohorts import cohort_pivot, cohort_retention, cohort_revenue, cohort_table
from patron.analytics.errors import AnalyticsInputError

pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")


@pytest.fixture
def tx():
    rows = [
        ("a", "2024-01-05", 10.0), ("a", "2024-02-10", 5.0), ("a", "2024-04-01", 20.0),
        ("b", "2024-01-20", 30.0),
        ("c", "2024-02-01", 8.0), ("c", "2024-02-28", 2.0), ("c", "2024-03-15", 4.0),
        ("d", "2024-03-03", 50.0),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(date=lambda d: pd.to_datetime(d.date))


def _cells(out, col):
    return {(str(r.cohort), r.period_number): getattr(r, col) for r in out.itertuples()}


def test_first_purchase_cohorts_golden(tx):
    out = cohort_table(tx)
    # Cohorts: Jan {a, b}, Feb {c}, Mar {d}; data end in April.
    # Jan: k0 a, b -> 2/2; k1 (Feb) a -> 1/2; k2 (Mar) nobody -> 0; k3 (Apr) a -> 1/2
    # Feb: k0 c -> 1; k1 (Mar) c -> 1; k2 (Apr) -> 0.   Mar: k0 d -> 1; k1 -> 0.
    assert _cells(out, "retention") == {
        ("2024-01", 0): 1.0, ("2024-01", 1): 0.5, ("2024-01", 2): 0.0, ("2024-01", 3): 0.5,
        ("2024-02", 0): 1.0, ("2024-02", 1): 1.0, ("2024-02", 2): 0.0,
        ("2024-03", 0): 1.0, ("2024-03", 1): 0.0,
    }
    # Jan revenue 40, 5, 0, 20 over 2 members -> cumulative 20, 22.5, 22.5, 32.5
    # Feb 10, 4, 0 -> 10, 14, 14; Mar 50, 0 -> 50, 50
    cum = _cells(out, "cumulative_revenue_per_member")
    assert [cum[("2024-01", k)] for k in range(4)] == [20.0, 22.5, 22.5, 32.5]
    assert [cum[("2024-02", k)] for k in range(3)] == [10.0, 14.0, 14.0]
    assert [cum[("2024-03", k)] for k in range(2)] == [50.0, 50.0]
    assert out.loc[out.period_number == 0, "cohort_size"].tolist() == [2, 1, 1]
    assert str(out.loc[3, "period"]) == "2024-04"


def test_pivot_is_triangular(tx):
    pivot = cohort_pivot(cohort_retention(tx))
    assert pivot.shape == (3, 4)
    assert pivot.loc[pd.Period("2024-01", "M")].tolist() == [1.0, 0.5, 0.0, 0.5]
    assert np.isnan(pivot.loc[pd.Period("2024-03", "M"), 2])  # after the end of the data
    rev = cohort_pivot(cohort_revenue(tx), "revenue_per_member")
    assert rev.loc[pd.Period("2024-02", "M")].tolist()[:3] == [10.0, 4.0, 0.0]


def test_acquisition_dates_from_customers(tx):
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "acquired_at": pd.to_datetime(["2024-01-01", "2023-12-15", "2024-02-01", "2024-03-01", "2024-02-20"]),
        }
    )
    extra = pd.DataFrame({"customer_id": ["zz"], "date": pd.to_datetime(["2024-01-01"]), "amount": [99.0]})
    out = cohort_table(pd.concat([tx, extra]), customers=customers)
    ret = _cells(out, "retention")
    # b acquired in December and first buys in January: Dec cohort k0 0/1, k1 1/1, k2..k4 0.
    assert [ret[("2023-12", k)] for k in range(5)] == [0.0, 1.0, 0.0, 0.0, 0.0]
    # Feb cohort {c, e}: e never buys -> k0 1/2, k1 1/2.
    assert [ret[("2024-02", k)] for k in range(3)] == [0.5, 0.5, 0.0]
    # zz is not a known customer: its 99 is not in any cohort.
    assert out["revenue"].sum() == tx["amount"].sum()


def test_quarterly_and_last_period(tx):
    out = cohort_table(tx, freq="Q")
    # One cohort 2024Q1 {a, b, c, d}; Q2 only a is active -> 1/4.
    assert _cells(out, "retention") == {("2024Q1", 0): 1.0, ("2024Q1", 1): 0.25}
    short = cohort_table(tx, last_period="2024-02")
    assert set(short["cohort"].astype(str)) == {"2024-01", "2024-02"}
    assert short["period"].max() == pd.Period("2024-02", "M")


def test_empty_and_bad_input(tx):
    empty = cohort_table(tx.iloc[:0])
    assert empty.empty and "retention" in empty.columns
    assert "revenue" not in cohort_retention(tx.iloc[:0]).columns
    with pytest.raises(AnalyticsInputError, match="missing column"):
        cohort_table(tx.drop(columns="amount"))
    with pytest.raises(AnalyticsInputError, match="duplicate"):
        cohort_table(tx, customers=pd.DataFrame({"customer_id": ["a", "a"], "acquired_at": ["2024-01-01"] * 2}))
    with pytest.raises(AnalyticsInputError, match="missing column"):
        cohort_pivot(cohort_table(tx), "nope")
