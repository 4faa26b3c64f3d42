"""BG/NBD ("beta-geometric / negative binomial") purchase model.

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2). While alive a customer buys as a Poisson process
with rate lambda ~ Gamma(r, alpha) (alpha is a rate, in the summary's time unit); after each
repeat purchase they drop out for good with probability p ~ Beta(a, b).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln, hyp2f1

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

__all__ = ["BetaGeo"]


@dataclass(frozen=True)
class _BGData:
    # customers with no repeat purchase: only T matters
    T0: np.ndarray
    w0: np.ndarray
    # repeat customers, one row per distinct (x, t_x, T)
    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    # distinct frequencies (including 0) and their total weight, for the terms in x only
    xs: np.ndarray
    nx: np.ndarray
    total: float


def _prepare(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> _BGData:
    zero = x == 0
    (T0,), w0 = group_rows(T[zero])
    (xp, txp, Tp), wp = group_rows(x[~zero], tx[~zero], T[~zero])
    (xs,), nx = group_rows(x)
    return _BGData(T0, w0, xp, txp, Tp, wp, xs, nx, float(len(x)))


def _nll(theta: np.ndarray, d: _BGData) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and its gradient with respect to log(r, alpha, a, b).

    Per customer (FHL 2005, eq. 6), with A = B(a, b+x)/B(a, b) * G(r+x)/G(r) * alpha^r:
        L = A (alpha+T)^-(r+x) * [1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)]
    The bracket is evaluated as softplus of its log so it never overflows.
    """
    r, alpha, a, b = np.exp(theta)
    dot = wdot
    la = np.log(alpha)
    xs, nx = d.xs, d.nx
    # Terms in x only, summed over distinct frequencies with their counts.
    ll = dot(nx, gammaln(r + xs) - gammaln(r) + gammaln(a + b) + gammaln(b + xs)
             - gammaln(b) - gammaln(a + b + xs)) + d.total * r * la
    g_r = dot(nx, digamma(r + xs) - digamma(r)) + d.total * la
    g_al = d.total * r / alpha
    psi_ab_x = digamma(a + b + xs)
    g_a = dot(nx, digamma(a + b) - psi_ab_x)
    g_b = dot(nx, digamma(a + b) + digamma(b + xs) - digamma(b) - psi_ab_x)

    # Non-repeaters: -r log(alpha+T).
    lT0 = np.log(alpha + d.T0)
    ll -= r * dot(d.w0, lT0)
    g_r -= dot(d.w0, lT0)
    g_al -= r * dot(d.w0, 1.0 / (alpha + d.T0))

    # Repeaters.
    x, w = d.x, d.w
    rx = r + x
    inv_aT = 1.0 / (alpha + d.T)
    inv_atx = 1.0 / (alpha + d.tx)
    lT = np.log(alpha + d.T)
    dl = lT - np.log(alpha + d.tx)
    bx1 = b + x - 1.0
    D = np.log(a / bx1) + rx * dl
    e = np.exp(-np.abs(D))
    sp = np.maximum(D, 0.0) + np.log1p(e)  # softplus(D), stable
    ws = w * np.where(D >= 0.0, 1.0, e) / (1.0 + e)  # w * sigmoid(D): weight of "dropped out"
    ll += dot(w, sp) - dot(w, rx * lT)
    g_r += dot(ws, dl) - dot(w, lT)
    g_al += dot(ws, rx * (inv_aT - inv_atx)) - dot(w, rx * inv_aT)
    g_a += ws.sum() / a
    g_b -= dot(ws, 1.0 / bx1)

    grad = -np.array([g_r * r, g_al * alpha, g_a * a, g_b * b]) / d.total
    return float(-ll / d.total), grad


class BetaGeo(BaseEstimator):
    """BG/NBD model fitted by maximum likelihood.

    Parameters
    ----------
    max_iter:
        Maximum L-BFGS-B iterations.
    tol:
        Convergence tolerance on the gradient of the mean log-likelihood (log-parameters).
    standard_errors:
        Compute standard errors from the inverse Hessian (8 extra gradient evaluations).
    initial_params:
        Optional starting values, e.g. ``{"r": 0.5, "alpha": 5, "a": 1, "b": 2}``.

    Fitted attributes: ``params_`` (r, alpha, a, b), ``log_likelihood_``, ``converged_``,
    ``n_customers_``, ``n_iter_``, ``standard_errors_``, ``diagnostics_``.
    """

    _param_names = ("r", "alpha", "a", "b")
    _default_columns = ("frequency", "recency", "T")

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency_col: str = "frequency",
        recency_col: str = "recency",
        T_col: str = "T",
    ) -> BetaGeo:
        """Fit on a per-customer summary (one row per customer, see ``rfm_summary``)."""
        x, tx, T = rft_arrays(summary, frequency_col, recency_col, T_col)
        _check_fit_data(x, T, "BG/NBD")
        data = _prepare(x, tx, T)
        # Start from r = 1 and the rate implied by the mean purchase rate.
        alpha0 = float(max(T.sum(), 1e-9) / max(x.sum(), 1.0))
        theta0 = self._initial_theta({"r": 1.0, "alpha": alpha0, "a": 1.0, "b": 1.0},
                                     self.initial_params)
        diag = maximize_log_likelihood(
            lambda th: _nll(th, data),
            theta0,
            names=self._param_names,
            total_weight=data.total,
            n_customers=len(x),
            n_groups=len(data.T0) + len(data.x),
            max_iter=self.max_iter,
            tol=self.tol,
            standard_errors=self.standard_errors,
            model="BG/NBD",
        )
        self._set_fitted(diag)
        self.columns_ = (frequency_col, recency_col, T_col)
        return self

    # -- predictions -------------------------------------------------------------------------

    def _arrays(self, summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self._check_fitted()
        return rft_arrays(summary, *self.columns_)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(customer still alive at T | x, t_x, T) (FHL 2005, eq. 13 in their technical note)."""
        x, tx, T = self._arrays(summary)
        return pd.Series(finite_or_raise(self._p_alive(x, tx, T), "p_alive"),
                         index=summary.index, name="p_alive", copy=False)

    def _p_alive(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(alive) = 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) for x > 0, else 1.

        Elementwise over the repeat customers only (two logs and one exp per row cost less
        than grouping the rows); the others are exactly 1."""
        r, alpha, a, b = (self.params_[k] for k in self._param_names)
        out = np.ones(len(x))
        rep = np.flatnonzero(x > 0)
        xr = x[rep]
        log_odds = np.log(alpha + T[rep])
        log_odds -= np.log(alpha + tx[rep])
        log_odds *= r + xr
        # The term in x alone from a table by frequency when the frequencies are few.
        table, xi = _frequency_table(xr)
        if table is not None:
            log_odds += (np.log(a) - np.log(b + np.maximum(table, 1.0) - 1.0))[xi]
        else:
            log_odds += np.log(a) - np.log(b + xr - 1.0)
        np.negative(log_odds, out=log_odds)
        out[rep] = expit(log_odds)
        return out

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10)."""
        x, tx, T = self._arrays(summary)
        t = _check_t(t)
        # Once per distinct (x, t_x, T) row, then spread back to customers.
        codes, (gx, gtx, gT) = group_rft(x, tx, T)
        out = self._conditional_curve(gx, gtx, gT)(t)[codes]
        return pd.Series(finite_or_raise(out, "expected_purchases"), index=summary.index,
                         name="expected_purchases", copy=False)

    def _conditional_curve(
        self, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> Callable[[float], np.ndarray]:
        """t -> E[purchases in (T, T+t] | x, t_x, T] for these (distinct) rows."""
        r, alpha, a, b = (self.params_[k] for k in self._param_names)
        log_odds = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) + (r + x) * (
            np.log(alpha + T) - np.log(alpha + tx)
        )
        den = 1.0 + np.where(x > 0, np.exp(np.minimum(log_odds, 700.0)), 0.0)
        # The Gauss hypergeometric term depends on (x, T) only: evaluate it once per pair.
        codes, (xu, Tu) = group_index(x, T)

        def curve(t: float) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                hyp = hyp2f1(r + xu, b + xu, a + b + xu - 1.0, t / (alpha + Tu + t))
                second = 1.0 - hyp * np.exp(
                    (r + xu) * (np.log(alpha + Tu) - np.log(alpha + Tu + t)))
                num = (a + b + xu - 1.0) / (a - 1.0) * second
            return num[codes] / den

        return curve

    def expected_purchases_new(self, t: float | np.ndarray) -> float | np.ndarray:
        """Unconditional E[X(t)]: expected purchases in (0, t] of a customer who has just made
        a first purchase (FHL 2005, eq. 9). Accepts a scalar or an array of t."""
        self._check_fitted()
        r, alpha, a, b = (self.params_[k] for k in self._param_names)
        tt = np.asarray(t, dtype=np.float64)
        if (tt < 0).any() or not np.all(np.isfinite(tt)):
            raise CLVInputError("t must be finite and >= 0")
        hyp = hyp2f1(r, b, a + b - 1.0, tt / (alpha + tt))
        out = (a + b - 1.0) / (a - 1.0) * (1.0 - hyp * (alpha / (alpha + tt)) ** r)
        out = finite_or_raise(np.atleast_1d(out), "expected_purchases_new").reshape(tt.shape)
        return float(out) if out.ndim == 0 else out


def _frequency_table(x: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """(0, 1, ..., max(x)) and x as indices into it, when the frequencies (validated whole
    and >= 0) are few enough for a table (a lookup costs less than a log); (None, x)
    otherwise."""
    if not len(x) or x.max() > max(len(x), 1 << 16):
        return None, x
    return np.arange(int(x.max()) + 1, dtype=np.float64), x.astype(np.intp)


def _check_t(t: float) -> float:
    try:
        tf = float(t)
    except (TypeError, ValueError) as exc:
        raise CLVInputError("t must be a number of time units") from exc
    if not np.isfinite(tf) or tf < 0:
        raise CLVInputError("t must be finite and >= 0")
    return tf


def _check_fit_data(x: np.ndarray, T: np.ndarray, model: str) -> None:
    if len(x) < 2:
        raise CLVInputError(
            f"{model} needs a summary of at least 2 customers (got {len(x)}); with fewer the "
            "four parameters are not identified"
        )
    if not (x > 0).any():
        raise CLVInputError(
            f"{model}: no customer has a repeat purchase, so the purchase rate and dropout "
            "cannot be estimated"
        )
    if not (T > 0).any():
        raise CLVInputError(f"{model}: every customer has T == 0 (no time observed)")
