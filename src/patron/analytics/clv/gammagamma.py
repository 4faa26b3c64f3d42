"""Gamma-Gamma model of the mean spend per transaction.

Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value". Each of a customer's
transaction values is Gamma(shape=p, rate=nu); nu varies across customers as
Gamma(shape=q, rate=gamma). Spend is assumed independent of the purchase process, so the model
is fitted on repeat customers only (x > 0), from their number of repeat purchases x and their
mean repeat spend m.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, polygamma

from ._base import (
    BaseEstimator,
    CLVError,
    CLVInputError,
    check_frame,
    count_column,
    finite_or_raise,
    float_column,
    group_rows,
    maximize_log_likelihood,
    wdot,
)

__all__ = ["GammaGamma"]


@dataclass(frozen=True)
class _GGData:
    xs: np.ndarray  # distinct frequencies and their counts
    nx: np.ndarray
    x: np.ndarray  # per repeat customer
    y: np.ndarray  # x * m, the customer's total repeat spend
    const_xlogm: float  # sum x log m
    n: float


class _Objective:
    """Mean negative log-likelihood of the mean spends, its gradient and Hessian in
    log(p, q, gamma). The per-customer work is one log and one reciprocal of (x m + gamma);
    everything in x alone is summed over distinct frequencies. The last evaluation is cached
    because the trust-region optimiser asks for the Hessian at the point it just evaluated.

    Per customer (the note's eq. 3): f(m | x) = G(px+q) / (G(px) G(q)) * gamma^q m^(px-1) x^(px)
    / (x m + gamma)^(px+q). The parameter-free term -sum log m is left out here and added back
    once for the reported log-likelihood.
    """

    def __init__(self, d: _GGData) -> None:
        self.d = d
        self._key: bytes | None = None

    def _eval(self, theta: np.ndarray) -> None:
        key = np.asarray(theta, dtype=np.float64).tobytes()
        if key == self._key:
            return
        d = self.d
        p, q, v = np.exp(theta)
        xs, nx = d.xs, d.nx
        L = np.log(d.y + v)
        inv = 1.0 / (d.y + v)
        xL, sL = wdot(d.x, L), float(L.sum())
        ll = (wdot(nx, gammaln(p * xs + q) - gammaln(p * xs)) - d.n * gammaln(q)
              + d.n * q * np.log(v) + p * d.const_xlogm + p * wdot(nx, xs * np.log(xs))
              - p * xL - q * sL)
        psi = digamma(p * xs + q)
        g_p = wdot(nx, xs * (psi - digamma(p * xs) + np.log(xs))) + d.const_xlogm - xL
        g_q = wdot(nx, psi) - d.n * digamma(q) + d.n * np.log(v) - sL
        g_v = d.n * q / v - p * wdot(d.x, inv) - q * float(inv.sum())
        self.f = float(-ll / d.n)
        self.g = -np.array([g_p * p, g_q * q, g_v * v]) / d.n
        self.inv = inv
        self._key = key

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self._eval(theta)
        return self.f, self.g.copy()

    def hess(self, theta: np.ndarray) -> np.ndarray:
        self._eval(theta)
        d = self.d
        p, q, v = np.exp(theta)
        xs, nx = d.xs, d.nx
        inv = self.inv
        inv2 = inv * inv
        t1 = polygamma(1, p * xs + q)
        h = np.empty((3, 3))  # of the log-likelihood, natural parameters
        h[0, 0] = wdot(nx, xs * xs * (t1 - polygamma(1, p * xs)))
        h[0, 1] = wdot(nx, xs * t1)
        h[1, 1] = wdot(nx, t1) - d.n * polygamma(1, q)
        h[0, 2] = -wdot(d.x, inv)
        h[1, 2] = d.n / v - float(inv.sum())
        h[2, 2] = -d.n * q / v**2 + p * wdot(d.x, inv2) + q * float(inv2.sum())
        h[1, 0], h[2, 0], h[2, 1] = h[0, 1], h[0, 2], h[1, 2]
        # Chain rule to log-parameters: H_log = P H P + diag(P g) with P = diag(params);
        # self.g is already -(P g)/n.
        P = np.array([p, q, v])
        return -(h * np.outer(P, P)) / d.n + np.diag(self.g)


class GammaGamma(BaseEstimator):
    """Gamma-Gamma spend model fitted by maximum likelihood on repeat customers.

    Options as :class:`BetaGeo`. Fitted attributes: ``params_`` (p, q, gamma),
    ``log_likelihood_`` (of the repeat customers' mean spends), ``converged_``,
    ``n_customers_`` (repeat customers used), ``n_iter_``, ``standard_errors_``,
    ``diagnostics_``.
    """

    _param_names = ("p", "q", "gamma")
    _default_columns = ("frequency", "monetary_value")

    def _arrays(
        self, summary: pd.DataFrame, frequency_col: str, monetary_col: str
    ) -> tuple[np.ndarray, np.ndarray]:
        check_frame(summary, {"frequency_col": frequency_col, "monetary_col": monetary_col})
        x = count_column(summary, frequency_col)
        m = float_column(summary, monetary_col)
        if (m < 0).any():
            raise CLVInputError(f"column {monetary_col!r} must be >= 0 (negative mean spend)")
        return x, m

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency_col: str = "frequency",
        monetary_col: str = "monetary_value",
    ) -> GammaGamma:
        """Fit on the repeat customers (frequency > 0) of a per-customer summary.

        Raises :class:`CLVInputError` if a repeat customer's mean spend is 0 (the model needs
        positive spend: drop such customers or net off refunds first) or fewer than 2 repeat
        customers remain.
        """
        x, m = self._arrays(summary, frequency_col, monetary_col)
        rep = x > 0
        xr, mr = x[rep], m[rep]
        if len(xr) < 2:
            raise CLVInputError(
                f"Gamma-Gamma needs at least 2 repeat customers (frequency > 0), got {len(xr)}"
            )
        if (mr <= 0).any():
            bad = summary.index[np.flatnonzero(rep)[np.flatnonzero(mr <= 0)[0]]]
            raise CLVInputError(
                f"{int((mr <= 0).sum())} repeat customer(s) have a mean spend of 0 (e.g. "
                f"{bad!r}); the Gamma-Gamma model needs positive spend"
            )
        (xs,), nx = group_rows(xr)
        logm = np.log(mr)
        data = _GGData(xs, nx, xr, xr * mr, float(wdot(xr, logm)), float(len(xr)))
        # Method-of-moments flavoured start: p from the spread of the mean spends, gamma so the
        # implied mean p*gamma/(q-1) matches the sample mean with q = 3.
        mean = float(mr.mean())
        cv2 = float(mr.var() / mean**2) if len(mr) > 1 else 1.0
        p0 = float(np.clip(1.0 / max(cv2, 1e-3), 0.1, 100.0))
        theta0 = self._initial_theta({"p": p0, "q": 3.0, "gamma": 2.0 * mean / p0},
                                     self.initial_params)
        objective = _Objective(data)
        diag = maximize_log_likelihood(
            objective,
            theta0,
            names=self._param_names,
            total_weight=data.n,
            n_customers=len(xr),
            n_groups=len(xr),
            max_iter=self.max_iter,
            tol=self.tol,
            standard_errors=self.standard_errors,
            model="Gamma-Gamma",
            hessian=objective.hess,
        )
        # Add back the parameter-free term -sum log m so the figure is the full log-likelihood.
        diag_ll = diag.log_likelihood - float(logm.sum())
        self._set_fitted(diag)
        self.log_likelihood_ = diag_ll
        self.columns_ = (frequency_col, monetary_col)
        return self

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """E[mean spend per transaction | x, m] = (1 - w) p gamma/(q-1) + w m with
        w = p x / (p x + q - 1). Customers with no repeat purchase get the population mean
        p gamma / (q - 1). Raises :class:`CLVError` if q <= 1 (the population mean is
        infinite)."""
        self._check_fitted()
        x, m = self._arrays(summary, *self.columns_)
        p, q, v = (self.params_[k] for k in self._param_names)
        if q <= 1.0:
            raise CLVError(f"q = {q:.4g} <= 1: the model's mean spend is infinite")
        w = p * x / (p * x + q - 1.0)
        out = (1.0 - w) * (p * v / (q - 1.0)) + w * m
        return pd.Series(finite_or_raise(out, "expected_spend"), index=summary.index,
                         name="expected_spend", copy=False)

    def population_mean_spend(self) -> float:
        """Expected spend per transaction of a new customer, p gamma / (q - 1)."""
        self._check_fitted()
        p, q, v = (self.params_[k] for k in self._param_names)
        if q <= 1.0:
            raise CLVError(f"q = {q:.4g} <= 1: the model's mean spend is infinite")
        return p * v / (q - 1.0)
