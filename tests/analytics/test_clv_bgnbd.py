"""BG/NBD: published CDNOW fit, agreement with lifetimes' formulas, recovery, bad input."""

from __future__ import annotations

import dataclasses
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patron.analytics import clv
from patron.analytics.clv.bgnbd import _nll, _prepare

pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")

CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, table 1


@lru_cache(maxsize=1)
def cdnow_summary() -> pd.DataFrame:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_sample.txt"
    raw = pd.read_csv(path, sep=r"\s+", header=None,
                      names=["customer_id", "master_id", "date", "cds", "amount"],
                      dtype={"date": str})
    return clv.rfm_summary(raw, observation_end="1997-09-30", unit="W")


@lru_cache(maxsize=1)
def cdnow_fit() -> clv.BetaGeo:
    return clv.BetaGeo().fit(cdnow_summary())


def test_reproduces_fader_hardie_lee_2005() -> None:
    bg = cdnow_fit()
    for name, published in CDNOW_BGNBD.items():
        assert bg.params_[name] == pytest.approx(published, abs=6e-4), name
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert bg.converged_ and bg.n_customers_ == 2357
    assert bg.diagnostics_.gradient_max < 1e-6
    assert bg.diagnostics_.n_groups < 2357  # identical rows were grouped
    assert set(bg.standard_errors_ or {}) == set(CDNOW_BGNBD)
    assert all(0 < v < bg.params_[k] for k, v in (bg.standard_errors_ or {}).items())


def test_log_likelihood_and_standard_errors_agree_with_lifetimes() -> None:
    from lifetimes import BetaGeoFitter

    s = cdnow_summary()
    theirs = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    p = theirs.params_
    ll_theirs = -len(s) * BetaGeoFitter._negative_log_likelihood(
        np.log([p["r"], p["alpha"], p["a"], p["b"]]), s["frequency"].to_numpy(),
        s["recency"].to_numpy(), s["T"].to_numpy(), np.ones(len(s)), 0.0)
    bg = cdnow_fit()
    # Our optimum is at least as good as theirs, and the same to 1e-8 relative.
    assert bg.log_likelihood_ >= ll_theirs - 1e-6
    assert bg.log_likelihood_ == pytest.approx(ll_theirs, rel=1e-8)
    # Our likelihood at their parameters is their likelihood.
    data = _prepare(s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy())
    ours_at_theirs = -len(s) * _nll(np.log([p["r"], p["alpha"], p["a"], p["b"]]), data)[0]
    assert ours_at_theirs == pytest.approx(ll_theirs, rel=1e-12)
    for k in CDNOW_BGNBD:
        assert bg.standard_errors_[k] == pytest.approx(theirs.standard_errors_[k], rel=0.02)  # type: ignore[index]


def test_analytic_gradient_matches_finite_differences() -> None:
    s = cdnow_summary()
    data = _prepare(s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy())
    theta = np.log([0.4, 6.0, 1.3, 3.0])
    _, grad = _nll(theta, data)
    h = 1e-6
    num = [(_nll(theta + e, data)[0] - _nll(theta - e, data)[0]) / (2 * h)
           for e in np.eye(4) * h]
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


def _lifetimes_model(params: dict[str, float]):
    from lifetimes import BetaGeoFitter

    m = BetaGeoFitter()
    m.params_ = pd.Series(params)
    return m


def test_predictions_match_lifetimes_for_the_same_parameters() -> None:
    s = cdnow_summary()
    bg = cdnow_fit()
    ref = _lifetimes_model(bg.params_)
    f, r, T = s["frequency"], s["recency"], s["T"]
    for t in (1.0, 10.0, 39.0, 52.0):
        np.testing.assert_allclose(
            bg.expected_purchases(s, t),
            ref.conditional_expected_number_of_purchases_up_to_time(t, f, r, T), rtol=1e-6)
    np.testing.assert_allclose(bg.p_alive(s), ref.conditional_probability_alive(f, r, T),
                               rtol=1e-6)
    ts = np.array([0.5, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(bg.expected_purchases_new(ts),
                               ref.expected_number_of_purchases_up_to_time(ts), rtol=1e-6)
    assert isinstance(bg.expected_purchases_new(39.0), float)
    p = bg.p_alive(s)
    assert p.between(0, 1).all() and (p[s["frequency"] == 0] == 1).all()
    assert p.index.equals(s.index)


def test_expected_purchases_new_tracks_the_calibration_purchases() -> None:
    # As in FHL 2005's tracking plot: summing each customer's unconditional E[X(T)] over the
    # time they were observed should give about the repeat purchases actually made (2,457).
    bg = cdnow_fit()
    s = cdnow_summary()
    assert int(s["frequency"].sum()) == 2457
    predicted = float(np.sum(bg.expected_purchases_new(s["T"].to_numpy())))
    assert predicted == pytest.approx(2457, rel=0.03)
    # and the curve is increasing from 0
    curve = bg.expected_purchases_new(np.arange(0, 80.0))
    assert curve[0] == 0 and (np.diff(curve) > 0).all()


def test_recovers_simulated_parameters() -> None:
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    rng = np.random.default_rng(7)
    n = 60_000
    T = rng.integers(180, 365, n) / 7.0  # acquired over half a year, weekly units, day grid
    s = clv.simulate_bgnbd(n, truth, T, seed=11, resolution=1 / 7)
    bg = clv.BetaGeo().fit(s)
    se = bg.standard_errors_
    assert se is not None
    for k, v in truth.items():
        # 4 standard errors: with 4 parameters a false alarm has probability ~2.5e-4.
        assert abs(bg.params_[k] - v) < 4 * se[k], (k, bg.params_[k], se[k])
        assert se[k] < 0.1 * v  # and the sample is large enough for that to mean something


def test_simulation_latent_columns_are_consistent() -> None:
    s = clv.simulate_bgnbd(5000, CDNOW_BGNBD, 39.0, seed=1, latent=True)
    assert (s["recency"] <= s["T"]).all() and (s.loc[s["frequency"] == 0, "recency"] == 0).all()
    assert not s.loc[s["frequency"] == 0, "alive"].eq(False).any()  # no dropout before a repeat
    assert s["purchase_rate"].mean() == pytest.approx(0.243 / 4.414, rel=0.15)
    again = clv.simulate_bgnbd(5000, CDNOW_BGNBD, 39.0, seed=1, latent=True)
    pd.testing.assert_frame_equal(s, again)


def test_fit_accepts_column_names_and_is_sklearn_style() -> None:
    s = cdnow_summary().rename(columns={"frequency": "x", "recency": "t_x", "T": "age"})
    est = clv.BetaGeo(standard_errors=False)
    assert est.get_params()["standard_errors"] is False
    assert est.fit(s, frequency_col="x", recency_col="t_x", T_col="age") is est
    assert est.params_ == pytest.approx(cdnow_fit().params_, rel=1e-6)
    assert est.standard_errors_ is None
    assert est.expected_purchases(s, 10).name == "expected_purchases"
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.diagnostics_.converged = False  # type: ignore[misc]


def test_from_params_predicts_like_the_fitted_model() -> None:
    s = cdnow_summary()
    bg = cdnow_fit()
    stored = clv.BetaGeo.from_params(bg.params_)
    pd.testing.assert_series_equal(stored.p_alive(s), bg.p_alive(s))
    pd.testing.assert_series_equal(stored.expected_purchases(s, 10), bg.expected_purchases(s, 10))
    renamed = s.rename(columns={"T": "age"})
    other = clv.BetaGeo.from_params(bg.params_, columns=("frequency", "recency", "age"))
    np.testing.assert_array_equal(other.p_alive(renamed), bg.p_alive(s))
    with pytest.raises(clv.CLVInputError, match="missing parameter"):
        clv.BetaGeo.from_params({"r": 1.0})
    with pytest.raises(clv.CLVInputError, match="positive"):
        clv.BetaGeo.from_params({**bg.params_, "a": -1.0})


def test_unfitted_model_raises() -> None:
    with pytest.raises(clv.NotFittedError, match="fit"):
        clv.BetaGeo().p_alive(cdnow_summary())


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"frequency": [2], "recency": [3.0], "T": [5.0]}), "at least 2"),
        (pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [5.0, 6.0]}),
         "no customer has a repeat"),
        (pd.DataFrame({"frequency": [1, 0], "recency": [7.0, 0.0], "T": [5.0, 6.0]}),
         "recency must not exceed T"),
        (pd.DataFrame({"frequency": [1, 0], "recency": [np.nan, 0.0], "T": [5.0, 6.0]}),
         "missing or infinite"),
        (pd.DataFrame({"frequency": [1.5, 0], "recency": [1.0, 0.0], "T": [5.0, 6.0]}),
         "whole numbers"),
        (pd.DataFrame({"frequency": [1, 0], "recency": [1.0, 2.0], "T": [5.0, 6.0]}),
         "recency must be 0"),
        (pd.DataFrame({"frequency": [1, 0], "T": [5.0, 6.0]}), "missing column"),
        (pd.DataFrame(columns=["frequency", "recency", "T"]), "at least 2"),
    ],
)
def test_bad_input_raises(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(clv.CLVInputError, match=message):
        clv.BetaGeo().fit(frame)


def test_non_convergence_raises_with_diagnostics() -> None:
    with pytest.raises(clv.ConvergenceError, match="did not converge") as err:
        clv.BetaGeo(max_iter=2).fit(cdnow_summary())
    diag = err.value.diagnostics
    assert diag is not None and not diag.converged and np.isfinite(diag.log_likelihood)
    assert isinstance(err.value, ValueError)


def test_degenerate_data_raise_instead_of_returning_nonsense() -> None:
    # Everybody still buying at the very end: no sign of dropout, so b runs off to infinity.
    n = 400
    s = pd.DataFrame({"frequency": np.full(n, 5), "recency": np.full(n, 30.0),
                      "T": np.full(n, 30.0)})
    with pytest.raises(clv.ConvergenceError, match=r"ran to 0 or infinity"):
        clv.BetaGeo().fit(s)


def test_bad_prediction_arguments() -> None:
    bg = cdnow_fit()
    with pytest.raises(clv.CLVInputError, match="t must"):
        bg.expected_purchases(cdnow_summary(), -1)
    with pytest.raises(clv.CLVInputError, match="t must"):
        bg.expected_purchases_new(np.array([1.0, np.nan]))
    empty = cdnow_summary().iloc[:0]
    assert bg.expected_purchases(empty, 5).empty and bg.p_alive(empty).empty
