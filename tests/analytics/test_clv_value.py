"""lifetime_value: the discounted CLV convention, checked against lifetimes."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patron.analytics import clv

pytestmark = pytest.mark.filterwarnings("ignore:The 'future.infer_string' option")


@lru_cache(maxsize=1)
def fitted() -> tuple[pd.DataFrame, clv.BetaGeo, clv.ParetoNBD, clv.GammaGamma]:
    spec = importlib.util.find_spec("lifetimes")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_sample.txt"
    raw = pd.read_csv(path, sep=r"\s+", header=None,
                      names=["customer_id", "master_id", "date", "cds", "amount"],
                      dtype={"date": str})
    s = clv.rfm_summary(raw, observation_end="1997-09-30", unit="W")
    return s, clv.BetaGeo().fit(s), clv.ParetoNBD().fit(s), clv.GammaGamma().fit(s)


def _lifetimes_clv(purchase: clv.BetaGeo | clv.ParetoNBD, gg: clv.GammaGamma,
                   s: pd.DataFrame, months: int, monthly_rate: float) -> pd.Series:
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    model = BetaGeoFitter() if isinstance(purchase, clv.BetaGeo) else ParetoNBDFitter()
    model.params_ = pd.Series(purchase.params_)
    model.predict = model.conditional_expected_number_of_purchases_up_to_time  # set by fit()
    ggf = GammaGammaFitter()
    ggf.params_ = pd.Series({"p": gg.params_["p"], "q": gg.params_["q"], "v": gg.params_["gamma"]})
    return ggf.customer_lifetime_value(model, s["frequency"], s["recency"], s["T"],
                                       s["monetary_value"], time=months,
                                       discount_rate=monthly_rate, freq="W")


@pytest.mark.parametrize("model_index", [1, 2])
def test_matches_lifetimes_customer_lifetime_value(model_index: int) -> None:
    s, bg, pn, gg = fitted()
    purchase = bg if model_index == 1 else pn
    monthly = 0.01
    ours = clv.lifetime_value(purchase, gg, s, horizon=12 * 4.345,
                              discount_rate=(1 + monthly) ** (1 / 4.345) - 1, step=4.345)
    theirs = _lifetimes_clv(purchase, gg, s, months=12, monthly_rate=monthly)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert ours.index.equals(s.index) and ours.name == "lifetime_value"


def test_undiscounted_value_is_expected_purchases_times_spend() -> None:
    s, bg, _, gg = fitted()
    value = clv.lifetime_value(bg, gg, s, horizon=52)
    expected = bg.expected_purchases(s, 52) * gg.expected_spend(s)
    np.testing.assert_allclose(value, expected, rtol=1e-10)
    # Discounting lowers every value; a margin scales it.
    discounted = clv.lifetime_value(bg, gg, s, horizon=52, discount_rate=0.002, margin=0.3)
    assert (discounted < 0.3 * value + 1e-12).all() and (discounted > 0).all()
    # A fractional horizon is honoured: the last step is cut short.
    short = clv.lifetime_value(bg, gg, s, horizon=10.5)
    np.testing.assert_allclose(short, bg.expected_purchases(s, 10.5) * gg.expected_spend(s),
                               rtol=1e-10)


def test_bad_arguments_raise() -> None:
    s, bg, _, gg = fitted()
    for kwargs in ({"horizon": 0}, {"horizon": float("nan")}, {"horizon": 5, "discount_rate": -1},
                   {"horizon": 5, "step": -1}, {"horizon": "a year"}):
        with pytest.raises(clv.CLVInputError):
            clv.lifetime_value(bg, gg, s, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(clv.NotFittedError):
        clv.lifetime_value(clv.BetaGeo(), gg, s, horizon=5)
    with pytest.raises(clv.CLVInputError, match="purchase_model"):
        clv.lifetime_value(gg, gg, s, horizon=5)  # type: ignore[arg-type]
