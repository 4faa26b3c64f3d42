"""Gamma-Gamma: the Fader-Hardie note's CDNOW fit, lifetimes agreement, recovery, bad input."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patron.analytics import clv

pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")

GG_NOTE = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # Fader & Hardie, "The Gamma-Gamma Model..."


@lru_cache(maxsize=1)
def cdnow_summary() -> pd.DataFrame:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_sample.txt"
    raw = pd.read_csv(path, sep=r"\s+", header=None,
                      names=["customer_id", "master_id", "date", "cds", "amount"],
                      dtype={"date": str})
    return clv.rfm_summary(raw, observation_end="1997-09-30", unit="W")


def test_reproduces_the_gamma_gamma_note() -> None:
    s = cdnow_summary()
    gg = clv.GammaGamma().fit(s)
    assert gg.n_customers_ == 946  # repeat customers only
    for name, published in GG_NOTE.items():
        assert gg.params_[name] == pytest.approx(published, abs=0.006), name
    assert gg.converged_ and gg.diagnostics_.gradient_max < 1e-6
    p, q, g = gg.params_["p"], gg.params_["q"], gg.params_["gamma"]
    assert gg.population_mean_spend() == pytest.approx(p * g / (q - 1))


def test_matches_lifetimes_fit_and_predictions() -> None:
    from lifetimes import GammaGammaFitter

    s = cdnow_summary()
    rep = s[s["frequency"] > 0]
    theirs = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    gg = clv.GammaGamma().fit(s)
    lp = theirs.params_
    assert [gg.params_["p"], gg.params_["q"], gg.params_["gamma"]] == pytest.approx(
        [lp["p"], lp["q"], lp["v"]], rel=1e-5)
    # Same parameters, same predictions (including the population mean for x = 0).
    theirs.params_ = pd.Series({"p": gg.params_["p"], "q": gg.params_["q"], "v": gg.params_["gamma"]})
    np.testing.assert_allclose(
        gg.expected_spend(s),
        theirs.conditional_expected_average_profit(s["frequency"], s["monetary_value"]),
        rtol=1e-6)
    assert gg.expected_spend(s)[s["frequency"] == 0].eq(gg.population_mean_spend()).all()
    # Full log-likelihood of the mean spends equals lifetimes' (which includes -sum log m).
    ll_theirs = -GammaGammaFitter._negative_log_likelihood(
        np.log([gg.params_["p"], gg.params_["q"], gg.params_["gamma"]]),
        rep["frequency"].to_numpy(), rep["monetary_value"].to_numpy(), np.ones(len(rep)), 0.0,
    ) * len(rep)
    assert gg.log_likelihood_ == pytest.approx(ll_theirs, rel=1e-9)


def test_recovers_simulated_parameters() -> None:
    truth = {"p": 4.0, "q": 5.0, "gamma": 30.0}
    rng = np.random.default_rng(2)
    x = rng.geometric(0.35, 30_000)
    s = pd.DataFrame({"frequency": x, "monetary_value": clv.simulate_spend(x, truth, seed=4)})
    gg = clv.GammaGamma().fit(s)
    se = gg.standard_errors_
    assert se is not None
    for k, v in truth.items():
        assert abs(gg.params_[k] - v) < 4 * se[k], (k, gg.params_[k], se[k])
        assert se[k] < 0.1 * v


def test_uses_only_repeat_customers_and_column_names() -> None:
    s = cdnow_summary().rename(columns={"frequency": "n", "monetary_value": "avg"})
    a = clv.GammaGamma().fit(s, frequency_col="n", monetary_col="avg")
    b = clv.GammaGamma().fit(s[s["n"] > 0], frequency_col="n", monetary_col="avg")
    assert a.params_ == pytest.approx(b.params_, rel=1e-9)
    assert a.expected_spend(s).index.equals(s.index)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"frequency": [2, 1, 0], "monetary_value": [10.0, 0.0, 0.0]}), "mean spend of 0"),
        (pd.DataFrame({"frequency": [2, 1], "monetary_value": [10.0, -1.0]}), "negative"),
        (pd.DataFrame({"frequency": [2, 0], "monetary_value": [10.0, 0.0]}), "at least 2 repeat"),
        (pd.DataFrame({"frequency": [2, 1], "monetary_value": [10.0, np.inf]}), "missing or infinite"),
        (pd.DataFrame({"frequency": [2, 1]}), "missing column"),
    ],
)
def test_bad_input_raises(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(clv.CLVInputError, match=message):
        clv.GammaGamma().fit(frame)


def test_infinite_mean_spend_is_an_error_not_nan() -> None:
    gg = clv.GammaGamma.from_params({"p": 6.0, "q": 0.8, "gamma": 15.0})
    with pytest.raises(clv.CLVError, match=r"q = 0\.8"):
        gg.expected_spend(cdnow_summary())


def test_non_convergence_raises() -> None:
    with pytest.raises(clv.ConvergenceError):
        clv.GammaGamma(max_iter=1).fit(cdnow_summary())
