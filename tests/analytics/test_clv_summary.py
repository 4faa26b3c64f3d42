"""rfm_summary: the per-customer frequency / recency / T / monetary table (Ibis on DuckDB)."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from patron.analytics import clv


@lru_cache(maxsize=1)
def cdnow_transactions() -> pd.DataFrame:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_sample.txt"
    return pd.read_csv(
        path, sep=r"\s+", header=None, names=["customer_id", "master_id", "date", "cds", "amount"],
        dtype={"date": str},
    )


def tx(rows: list[tuple[object, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def test_cdnow_sample_summary_matches_published_counts() -> None:
    s = clv.rfm_summary(cdnow_transactions(), observation_end="1997-09-30", unit="W")
    assert len(s) == 2357
    assert int((s["frequency"] > 0).sum()) == 946  # the Gamma-Gamma note's repeat customers
    assert list(s.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert s.index.name == "customer_id"
    assert s.index.is_monotonic_increasing
    # Customer 4 bought on 1997-01-01, 01-18, 08-02 (and 12-12, after the calibration end).
    row = s.loc[4]
    assert row["frequency"] == 2
    assert row["recency"] == pytest.approx((pd.Timestamp("1997-08-02") - pd.Timestamp("1997-01-01")).days / 7)
    assert row["T"] == pytest.approx(272 / 7)
    assert row["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)
    assert s.attrs["excluded_after_observation_end"] > 0


def test_matches_lifetimes_summary_exactly() -> None:
    from lifetimes.utils import summary_data_from_transaction_data

    raw = cdnow_transactions().assign(date=lambda d: pd.to_datetime(d["date"], format="%Y%m%d"))
    ours = clv.rfm_summary(raw, observation_end="1997-09-30", unit="W")
    theirs = summary_data_from_transaction_data(
        raw, "customer_id", "date", monetary_value_col="amount",
        observation_period_end="1997-09-30", freq="D", freq_multiplier=7,
    ).sort_index()
    assert ours.index.equals(theirs.index)
    np.testing.assert_array_equal(ours["frequency"].to_numpy(), theirs["frequency"].to_numpy())
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col], theirs[col], rtol=1e-12, atol=1e-12)


def test_same_day_purchases_count_once_and_amounts_add_up() -> None:
    s = clv.rfm_summary(
        tx([
            ("a", "2024-01-01 09:00", 10.0),
            ("a", "2024-01-01 17:30", 5.0),  # same day as the first purchase
            ("a", "2024-01-08", 20.0),
            ("a", "2024-01-08", 4.0),
            ("a", "2024-01-15", 30.0),
            ("b", "2024-01-10", 7.0),
        ]),
        observation_end="2024-01-29", unit="D",
    )
    assert s.loc["a", "frequency"] == 2
    assert s.loc["a", "recency"] == 14.0
    assert s.loc["a", "T"] == 28.0
    assert s.loc["a", "monetary_value"] == pytest.approx((24.0 + 30.0) / 2)
    assert s.loc["b"].tolist() == [0, 0.0, 19.0, 0.0]


@pytest.mark.parametrize(("unit", "days"), [("D", 1.0), ("W", 7.0), ("M", 30.4375)])
def test_units(unit: str, days: float) -> None:
    s = clv.rfm_summary(tx([("a", "2024-01-01", 1.0), ("a", "2024-02-01", 1.0)]),
                        observation_end="2024-03-01", unit=unit)
    assert s.loc["a", "recency"] == pytest.approx(31 / days)
    assert s.loc["a", "T"] == pytest.approx(60 / days)


def test_observation_end_defaults_to_last_day_and_accepts_dates() -> None:
    t = tx([("a", "2024-01-01", 1.0), ("b", "2024-01-05", 1.0)])
    for end in (None, "2024-01-05", pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-05").date()):
        s = clv.rfm_summary(t, observation_end=end, unit="D")
        assert s["T"].tolist() == [4.0, 0.0]


def test_transactions_after_observation_end_are_left_out_or_raise_when_strict() -> None:
    t = tx([("a", "2024-01-01", 1.0), ("a", "2024-01-03", 2.0), ("a", "2024-02-01", 9.0),
            ("b", "2024-03-01", 5.0)])
    s = clv.rfm_summary(t, observation_end="2024-01-10", unit="D")
    assert list(s.index) == ["a"]  # b's first purchase is after the end
    assert s.loc["a", "frequency"] == 1
    assert s.loc["a", "monetary_value"] == 2.0
    assert s.attrs["excluded_after_observation_end"] == 2
    with pytest.raises(clv.CLVInputError, match="after observation_end"):
        clv.rfm_summary(t, observation_end="2024-01-10", unit="D", strict=True)


def test_timezone_aware_dates_use_the_local_day() -> None:
    dates = pd.to_datetime(["2024-01-01 23:30", "2024-01-02 00:30"]).tz_localize("Asia/Shanghai")
    t = pd.DataFrame({"customer_id": [1, 1], "date": dates, "amount": [1.0, 2.0]})
    s = clv.rfm_summary(t, unit="D")
    assert s.loc[1, "frequency"] == 1
    assert s.loc[1, "recency"] == 1.0


def test_without_amounts_and_with_other_column_names() -> None:
    t = pd.DataFrame({"cust": [1, 1, 2], "when": ["2024-01-01", "2024-01-08", "2024-01-02"]})
    s = clv.rfm_summary(t, customer_col="cust", date_col="when", amount_col=None, unit="W")
    assert list(s.columns) == ["frequency", "recency", "T"]
    assert s.index.name == "cust"
    assert s.loc[1, "recency"] == 1.0


def test_accepts_an_ibis_table() -> None:
    t = tx([("a", "2024-01-01", 1.0), ("a", "2024-01-08", 3.0), ("b", "2024-01-02", 2.0)])
    t["date"] = pd.to_datetime(t["date"])
    con = ibis.duckdb.connect()
    table = con.create_table("tx", ibis.memtable(t))
    from_ibis = clv.rfm_summary(table, observation_end="2024-01-15", unit="D")
    from_pandas = clv.rfm_summary(t, observation_end="2024-01-15", unit="D")
    pd.testing.assert_frame_equal(from_ibis, from_pandas)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (tx([]), "empty"),
        (tx([("a", "2024-01-01", -5.0)]), "negative"),
        (tx([("a", "2024-01-01", float("nan"))]), "missing amount"),
        (tx([(None, "2024-01-01", 1.0)]), "no customer_id"),
        (tx([("a", None, 1.0)]), "no date"),
        (tx([("a", "not a date", 1.0)]), "does not hold dates"),
        (pd.DataFrame({"customer_id": [1], "amount": [1.0]}), "missing column"),
    ],
)
def test_bad_input_raises_a_clear_error(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(clv.CLVInputError, match=message):
        clv.rfm_summary(frame, unit="D")


def test_nothing_before_observation_end_and_bad_unit_raise() -> None:
    t = tx([("a", "2024-01-01", 1.0)])
    with pytest.raises(clv.CLVInputError, match="no transaction is on or before"):
        clv.rfm_summary(t, observation_end="2023-12-31")
    with pytest.raises(clv.CLVInputError, match="unit"):
        clv.rfm_summary(t, unit="Y")
    with pytest.raises(clv.CLVInputError, match="not a date"):
        clv.rfm_summary(t, observation_end="soon")
    assert issubclass(clv.CLVInputError, ValueError)


def test_single_customer_single_purchase() -> None:
    s = clv.rfm_summary(tx([("a", "2024-01-01", 3.0)]), unit="D")
    assert s.loc["a"].tolist() == [0, 0.0, 0.0, 0.0]


def test_does_not_leave_the_transactions_registered_in_duckdb() -> None:
    # Each call copies the transactions into the shared DuckDB connection; they must be
    # released, or a long-running worker grows by the size of every frame it summarises.
    from patron.analytics import _ibis

    con = _ibis.connect()

    def views() -> int:
        return len(con.con.sql("select view_name from duckdb_views() where not internal").fetchall())

    before = views()
    t = tx([("a", "2024-01-01", 1.0), ("a", "2024-01-08", 3.0)])
    for _ in range(3):
        clv.rfm_summary(t, unit="D")
    with pytest.raises(clv.CLVInputError):
        clv.rfm_summary(t.assign(amount=-1.0), unit="D")
    assert views() == before
