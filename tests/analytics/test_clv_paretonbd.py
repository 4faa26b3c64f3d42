"""Pareto/NBD: published CDNOW fit, the 2F1 quadrature, agreement with lifetimes, recovery."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from patron.analytics import clv
from patron.analytics.clv.paretonbd import _log_G, _nll, _prepare

pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")

CDNOW_PARETO = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}  # FHL 2005, published


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
def cdnow_fit() -> clv.ParetoNBD:
    return clv.ParetoNBD().fit(cdnow_summary())


def _arrays(s: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy()


def test_reproduces_the_published_cdnow_estimates() -> None:
    pn = cdnow_fit()
    for name, published in CDNOW_PARETO.items():
        # published to two decimals
        assert pn.params_[name] == pytest.approx(published, abs=0.006), name
    assert pn.log_likelihood_ == pytest.approx(-9595.0, abs=0.5)
    assert pn.converged_ and pn.diagnostics_.gradient_max < 1e-6
    assert pn.standard_errors_ is not None


def test_log_likelihood_equals_lifetimes_closed_form() -> None:
    from lifetimes import ParetoNBDFitter

    s = cdnow_summary()
    x, tx, T = _arrays(s)
    data = _prepare(x, tx, T)
    # Both of Fader-Hardie's cases (alpha < beta and alpha >= beta) and a far-off point.
    for params in ([0.55, 10.58, 0.61, 11.67], [0.55, 12.0, 0.61, 9.0], [0.2, 1.5, 2.5, 60.0],
                   [1.5, 30.0, 0.3, 2.0]):
        theirs = ParetoNBDFitter._conditional_log_likelihood(params, x, tx, T).sum()
        ours = -len(s) * _nll(np.log(params), data)[0]
        assert ours == pytest.approx(theirs, rel=1e-9), params
    # The fitted optimum is at least as good as lifetimes' own.
    fitted = ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"]).params_
    ll_theirs = ParetoNBDFitter._conditional_log_likelihood(
        [fitted["r"], fitted["alpha"], fitted["s"], fitted["beta"]], x, tx, T).sum()
    assert cdnow_fit().log_likelihood_ >= ll_theirs - 1e-6
    assert cdnow_fit().log_likelihood_ == pytest.approx(ll_theirs, rel=1e-7)


def test_quadrature_matches_the_hypergeometric_closed_form() -> None:
    # log G(x, t) = -(r+s+x) log(m+t) + log[2F1(r+s+x, b; r+s+x+1; z) / (r+s+x)]
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.integers(0, 200, n).astype(float)
    t = rng.uniform(0, 300, n)
    for r, alpha, s, beta in ((0.55, 10.58, 0.61, 11.67), (0.3, 40.0, 1.2, 2.0),
                              (2.0, 0.5, 0.1, 30.0), (0.05, 3.0, 0.04, 3.0)):
        lg, _ = _log_G(x, t, (r, alpha, s, beta), grad=False)
        m, mn = max(alpha, beta), min(alpha, beta)
        a = r + s + x
        b = r + x if alpha < beta else np.full(n, s + 1.0)
        ref = -a * np.log(m + t) + np.log(hyp2f1(a, b, a + 1, (m - mn) / (m + t)) / a)
        ok = np.isfinite(ref)
        assert ok.mean() > 0.99
        np.testing.assert_allclose(lg[ok], ref[ok], rtol=0, atol=1e-9)
        assert np.isfinite(lg).all()  # where 2F1 overflows the log-space quadrature does not


def test_analytic_gradient_matches_finite_differences() -> None:
    data = _prepare(*_arrays(cdnow_summary()))
    for p in ([0.5, 9.0, 0.7, 13.0], [0.5, 13.0, 0.7, 9.0]):
        theta = np.log(p)
        _, grad = _nll(theta, data)
        h = 1e-6
        num = [(_nll(theta + e, data)[0] - _nll(theta - e, data)[0]) / (2 * h)
               for e in np.eye(4) * h]
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


def _lifetimes_model(params: dict[str, float]):
    from lifetimes import ParetoNBDFitter

    m = ParetoNBDFitter()
    m.params_ = pd.Series(params)
    return m


def test_predictions_match_lifetimes_for_the_same_parameters() -> None:
    s = cdnow_summary()
    pn = cdnow_fit()
    ref = _lifetimes_model(pn.params_)
    f, r, T = s["frequency"], s["recency"], s["T"]
    np.testing.assert_allclose(pn.p_alive(s), ref.conditional_probability_alive(f, r, T),
                               rtol=1e-6)
    for t in (1.0, 10.0, 52.0):
        np.testing.assert_allclose(
            pn.expected_purchases(s, t),
            ref.conditional_expected_number_of_purchases_up_to_time(t, f, r, T), rtol=1e-6)
    ts = np.array([0.5, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(pn.expected_purchases_new(ts),
                               ref.expected_number_of_purchases_up_to_time(ts), rtol=1e-6)
    p = pn.p_alive(s)
    assert p.between(0, 1).all()
    # More recent buyers with the same frequency are likelier to be alive.
    late = pd.DataFrame({"frequency": [3, 3], "recency": [5.0, 35.0], "T": [38.0, 38.0]})
    assert pn.p_alive(late).is_monotonic_increasing


def _simulate_pareto(n: int, params: dict[str, float], T: np.ndarray, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    mu = rng.gamma(params["s"], 1 / params["beta"], n)
    alive_for = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * alive_for)
    tx = np.where(x > 0, alive_for * rng.beta(np.maximum(x, 1), 1), 0.0)
    return pd.DataFrame({"frequency": x, "recency": np.round(tx * 7) / 7, "T": T})


def test_recovers_simulated_parameters() -> None:
    truth = {"r": 0.8, "alpha": 8.0, "s": 0.7, "beta": 12.0}
    rng = np.random.default_rng(5)
    n = 40_000
    T = rng.integers(180, 365, n) / 7.0
    s = _simulate_pareto(n, truth, T, seed=9)
    pn = clv.ParetoNBD().fit(s)
    se = pn.standard_errors_
    assert se is not None
    for k, v in truth.items():
        assert abs(pn.params_[k] - v) < 4 * se[k], (k, pn.params_[k], se[k])
        assert se[k] < 0.25 * v


def test_bad_input_and_non_convergence() -> None:
    with pytest.raises(clv.CLVInputError, match="at least 2"):
        clv.ParetoNBD().fit(pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}))
    with pytest.raises(clv.CLVInputError, match="no customer has a repeat"):
        clv.ParetoNBD().fit(pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0],
                                          "T": [2.0, 3.0]}))
    with pytest.raises(clv.ConvergenceError):
        clv.ParetoNBD(max_iter=2).fit(cdnow_summary())
    with pytest.raises(clv.NotFittedError):
        clv.ParetoNBD().expected_purchases_new(1.0)
    with pytest.raises(clv.CLVInputError, match="unknown initial"):
        clv.ParetoNBD(initial_params={"a": 1.0}).fit(cdnow_summary())
