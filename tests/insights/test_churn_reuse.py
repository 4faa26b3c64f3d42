"""The scoring run fits its churn model on the evaluation's test set instead of building it again.

That is only right while the two are the same set: same cutoff, same customers, same features,
same labels. If build_features' or the evaluation's options drift apart, this fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patron.analytics import churn

END = pd.Timestamp("2025-12-31")


def _book(seed: int = 5, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows, answers, calls = [], [], []
    for cid in range(1, n + 1):
        start = END - pd.Timedelta(days=int(rng.integers(400, 1200)))
        stop = start + pd.Timedelta(days=int(rng.integers(30, 1300)))
        day = start
        while day < min(stop, END):
            rows.append((cid, day, float(rng.gamma(2.0, 40.0))))
            day += pd.Timedelta(days=int(rng.integers(10, 160)))
        if rng.random() < 0.4:
            answers.append((cid, start + pd.Timedelta(days=int(rng.integers(1, 300))), int(rng.integers(0, 11))))
        if rng.random() < 0.2:
            calls.append((cid, start + pd.Timedelta(days=int(rng.integers(1, 300))), "complaint"))
    orders = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    nps = pd.DataFrame(answers, columns=["customer_id", "date", "score"])
    interactions = pd.DataFrame(calls, columns=["customer_id", "date", "kind"])
    return orders, nps, interactions


def test_evaluation_test_set_is_the_production_training_set():
    orders, nps, interactions = _book()
    h = pd.Timedelta(days=churn.DEFAULT_ACTIVE_DAYS)
    end = END + pd.Timedelta(days=1)
    evaluation = churn.evaluate_out_of_time(
        orders, train_cutoff=end - 2 * h, horizon_days=churn.DEFAULT_ACTIVE_DAYS, data_end=end,
        nps=nps, interactions=interactions, follow_ups=None,
    )  # fmt: skip
    # What the pipeline built before it reused the evaluation's set.
    train_x = churn.build_features(orders, cutoff=end - h, nps=nps, interactions=interactions, follow_ups=None)
    train_y = churn.build_labels(orders, cutoff=end - h, horizon_days=churn.DEFAULT_ACTIVE_DAYS)
    assert evaluation.test_features is not None and evaluation.test_labels is not None
    assert len(train_x) > 50 and 0 < train_y.mean() < 1
    pd.testing.assert_frame_equal(evaluation.test_features, train_x, check_exact=True)
    pd.testing.assert_series_equal(evaluation.test_labels, train_y.reindex(train_x.index), check_exact=True)
