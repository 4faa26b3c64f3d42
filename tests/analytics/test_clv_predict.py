"""BG/NBD predictions and the row grouping behind them, checked against the textbook formulas
evaluated customer by customer (no grouping, no shortcuts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from patron.analytics import clv
from patron.analytics.clv._base import group_index, group_rft

PARAMS = [
    {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},  # CDNOW (FHL 2005)
    {"r": 2.0, "alpha": 1.5, "a": 3.0, "b": 0.6},  # a > 1, b < 1
]


def _reference(p: dict[str, float], s: pd.DataFrame, t: float) -> tuple[np.ndarray, np.ndarray]:
    """FHL 2005 eq. 10 and P(alive), one customer at a time."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    ep, pa = [], []
    for x, tx, T in s[["frequency", "recency", "T"]].itertuples(index=False):
        odds = 0.0 if x == 0 else a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        # The power in log space: for a frequent customer observed long (x = 40, T = 2000, t = 1)
        # 1 - power * hyp cancels ~4 digits, so the rounding of a plain ** would show at 1e-10.
        power = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        num = (a + b + x - 1) / (a - 1) * (1 - power * hyp)
        ep.append(num / (1 + odds))
        pa.append(1 / (1 + odds))
    return np.array(ep), np.array(pa)


def _summary(seed: int, n: int = 3000) -> pd.DataFrame:
    """Day-stamped customers (many identical rows) plus edge cases: frequency 0 with T = 0,
    recency = T, recency 0 with repeats, a long-observed customer, off-grid times."""
    rng = np.random.default_rng(seed)
    T = rng.integers(0, 300, n) / 7.0
    s = clv.simulate_bgnbd(n, PARAMS[0], T, seed=rng, resolution=1 / 7)
    edge = pd.DataFrame({
        "frequency": [0, 0, 3, 1, 5, 40, 2, 7, 0, 12],
        "recency": [0.0, 0.0, 20.0, 0.0, 2000.0, 2000.0, 1 / 3, 0.123456789, 0.0, 37.0],
        "T": [0.0, 5000.0, 20.0, 10.0, 2000.0, 2000.5, 0.5, 39.987654321, 2000.0, 37.0],
    })
    out = pd.concat([s[["frequency", "recency", "T"]], edge], ignore_index=True)
    # Shuffled, with customer ids as the index: results must follow the rows.
    out = out.sample(frac=1.0, random_state=seed)
    out.index = pd.Index([f"C{i:05d}" for i in rng.permutation(len(out))], name="customer_id")
    return out


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("t", [0.0, 1.0, 52.0, 1000.0])
def test_predictions_equal_the_per_customer_formula(params: dict[str, float], t: float) -> None:
    s = _summary(seed=3)
    bg = clv.BetaGeo.from_params(params)
    ep_ref, pa_ref = _reference(params, s, t)
    ep, pa = bg.expected_purchases(s, t), bg.p_alive(s)
    np.testing.assert_allclose(ep.to_numpy(), ep_ref, rtol=1e-10, atol=0)
    np.testing.assert_allclose(pa.to_numpy(), pa_ref, rtol=1e-10, atol=0)
    assert ep.index.equals(s.index) and pa.index.equals(s.index)
    assert (pa[s["frequency"] == 0] == 1.0).all()


def test_float_frequencies_and_off_grid_times_give_the_same_predictions() -> None:
    # Float frequency column, and continuous times (every row distinct: the hash path).
    rng = np.random.default_rng(5)
    n = 2000
    T = rng.uniform(0.0, 60.0, n)
    s = clv.simulate_bgnbd(n, PARAMS[0], T, seed=rng)[["frequency", "recency", "T"]]
    s["frequency"] = s["frequency"].astype(float)
    bg = clv.BetaGeo.from_params(PARAMS[0])
    ep_ref, pa_ref = _reference(PARAMS[0], s, 26.0)
    np.testing.assert_allclose(bg.expected_purchases(s, 26.0), ep_ref, rtol=1e-10, atol=0)
    np.testing.assert_allclose(bg.p_alive(s), pa_ref, rtol=1e-10, atol=0)


def test_p_alive_with_frequencies_too_large_for_a_table() -> None:
    s = pd.DataFrame({"frequency": [0, 1, 100_000, 250_000],
                      "recency": [0.0, 1.0, 99.9, 100.0], "T": [5.0, 2.0, 100.0, 100.0]})
    bg = clv.BetaGeo.from_params(PARAMS[1])
    with np.errstate(over="ignore", invalid="ignore"):  # the reference's E[X] overflows here
        pa_ref = _reference(PARAMS[1], s, 1.0)[1]
    np.testing.assert_allclose(bg.p_alive(s), pa_ref, rtol=1e-10)
    assert bg.p_alive(s).iloc[0] == 1.0


def test_lifetime_value_and_pareto_predictions_follow_each_customer() -> None:
    # Grouped evaluation over the whole table equals evaluating each customer alone.
    s = _summary(seed=9, n=1500)
    s["monetary_value"] = np.where(s["frequency"] > 0, 10.0 + s["T"] % 7, 0.0)
    bg = clv.BetaGeo.from_params(PARAMS[0])
    pn = clv.ParetoNBD.from_params({"r": 0.55, "alpha": 10.5, "s": 0.6, "beta": 11.7})
    gg = clv.GammaGamma.from_params({"p": 6.25, "q": 3.74, "gamma": 15.44})
    value = clv.lifetime_value(bg, gg, s, horizon=52, discount_rate=0.002, step=4)
    pn_ep, pn_pa = pn.expected_purchases(s, 39), pn.p_alive(s)
    for i in np.random.default_rng(1).choice(len(s), 60, replace=False):
        one = s.iloc[[i]]
        assert value.iloc[i] == pytest.approx(
            clv.lifetime_value(bg, gg, one, horizon=52, discount_rate=0.002, step=4).iloc[0],
            rel=1e-12)
        assert pn_ep.iloc[i] == pytest.approx(pn.expected_purchases(one, 39).iloc[0], rel=1e-12)
        assert pn_pa.iloc[i] == pytest.approx(pn.p_alive(one).iloc[0], rel=1e-12)


@pytest.mark.parametrize("dense", [True, False])
def test_group_index_codes_rebuild_every_row(dense: bool) -> None:
    rng = np.random.default_rng(2)
    n = 5000
    if dense:  # small whole numbers (some negative), an integer column and a few floats
        cols = [rng.integers(-3, 4, n).astype(float), rng.integers(0, 9, n),
                rng.choice([0.5, -0.0, 0.0, 1 / 7, 1e300], n)]
    else:  # key space far larger than the rows
        cols = [rng.integers(0, 10**9, n).astype(float), rng.uniform(0, 1, n),
                np.round(rng.uniform(0, 3, n), 1)]
    codes, values = group_index(*cols)
    for col, vals in zip(cols, values, strict=True):
        np.testing.assert_array_equal(vals[codes], col)
    rows = list(zip(*(v.tolist() for v in values), strict=True))
    assert len(set(rows)) == len(rows)  # each distinct row once
    assert len(rows) == len(set(zip(*(c.tolist() for c in cols), strict=True)))


def test_group_rft_codes_rebuild_every_row() -> None:
    s = _summary(seed=4)
    x, tx, T = (s[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    codes, (gx, gtx, gT) = group_rft(x, tx, T)
    np.testing.assert_array_equal(gx[codes], x)
    np.testing.assert_array_equal(gtx[codes], tx)
    np.testing.assert_array_equal(gT[codes], T)
    empty = np.zeros(0)
    codes, parts = group_rft(empty, empty, empty)
    assert len(codes) == 0 and all(len(p) == 0 for p in parts)
