"""Discounted customer lifetime value from a purchase model and a spend model."""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import pandas as pd

from ._base import CLVInputError, finite_or_raise, group_rft, rft_arrays
from .bgnbd import BetaGeo
from .gammagamma import GammaGamma
from .paretonbd import ParetoNBD

__all__ = ["lifetime_value"]


class _SpendModel(Protocol):
    def expected_spend(self, summary: pd.DataFrame) -> pd.Series: ...


def lifetime_value(
    purchase_model: BetaGeo | ParetoNBD,
    spend_model: GammaGamma | _SpendModel,
    summary: pd.DataFrame,
    horizon: float,
    discount_rate: float = 0.0,
    *,
    margin: float = 1.0,
    step: float = 1.0,
) -> pd.Series:
    """Discounted expected margin of each customer over the next ``horizon`` time units.

    The lifetimes / Fader-Hardie discrete convention: the horizon is cut into steps of
    ``step`` units ending at t_i = min(i * step, horizon), and

        CLV = margin * E[spend] * sum_i (E[X(t_i)] - E[X(t_{i-1})]) / (1 + discount_rate)^t_i

    where E[X(t)] is the conditional expected number of purchases in the next t units
    (``purchase_model.expected_purchases``) and E[spend] the conditional expected spend per
    transaction (``spend_model.expected_spend``). ``discount_rate`` is **per time unit of the
    summary** (per week for a weekly summary): a 10 % annual rate is
    ``1.10 ** (7 / 365.25) - 1`` per week. Each step's purchases are discounted at the end of
    the step. ``lifetimes.utils.customer_lifetime_value(..., time=12, discount_rate=d,
    freq="W")`` is the same as ``step=4.345, horizon=12 * 4.345`` with the per-week rate
    ``(1 + d) ** (1 / 4.345) - 1``. ``margin`` multiplies spend into profit (e.g. 0.3).
    """
    try:
        horizon, step = float(horizon), float(step)
        discount_rate, margin = float(discount_rate), float(margin)
    except (TypeError, ValueError) as exc:
        raise CLVInputError("horizon, step, discount_rate and margin must be numbers") from exc
    for name, val in (("horizon", horizon), ("step", step)):
        if not (math.isfinite(val) and val > 0):
            raise CLVInputError(f"{name} must be a positive number of time units")
    if not (math.isfinite(discount_rate) and discount_rate > -1):
        raise CLVInputError("discount_rate must be > -1 (a rate per time unit, e.g. 0.002)")
    if not math.isfinite(margin):
        raise CLVInputError("margin must be finite")
    if not hasattr(purchase_model, "_conditional_curve"):
        raise CLVInputError("purchase_model must be a fitted BetaGeo or ParetoNBD")
    purchase_model._check_fitted()
    spend = spend_model.expected_spend(summary).to_numpy(dtype=np.float64)

    x, tx, T = rft_arrays(summary, *purchase_model.columns_)
    # Evaluate on distinct (x, t_x, T) rows, then spread back to customers.
    codes, (gx, gtx, gT) = group_rft(x, tx, T)
    curve = purchase_model._conditional_curve(gx, gtx, gT)
    n_steps = max(1, math.ceil(horizon / step - 1e-9))
    discounted = np.zeros(len(gx))
    prev = np.zeros(len(gx))
    for i in range(1, n_steps + 1):
        t_i = min(i * step, horizon)
        cum = curve(t_i)
        discounted += (cum - prev) / (1.0 + discount_rate) ** t_i
        prev = cum
    value = margin * spend * discounted[codes]
    return pd.Series(finite_or_raise(value, "lifetime_value"), index=summary.index,
                     name="lifetime_value", copy=False)
