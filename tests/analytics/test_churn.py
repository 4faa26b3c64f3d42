"""Churn model: leakage-free features, honest out-of-time evaluation, reason codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patron.analytics.churn import (
    ATTITUDE_FEATURES,
    BEHAVIOUR_FEATURES,
    REASON_CODE_LIST,
    REASON_CODES,
    ChurnColumns,
    ChurnInputError,
    ChurnModel,
    build_features,
    build_labels,
    calibration_table,
    evaluate_out_of_time,
)

START = pd.Timestamp("2020-01-01")
T0 = pd.Timestamp("2023-01-01")


def simulate(n: int = 3000, *, attitude_signal: bool = True, seed: int = 0, months: int = 60):
    """Customers whose latent satisfaction drives NPS answers, complaints and - if
    ``attitude_signal`` - dropout. Without the signal, dropout follows an independent latent
    process, so what customers say tells nothing about whether they leave.
    """
    rng = np.random.default_rng(seed)
    start_month = rng.integers(0, 30, n)
    rate = rng.gamma(3.0, 0.35, n)  # orders per month while alive
    spend = rng.lognormal(4.0, 0.5, n)
    rho = 0.95  # satisfaction drifts slowly: an answer stays informative for months
    sat = rng.normal(size=n)
    other = rng.normal(size=n)
    alive = np.ones(n, dtype=bool)
    orders, answers, complaints, cases = [], [], [], []
    ids = np.array([f"c{i:05d}" for i in range(n)], dtype=object)
    for m in range(months):
        month = START + pd.DateOffset(months=m)
        active = start_month <= m
        driver = sat if attitude_signal else other
        hazard = 1.0 / (1.0 + np.exp(4.2 + 2.0 * driver))
        joined_now = start_month == m
        alive &= ~(active & ~joined_now & (rng.random(n) < hazard))
        buying = active & alive
        k = rng.poisson(rate * buying) + joined_now  # first purchase when acquired
        who = np.repeat(np.arange(n), k)
        days = rng.integers(0, 28, len(who))
        orders.append(pd.DataFrame({
            "customer_id": ids[who],
            "date": month + pd.to_timedelta(days, unit="D"),
            "amount": np.round(spend[who] * rng.lognormal(0, 0.3, len(who)), 2),
        }))  # fmt: skip
        ans = np.flatnonzero(active & (rng.random(n) < 0.25))
        score = np.clip(np.round(7.0 + 2.2 * sat[ans] + rng.normal(0, 1.2, len(ans))), 0, 10)
        a_day = month + pd.to_timedelta(rng.integers(0, 28, len(ans)), unit="D")
        answers.append(pd.DataFrame({"customer_id": ids[ans], "date": a_day, "score": score}))
        det = score <= 6
        closed = a_day[det] + pd.to_timedelta(rng.exponential(20, det.sum()), unit="D")
        never = rng.random(det.sum()) < 0.3
        cases.append(pd.DataFrame({
            "customer_id": ids[ans][det], "opened_at": a_day[det],
            "closed_at": closed.where(~never, pd.NaT),
        }))  # fmt: skip
        c = rng.poisson(0.06 * np.exp(-0.9 * sat) * active)
        cw = np.repeat(np.arange(n), c)
        complaints.append(pd.DataFrame({
            "customer_id": ids[cw],
            "date": month + pd.to_timedelta(rng.integers(0, 28, len(cw)), unit="D"),
            "kind": rng.choice(["complaint", "claim"], len(cw)),
        }))  # fmt: skip
        sat = rho * sat + np.sqrt(1 - rho**2) * rng.normal(size=n)
        other = rho * other + np.sqrt(1 - rho**2) * rng.normal(size=n)
    calls = pd.DataFrame({
        "customer_id": ids[rng.integers(0, n, 4000)],
        "date": START + pd.to_timedelta(rng.integers(0, months * 30, 4000), unit="D"),
        "kind": "call",
    })  # fmt: skip
    return (
        pd.concat(orders, ignore_index=True),
        pd.concat(answers, ignore_index=True),
        pd.concat([*complaints, calls], ignore_index=True),
        pd.concat(cases, ignore_index=True),
    )


@pytest.fixture(scope="module")
def sim():
    return simulate(attitude_signal=True, seed=1)


@pytest.fixture(scope="module")
def sim_null():
    return simulate(attitude_signal=False, seed=1)


def evaluate(data):
    orders, nps, interactions, follow_ups = data
    return evaluate_out_of_time(
        orders, train_cutoff=T0, horizon_days=180, nps=nps, interactions=interactions,
        follow_ups=follow_ups,
    )  # fmt: skip


def test_attitude_adds_out_of_time_auc_when_satisfaction_drives_dropout(sim) -> None:
    ev = evaluate(sim)
    print(ev)
    assert ev.test_cutoff == T0 + pd.Timedelta(days=180)
    assert ev.n_train > 1000 and ev.n_test > 1000
    assert 0.1 < ev.churn_rate_test < 0.6
    assert ev.auc_behaviour > 0.65  # behaviour alone is informative
    assert ev.auc_gain == pytest.approx(ev.auc - ev.auc_behaviour)
    assert ev.auc_gain > 0.02  # 0.039 at this seed; 0.019-0.048 over seeds 1-8
    assert ev.brier < ev.brier_behaviour
    # The model leans on attitude the way the simulation says it should.
    coef = ev.model.coef_
    assert coef["nps_latest"] < 0
    assert coef["recency_days"] + coef["recency_ratio"] > 0
    # Calibrated out of time: deciles rise, and predictions track observed rates.
    cal = ev.calibration
    assert list(cal["decile"]) == list(range(1, 11))
    assert cal["n"].sum() == ev.n_test
    assert cal["observed_rate"].iloc[-1] > 3 * cal["observed_rate"].iloc[0]
    assert np.abs(cal["mean_predicted"] - cal["observed_rate"]).max() < 0.12


def test_no_gain_when_attitude_carries_no_signal(sim_null) -> None:
    ev = evaluate(sim_null)
    print(ev)
    assert ev.auc_behaviour > 0.65
    assert abs(ev.auc_gain) < 0.01  # +0.002 at this seed; within +-0.007 over seeds 1-8


def test_features_ignore_data_at_or_after_cutoff(sim) -> None:
    orders, nps, interactions, follow_ups = sim
    before = build_features(
        orders, cutoff=T0, nps=nps, interactions=interactions, follow_ups=follow_ups
    )
    ids = before.index[:50]
    when = [T0, T0 + pd.Timedelta(hours=1), T0 + pd.Timedelta(days=30)]
    more_orders = pd.DataFrame({"customer_id": np.repeat(ids, 3), "date": when * 50, "amount": 1e6})
    more_nps = pd.DataFrame({"customer_id": np.repeat(ids, 3), "date": when * 50, "score": 0})
    more_int = pd.DataFrame(
        {"customer_id": np.repeat(ids, 3), "date": when * 50, "kind": "complaint"}
    )
    # New cases opened at/after the cutoff, and closing dates after it for cases open at T0.
    more_cases = pd.DataFrame(
        {"customer_id": np.repeat(ids, 3), "opened_at": when * 50, "closed_at": pd.NaT}
    )
    open_at_t0 = follow_ups["opened_at"].lt(T0) & follow_ups["closed_at"].isna()
    later_closed = follow_ups.copy()
    later_closed.loc[open_at_t0, "closed_at"] = T0 + pd.Timedelta(days=3)
    after = build_features(
        pd.concat([orders, more_orders], ignore_index=True),
        cutoff=T0,
        nps=pd.concat([nps, more_nps], ignore_index=True),
        interactions=pd.concat([interactions, more_int], ignore_index=True),
        follow_ups=pd.concat([later_closed, more_cases], ignore_index=True),
    )
    pd.testing.assert_frame_equal(before, after)
    # ...and a customer whose first order is after the cutoff is not in the population.
    newcomer = pd.DataFrame({"customer_id": ["zz"], "date": [T0], "amount": [10.0]})
    assert "zz" not in build_features(pd.concat([orders, newcomer]), cutoff=T0).index


def test_feature_values_on_a_hand_made_customer() -> None:
    cut = pd.Timestamp("2024-01-01")
    orders = pd.DataFrame(
        {
            "customer_id": ["a"] * 4 + ["b"],
            "date": pd.to_datetime(
                ["2023-01-01", "2023-03-02", "2023-05-01", "2023-11-02", "2023-12-01"]
            ),
            "amount": [10.0, 20.0, 30.0, 40.0, 5.0],
        }
    )
    nps = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "date": pd.to_datetime(["2023-02-01", "2023-06-01", "2023-10-01"]),
            "score": [9, 8, 4],
        }
    )
    interactions = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": pd.to_datetime(["2023-03-01", "2023-09-01", "2023-12-01", "2023-12-15"]),
            "kind": ["complaint", "complaint", "call", "claim"],
        }
    )
    follow_ups = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "opened_at": pd.to_datetime(["2023-10-01", "2023-06-01", "2023-12-20"]),
            "closed_at": pd.to_datetime([None, "2023-06-05", "2024-02-01"]),
        }
    )
    f = build_features(
        orders, cutoff=cut, nps=nps, interactions=interactions, follow_ups=follow_ups
    )
    a, b = f.loc["a"], f.loc["b"]
    assert list(f.columns) == list(BEHAVIOUR_FEATURES + ATTITUDE_FEATURES)
    assert a["recency_days"] == 60
    assert a["frequency"] == 4 and a["monetary"] == 25
    assert a["tenure_days"] == 365
    # last 180 days: 1 order (Nov); the 180 before: 2 (Mar, May)
    assert a["purchase_rate_trend"] == pytest.approx(np.log(2 / 3))
    assert a["recency_ratio"] == pytest.approx(60 / ((365 - 60) / 3))
    assert (a["nps_latest"], a["nps_change"], a["detractor"], a["has_nps"]) == (4, -4, 1, 1)
    assert a["complaints_180d"] == 1  # March is too old, the call is no complaint
    assert a["open_follow_ups"] == 1
    assert np.isnan(b["nps_latest"]) and b["has_nps"] == 0 and b["detractor"] == 0
    assert b["recency_ratio"] == pytest.approx(31 / ((365 - 60) / 3))  # population median gap
    assert b["complaints_180d"] == 1 and b["open_follow_ups"] == 1
    # active_days drops customers quiet for longer; customers= forces a population.
    assert list(build_features(orders, cutoff=cut, active_days=45).index) == ["b"]
    forced = build_features(orders, cutoff=cut, customers=["b", "new"])
    assert list(forced.index) == ["b", "new"]
    assert forced.loc["new", "frequency"] == 0 and np.isnan(forced.loc["new", "recency_days"])


def test_labels() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "date": pd.to_datetime(
                ["2023-01-01", "2023-02-01", "2023-01-01", "2023-01-01", "2023-06-30"]
            ),
            "amount": 1.0,
        }
    )
    # c buys again on 2023-06-30: 166 days after the cutoff.
    y = build_labels(orders, cutoff="2023-01-15", horizon_days=166)
    assert y.to_dict() == {"a": 0, "b": 1, "c": 1}
    assert y.name == "churned" and y.index.name == "customer_id"
    y = build_labels(orders, cutoff="2023-01-15", horizon_days=167)
    assert y.to_dict() == {"a": 0, "b": 1, "c": 0}
    assert build_labels(orders, cutoff="2023-01-15", customers=["b", "x"]).to_dict() == {
        "b": 1,
        "x": 1,
    }


def test_custom_columns_and_timezones() -> None:
    orders = pd.DataFrame(
        {
            "cust": ["a", "a", "b"],
            "ordered_at": pd.to_datetime(
                ["2023-01-01 10:00", "2023-02-01 12:00", "2023-01-05 00:00"]
            ).tz_localize("Asia/Shanghai"),
            "total": [1.0, 2.0, 3.0],
        }
    )
    cols = ChurnColumns(customer="cust", order_date="ordered_at", amount="total")
    f = build_features(orders, cutoff="2023-03-01", columns=cols)
    assert f.index.name == "cust" and f.loc["a", "monetary"] == 1.5
    # Timezone-aware values keep their wall-clock time (the project-wide rule).
    assert f.loc["a", "recency_days"] == pytest.approx(28 - 0.5)
    g = build_features(orders, cutoff=pd.Timestamp("2023-03-01", tz="Asia/Shanghai"), columns=cols)
    pd.testing.assert_frame_equal(f, g)


def test_reasons_are_stable_codes_for_risk_raising_features(sim) -> None:
    orders, nps, interactions, follow_ups = sim
    x = build_features(orders, cutoff=T0, nps=nps, interactions=interactions, follow_ups=follow_ups)
    y = build_labels(orders, cutoff=T0, customers=x.index)
    model = ChurnModel().fit(x, y)
    risk = model.predict_risk(x)
    assert risk.between(0, 1).all() and risk.index.equals(x.index)
    contrib = model.contributions(x)
    logit = contrib.sum(axis=1) + model.intercept_
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), risk, rtol=1e-9)

    reasons = model.reasons(x, k=3)
    assert list(reasons.columns) == [
        "customer_id", "rank", "reason", "feature", "value", "contribution",
    ]  # fmt: skip
    assert reasons.groupby("customer_id").size().max() <= 3
    assert (reasons["contribution"] > 0).all()
    assert set(reasons["reason"]) <= set(REASON_CODE_LIST)
    assert {"detractor", "no_recent_purchase"} <= set(reasons["reason"])
    assert not reasons.duplicated(["customer_id", "reason"]).any()
    # Ranks follow contribution, and reasons point the right way.
    assert (
        reasons.groupby("customer_id")["contribution"]
        .apply(lambda s: s.is_monotonic_decreasing)
        .all()
    )
    det = reasons[reasons["reason"] == "detractor"]
    assert (x.loc[det["customer_id"], "detractor"] == 1).all()
    # The feature named is on the risky side of the training population's (log-scale) mean.
    z = pd.DataFrame(
        model.scaler_.transform(model._design(x)), index=x.index, columns=model.feature_names_
    )
    for row in reasons.itertuples():
        direction = REASON_CODES["low_nps" if row.reason == "detractor" else row.reason]
        assert z.loc[row.customer_id, row.feature] * direction[row.feature] > 0
    # The riskiest customers have reasons; customers with a complaint and a low score get them.
    top = risk.nlargest(20).index
    assert set(top) <= set(reasons["customer_id"])


def test_model_input_errors(sim) -> None:
    orders, *_ = sim
    x = build_features(orders, cutoff=T0)
    y = build_labels(orders, cutoff=T0, customers=x.index)
    with pytest.raises(ChurnInputError, match="single class"):
        ChurnModel(attitude=False).fit(x, y * 0)
    with pytest.raises(ChurnInputError, match="0/1"):
        ChurnModel(attitude=False).fit(x, y * 2)
    with pytest.raises(ChurnInputError, match="not fitted"):
        ChurnModel().predict_risk(x)
    with pytest.raises(ChurnInputError, match="missing column"):
        build_features(orders.drop(columns="amount"), cutoff=T0)
    with pytest.raises(ChurnInputError, match="not a date"):
        build_features(orders, cutoff="soon")
    with pytest.raises(ChurnInputError, match="earlier train_cutoff"):
        evaluate_out_of_time(orders, train_cutoff="2024-06-01")
    with pytest.raises(ValueError):  # ChurnInputError is a ValueError
        build_labels(orders, cutoff=T0, horizon_days=0)
    # Behaviour-only model works on behaviour columns alone.
    m = ChurnModel(attitude=False).fit(x[list(BEHAVIOUR_FEATURES)], y)
    assert list(m.coef_.index) == list(BEHAVIOUR_FEATURES)


def test_calibration_table_shape() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(1000)
    y = rng.random(1000) < p
    cal = calibration_table(y, p)
    assert len(cal) == 10 and (cal["n"] == 100).all()
    np.testing.assert_allclose(cal["mean_predicted"], cal["observed_rate"], atol=0.12)


def test_design_fills_missing_with_training_medians_and_logs_heavy_tails(sim) -> None:
    """The model's input: each feature as the pandas recipe gives it (fill, clip at 0, log1p)."""
    orders, nps, interactions, follow_ups = sim
    x = build_features(orders, cutoff=T0, nps=nps, interactions=interactions, follow_ups=follow_ups)
    model = ChurnModel().fit(x, build_labels(orders, cutoff=T0, customers=x.index))
    odd = x.copy()
    odd.iloc[0, odd.columns.get_loc("recency_days")] = -3.0  # a date slip: enters as log1p(0)
    odd.iloc[1, odd.columns.get_loc("monetary")] = np.nan
    expected = odd[model.feature_names_].astype(float).fillna(model.fill_values_)
    for name in ("recency_days", "frequency", "monetary", "tenure_days", "recency_ratio",
                 "complaints_180d", "complaints_since_order", "open_follow_ups"):  # fmt: skip
        expected[name] = np.log1p(expected[name].clip(lower=0.0))
    design = model._design(odd)
    np.testing.assert_array_equal(design, expected.to_numpy())
    assert design[0, model.feature_names_.index("recency_days")] == 0.0
    assert design[1, model.feature_names_.index("monetary")] == np.log1p(
        model.fill_values_["monetary"]
    )
    assert x.isna().sum().sum() == odd.isna().sum().sum() - 1  # the input is left as it was


def test_features_leave_the_callers_frames_unchanged(sim) -> None:
    orders, nps, interactions, follow_ups = sim
    aware = orders.assign(date=orders["date"].dt.tz_localize("Asia/Shanghai"))
    before = aware.copy()
    extra = {"nps": nps, "interactions": interactions, "follow_ups": follow_ups}
    naive = build_features(orders, cutoff=T0, **extra)
    from_aware = build_features(aware, cutoff=T0, **extra)
    pd.testing.assert_frame_equal(aware, before)  # still time-zone aware, same values
    pd.testing.assert_frame_equal(naive, from_aware)
