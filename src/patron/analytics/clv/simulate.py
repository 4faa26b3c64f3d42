"""Simulate customer summaries from the BG/NBD and Gamma-Gamma processes with known parameters.

Used to check that the fits recover the truth, by the benchmark, and by the application's
synthetic data generator.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._base import CLVInputError

__all__ = ["simulate_bgnbd", "simulate_spend"]


def _params(params: Mapping[str, float], names: tuple[str, ...]) -> tuple[float, ...]:
    missing = [n for n in names if n not in params]
    if missing:
        raise CLVInputError(f"missing parameter(s) {missing}")
    vals = tuple(float(params[n]) for n in names)
    if not all(np.isfinite(v) and v > 0 for v in vals):
        raise CLVInputError(f"parameters {names} must be positive and finite")
    return vals


def simulate_bgnbd(
    n: int,
    params: Mapping[str, float],
    T: float | npt.ArrayLike,
    seed: int | np.random.Generator | None = None,
    *,
    resolution: float | None = None,
    latent: bool = False,
) -> pd.DataFrame:
    """Draw ``n`` customers from the BG/NBD process and return their summary.

    Each customer makes a first purchase at time 0 and is observed until ``T`` (a scalar, or
    one value per customer). While alive they buy as a Poisson process with rate
    lambda ~ Gamma(shape=r, rate=alpha); after each repeat purchase they drop out with
    probability p ~ Beta(a, b).

    ``resolution`` rounds recency to a grid (e.g. ``1/7`` for days when the unit is weeks) the
    way real, day-stamped data are; ``T`` should then lie on the same grid. Rounding is applied
    to recency only (frequency keeps the continuous-time count). With ``latent=True`` the
    frame also holds each customer's ``purchase_rate``, ``dropout_prob`` and whether they are
    still ``alive`` at T.

    Returns a DataFrame indexed 0..n-1 with columns frequency, recency, T.
    """
    if int(n) != n or n < 0:
        raise CLVInputError("n must be a non-negative integer")
    n = int(n)
    r, alpha, a, b = _params(params, ("r", "alpha", "a", "b"))
    rng = np.random.default_rng(seed)
    Ts = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(Ts)) or (Ts < 0).any():
        raise CLVInputError("T must be finite and >= 0")
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    # Purchases in (0, T] if the customer never dropped out, and the number of repeat
    # purchases after which they drop out (the dropout happens right after a purchase).
    n_possible = rng.poisson(lam * Ts)
    drop_after = rng.geometric(np.clip(p, 1e-300, 1.0))
    x = np.minimum(n_possible, drop_after)
    # Given N(T) = n events, the x-th event time is T times the x-th order statistic of n
    # uniforms, i.e. T * Beta(x, n - x + 1).
    pos = x > 0
    tx = np.zeros(n)
    tx[pos] = Ts[pos] * rng.beta(x[pos], n_possible[pos] - x[pos] + 1)
    if resolution is not None:
        if not resolution > 0:
            raise CLVInputError("resolution must be > 0")
        tx = np.minimum(np.round(tx / resolution) * resolution, Ts)
    out = pd.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": Ts})
    if latent:
        out["purchase_rate"] = lam
        out["dropout_prob"] = p
        out["alive"] = drop_after > n_possible
    out.index.name = "customer_id"
    return out


def simulate_spend(
    frequency: npt.ArrayLike,
    params: Mapping[str, float],
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Mean spend per repeat purchase drawn from the Gamma-Gamma model.

    Each customer's transaction values are Gamma(shape=p, rate=nu) with
    nu ~ Gamma(shape=q, rate=gamma); the mean of x of them is Gamma(p*x, rate=x*nu).
    Customers with frequency 0 get 0, as in ``rfm_summary``.
    """
    p, q, gamma = _params(params, ("p", "q", "gamma"))
    x = np.asarray(frequency, dtype=np.float64)
    if (x < 0).any() or not np.all(np.isfinite(x)):
        raise CLVInputError("frequency must be finite and >= 0")
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / gamma, x.shape)
    pos = x > 0
    out = np.zeros(x.shape)
    out[pos] = rng.gamma(p * x[pos], 1.0 / (x[pos] * nu[pos]))
    return out
