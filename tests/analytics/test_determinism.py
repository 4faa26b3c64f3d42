"""The same input gives the same figures to the last digit, run after run."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from patron.analytics import _ibis
from patron.analytics.clv import rfm_summary
from patron.analytics.errors import AnalyticsInputError


def _transactions() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 600_000
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    return pd.DataFrame(
        {"customer_id": rng.integers(0, 60_000, n), "date": days, "amount": rng.gamma(2.0, 20.0, n).round(2)}
    )


def _in_new_thread(frame: pd.DataFrame) -> pd.DataFrame:
    # Each thread has its own DuckDB connection: a fresh one per run, as a new process would.
    out: dict[str, pd.DataFrame] = {}
    worker = threading.Thread(target=lambda: out.update(s=rfm_summary(frame, observation_end="2025-12-31")))
    worker.start()
    worker.join()
    return out["s"]


def test_a_summary_is_identical_to_the_last_digit_on_every_run():
    frame = _transactions()
    first, second, third = (_in_new_thread(frame) for _ in range(3))
    # Bit-for-bit, not approximately: DuckDB with several threads adds partial sums in any order.
    assert first["monetary_value"].to_numpy().tobytes() == second["monetary_value"].to_numpy().tobytes()
    assert first["monetary_value"].to_numpy().tobytes() == third["monetary_value"].to_numpy().tobytes()
    pd.testing.assert_frame_equal(first, second, check_exact=True)


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_thread_setting_is_refused_clearly(monkeypatch, value):
    monkeypatch.setenv("PATRON_DUCKDB_THREADS", value)
    with pytest.raises(AnalyticsInputError, match="PATRON_DUCKDB_THREADS"):
        _ibis.duckdb_threads()
