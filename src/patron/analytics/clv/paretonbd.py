"""Pareto/NBD purchase model.

Schmittlein, Morrison & Colombo (1987); likelihood and conditional expressions as in Fader &
Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions". While alive
a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); their lifetime is
exponential with rate mu ~ Gamma(s, beta) (dropout can happen at any time, unlike BG/NBD).

Numerics. The likelihood needs

    A0 = 2F1(r+s+x, b; r+s+x+1; z(t_x)) / (m+t_x)^(r+s+x) - (same at T)

with m = max(alpha, beta), z(t) = |alpha-beta| / (m+t) and b = s+1 if alpha >= beta, else r+x
(the note's two cases). We write each term as G(x, t) = (m+t)^-(r+s+x) J with

    J = integral_0^1 u^(r+s+x-1) (1 - z u)^-b du = 2F1(r+s+x, b; r+s+x+1; z) / (r+s+x)

(Euler's integral) and evaluate J by tanh-sinh quadrature in log space. That gives log J and
its derivatives in every parameter with the same nodes (2F1 has no closed-form derivative in
its parameters), copes with the end-point singularity u^(r+s-1) for non-repeaters, and never
overflows where 2F1 itself would. Accuracy: |error in log J| < 1e-8 over 0.03 <= r+s+x <= 500,
b <= 500, z <= 0.99 against scipy's hyp2f1 (tests check the likelihood against lifetimes).
G is computed once per distinct (x, t) pair; A0 = G(x, t_x) - G(x, T) is formed in log space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, log_expit

from ._base import (
    BaseEstimator,
    CLVInputError,
    finite_or_raise,
    group_index,
    group_rft,
    group_rows,
    maximize_log_likelihood,
    rft_arrays,
    wdot,
)
from .bgnbd import _check_fit_data, _check_t

__all__ = ["ParetoNBD"]


def _tanh_sinh(h: float, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes on (0, 1) as log u, 1 - u (exact near 1) and log weight."""
    k = np.arange(round(lo / h), round(hi / h) + 1) * h
    g = np.pi * np.sinh(k)  # u = expit(g)
    log_u = log_expit(g)
    one_minus_u = np.exp(log_expit(-g))
    log_w = np.log(h * np.pi * np.cosh(k)) + log_u + log_expit(-g)
    return log_u, one_minus_u, log_w


# The lower end reaches u ~ exp(-2800) for the u^(r+s-1) singularity of non-repeaters (x = 0);
# repeaters have r+s+x > 1 and need nothing below u ~ exp(-50).
_NODES_ALL = _tanh_sinh(1 / 16, -7.5, 3.5)
_NODES_REPEAT = _tanh_sinh(1 / 16, -3.5, 3.5)
_CHUNK = 2048  # pairs per block: bounds memory at ~3 MB per temporary


def _log_G(
    x: np.ndarray, t: np.ndarray, params: tuple[float, float, float, float], grad: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """log G(x, t) and (optionally) its gradient in (r, alpha, s, beta), shape (n, 4)."""
    r, alpha, s, beta = params
    n = len(x)
    out = np.empty(n)
    jac = np.empty((n, 4)) if grad else None
    swap = alpha < beta  # Fader-Hardie's second case
    m, mn = (beta, alpha) if swap else (alpha, beta)
    for zero_block in (True, False):
        sel = np.flatnonzero((x == 0) == zero_block)
        if len(sel) == 0:
            continue
        log_u, omu, log_w = _NODES_ALL if zero_block else _NODES_REPEAT
        for start in range(0, len(sel), _CHUNK):
            idx = sel[start:start + _CHUNK]
            xi, ti = x[idx], t[idx]
            a = r + s + xi
            b = r + xi if swap else np.full_like(xi, s + 1.0)
            q = m + ti
            z = (m - mn) / q
            inner = ((mn + ti) / q)[:, None] + z[:, None] * omu  # 1 - z u, exact near u = 1
            L = np.log(inner)
            li = log_w + (a - 1.0)[:, None] * log_u - b[:, None] * L
            mx = li.max(axis=1)
            e = np.exp(li - mx[:, None])
            S = e.sum(axis=1)
            log_q = np.log(q)
            out[idx] = mx + np.log(S) - a * log_q
            if jac is None:
                continue
            # Derivatives of log J are expectations under the normalised integrand.
            d_a = np.einsum("pk,k->p", e, log_u) / S - log_q
            d_b = -np.einsum("pk,pk->p", e, L) / S
            u = 1.0 - omu
            d_z = b * np.einsum("pk,pk->p", e, u / inner) / S
            d_q = -a / q
            if swap:  # q = beta + t, z = (beta - alpha)/q, b = r + x
                jac[idx, 0] = d_a + d_b
                jac[idx, 1] = -d_z / q
                jac[idx, 2] = d_a
                jac[idx, 3] = d_q + d_z * (alpha + ti) / q**2
            else:  # q = alpha + t, z = (alpha - beta)/q, b = s + 1
                jac[idx, 0] = d_a
                jac[idx, 1] = d_q + d_z * (beta + ti) / q**2
                jac[idx, 2] = d_a + d_b
                jac[idx, 3] = -d_z / q
    return out, jac


def _log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 - exp(d)) for d <= 0, accurate at both ends (Maechler 2012); -inf at d = 0."""
    with np.errstate(divide="ignore"):
        return np.where(d > -np.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


@dataclass(frozen=True)
class _PData:
    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    # distinct (x, t) pairs; codes of each row's (x, t_x) and (x, T)
    px: np.ndarray
    pt: np.ndarray
    c_tx: np.ndarray
    c_T: np.ndarray
    xs: np.ndarray
    nx: np.ndarray
    total: float


def _prepare(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> _PData:
    (gx, gtx, gT), w = group_rows(x, tx, T)
    codes, (px, pt) = group_index(np.concatenate([gx, gx]), np.concatenate([gtx, gT]))
    (xs,), nx = group_rows(x)
    return _PData(gx, gtx, gT, w, px, pt, codes[: len(gx)], codes[len(gx):], xs, nx,
                  float(len(x)))


def _row_terms(
    params: tuple[float, float, float, float],
    x: np.ndarray,
    T: np.ndarray,
    lG_tx: np.ndarray,
    lG_T: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: log[(alpha+T)^-(r+x) (beta+T)^-s], log[s (G(t_x) - G(T))], their log-sum, and
    exp(lG_T - lG_tx)."""
    r, alpha, s, beta = params
    lE1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    delta = np.minimum(lG_T - lG_tx, 0.0)  # G decreases in t and t_x <= T
    lB = np.log(s) + lG_tx + _log1mexp(delta)
    lse = np.logaddexp(lE1, lB)
    return lE1, lB, lse, np.exp(delta)


def _nll(theta: np.ndarray, d: _PData) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and gradient in log(r, alpha, s, beta).

    L = G(r+x)/G(r) alpha^r beta^s [(alpha+T)^-(r+x) (beta+T)^-s + s (G(x,t_x) - G(x,T))].
    """
    params = tuple(float(v) for v in np.exp(theta))
    r, alpha, s, beta = params
    lG, jG = _log_G(d.px, d.pt, params, grad=True)  # type: ignore[arg-type]
    assert jG is not None
    lE1, lB, lse, rho = _row_terms(params, d.x, d.T, lG[d.c_tx], lG[d.c_T])  # type: ignore[arg-type]
    with np.errstate(over="ignore", invalid="ignore"):
        w1 = np.exp(lE1 - lse)
        w2 = np.exp(lB - lse)
    w = d.w
    ll = wdot(w, lse) + wdot(d.nx, gammaln(r + d.xs) - gammaln(r)) + d.total * (
        r * np.log(alpha) + s * np.log(beta))
    # d log(G_tx - G_T) = (dlogG_tx - rho dlogG_T) / (1 - rho); zero weight when t_x == T.
    live = w2 > 0
    inv = np.zeros_like(rho)
    inv[live] = 1.0 / -np.expm1(np.log(rho[live]))
    jd = (jG[d.c_tx] - rho[:, None] * jG[d.c_T]) * inv[:, None]
    ww2 = w * w2
    ww1 = w * w1
    g = np.einsum("n,nk->k", ww2, jd)
    g[0] += wdot(ww1, -np.log(alpha + d.T)) + wdot(d.nx, digamma(r + d.xs) - digamma(r)) \
        + d.total * np.log(alpha)
    g[1] += wdot(ww1, -(r + d.x) / (alpha + d.T)) + d.total * r / alpha
    g[2] += wdot(ww1, -np.log(beta + d.T)) + ww2.sum() / s + d.total * np.log(beta)
    g[3] += wdot(ww1, -s / (beta + d.T)) + d.total * s / beta
    grad = -g * np.exp(theta) / d.total
    f = -ll / d.total
    if not np.isfinite(f) or not np.all(np.isfinite(grad)):
        return np.inf, np.zeros_like(theta)
    return float(f), grad


class ParetoNBD(BaseEstimator):
    """Pareto/NBD model fitted by maximum likelihood (same options as :class:`BetaGeo`).

    Fitted attributes: ``params_`` (r, alpha, s, beta), ``log_likelihood_``, ``converged_``,
    ``n_customers_``, ``n_iter_``, ``standard_errors_``, ``diagnostics_``.
    """

    _param_names = ("r", "alpha", "s", "beta")
    _default_columns = ("frequency", "recency", "T")

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
    ) -> ParetoNBD:
        """Fit on a per-customer summary (one row per customer, see ``rfm_summary``)."""
        x, tx, T = rft_arrays(summary, frequency_col, recency_col, T_col)
        _check_fit_data(x, T, "Pareto/NBD")
        data = _prepare(x, tx, T)
        alpha0 = float(max(T.sum(), 1e-9) / max(x.sum(), 1.0))
        beta0 = float(max(T.mean(), 1e-9))
        theta0 = self._initial_theta({"r": 1.0, "alpha": alpha0, "s": 1.0, "beta": beta0},
                                     self.initial_params)
        diag = maximize_log_likelihood(
            lambda th: _nll(th, data),
            theta0,
            names=self._param_names,
            total_weight=data.total,
            n_customers=len(x),
            n_groups=len(data.x),
            max_iter=self.max_iter,
            tol=self.tol,
            standard_errors=self.standard_errors,
            model="Pareto/NBD",
        )
        self._set_fitted(diag)
        self.columns_ = (frequency_col, recency_col, T_col)
        return self

    # -- predictions -------------------------------------------------------------------------

    def _log_terms(
        self, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """log[(alpha+T)^-(r+x) (beta+T)^-s] and the log of the likelihood bracket."""
        params = tuple(self.params_[k] for k in self._param_names)
        n = len(x)
        pcodes, (px, pt) = group_index(np.concatenate([x, x]), np.concatenate([tx, T]))
        lG, _ = _log_G(px, pt, params, grad=False)  # type: ignore[arg-type]
        lE1, _lB, lse, _rho = _row_terms(params, x, T, lG[pcodes[:n]], lG[pcodes[n:]])  # type: ignore[arg-type]
        return lE1, lse

    def _grouped(
        self, summary: pd.DataFrame
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        self._check_fitted()
        x, tx, T = rft_arrays(summary, *self.columns_)
        return group_rft(x, tx, T)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T) = 1 / (1 + s (G(t_x) - G(T)) (alpha+T)^(r+x) (beta+T)^s)."""
        codes, (gx, gtx, gT) = self._grouped(summary)
        lE1, lse = self._log_terms(gx, gtx, gT)
        p = np.exp(lE1 - lse)[codes]
        return pd.Series(finite_or_raise(p, "p_alive"), index=summary.index, name="p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[purchases in (T, T+t] | x, t_x, T] =
        P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]."""
        t = _check_t(t)
        codes, (gx, gtx, gT) = self._grouped(summary)
        out = self._conditional_curve(gx, gtx, gT)(t)[codes]
        return pd.Series(finite_or_raise(out, "expected_purchases"), index=summary.index,
                         name="expected_purchases")

    def _conditional_curve(
        self, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> Callable[[float], np.ndarray]:
        """t -> E[purchases in (T, T+t] | x, t_x, T] for these (distinct) rows."""
        r, alpha, s, beta = (self.params_[k] for k in self._param_names)
        lE1, lse = self._log_terms(x, tx, T)
        rate = np.exp(lE1 - lse) * (r + x) / (alpha + T)  # P(alive) * E[lambda | data]

        def curve(t: float) -> np.ndarray:
            return rate * _lifetime_integral(s, beta + T, t)

        return curve

    def expected_purchases_new(self, t: float | np.ndarray) -> float | np.ndarray:
        """Unconditional E[X(t)] of a new customer: r/alpha * beta/(s-1) [1 - (beta/(beta+t))^(s-1)]."""
        self._check_fitted()
        r, alpha, s, beta = (self.params_[k] for k in self._param_names)
        tt = np.asarray(t, dtype=np.float64)
        if (tt < 0).any() or not np.all(np.isfinite(tt)):
            raise CLVInputError("t must be finite and >= 0")
        out = r / alpha * _lifetime_integral(s, np.full(tt.shape, beta), tt)
        out = finite_or_raise(np.atleast_1d(out), "expected_purchases_new").reshape(tt.shape)
        return float(out) if out.ndim == 0 else out


def _lifetime_integral(s: float, c: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Expected time alive in the next t units, integral_0^t (c/(c+u))^s du
    = c/(s-1) [1 - (c/(c+t))^(s-1)], with the s -> 1
    limit c log(1 + t/c)."""
    lr = np.log1p(np.asarray(t) / c)
    if abs(s - 1.0) < 1e-10:
        return c * lr
    return c * -np.expm1(-(s - 1.0) * lr) / (s - 1.0)
