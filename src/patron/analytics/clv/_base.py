"""Shared plumbing for the CLV estimators: errors, diagnostics, input checks, row grouping and
the maximum-likelihood driver (L-BFGS-B on log-parameters with analytic gradients)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from patron.analytics.errors import AnalyticsInputError

__all__ = [
    "CLVError",
    "CLVInputError",
    "ConvergenceError",
    "FitDiagnostics",
    "NotFittedError",
]

# Parameters are optimised as log(param); beyond |log(param)| > this the fit is treated as
# degenerate (a parameter running to 0 or infinity means the data do not identify the model).
_LOG_PARAM_LIMIT = 18.0
# L-BFGS-B sometimes stops with a line-search "abnormal termination" when it is already at the
# optimum (the objective cannot be reduced in floating point); accept that if the gradient of
# the mean negative log-likelihood is this small.
_GRAD_ACCEPT = 1e-6


class CLVError(ValueError):
    """Base class of the errors raised by :mod:`patron.analytics.clv`."""


class CLVInputError(CLVError, AnalyticsInputError):
    """The input data cannot be used (missing columns, bad values, too little data...).

    Also an :class:`~patron.analytics.errors.AnalyticsInputError`, like every input error
    of the analytics core."""


class ConvergenceError(CLVError):
    """The maximum-likelihood fit did not converge or ran to a degenerate boundary.

    ``diagnostics`` holds what the optimiser reached (parameters, log-likelihood, message).
    """

    def __init__(self, message: str, diagnostics: FitDiagnostics | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


class NotFittedError(CLVError, AttributeError):
    """A prediction method was called before ``fit``."""


@dataclass(frozen=True)
class FitDiagnostics:
    """What a fit did: small, immutable, safe to log or store with a scoring run."""

    converged: bool
    n_customers: int
    n_groups: int  # distinct rows the likelihood was evaluated on (identical rows are weighted)
    iterations: int
    function_evaluations: int
    log_likelihood: float
    gradient_max: float  # max |d mean-LL / d log-param| at the solution
    message: str
    params: Mapping[str, float]
    standard_errors: Mapping[str, float] | None = field(default=None)


def check_frame(df: object, columns: Mapping[str, str]) -> pd.DataFrame:
    """Check ``df`` is a DataFrame holding the given columns (role -> column name)."""
    if not isinstance(df, pd.DataFrame):
        raise CLVInputError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [col for col in columns.values() if col not in df.columns]
    if missing:
        raise CLVInputError(
            f"missing column(s) {missing}; pass the names with "
            + ", ".join(f"{role}=" for role in columns)
        )
    return df


def float_column(df: pd.DataFrame, col: str) -> np.ndarray:
    """A column as a finite float64 array, or a clear error."""
    try:
        arr = np.asarray(df[col].to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CLVInputError(f"column {col!r} must be numeric") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        raise CLVInputError(
            f"column {col!r} has {int(bad.sum())} missing or infinite value(s), "
            f"e.g. at index {df.index[np.flatnonzero(bad)[0]]!r}"
        )
    return arr


def count_column(df: pd.DataFrame, col: str) -> np.ndarray:
    """A column of non-negative whole numbers as float64, or a clear error. A plain numpy
    integer column (the usual case) needs no finiteness or whole-number pass."""
    series = df[col]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
        ints = series.to_numpy()
        if len(ints) and ints.min() < 0:
            raise CLVInputError(f"column {col!r} must hold non-negative whole numbers")
        return ints.astype(np.float64)
    x = float_column(df, col)
    if (x < 0).any() or (x != np.round(x)).any():
        raise CLVInputError(f"column {col!r} must hold non-negative whole numbers")
    return x


def rft_arrays(
    df: pd.DataFrame, frequency_col: str, recency_col: str, T_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated (frequency, recency, T) arrays from a summary table."""
    check_frame(df, {"frequency_col": frequency_col, "recency_col": recency_col, "T_col": T_col})
    x = count_column(df, frequency_col)
    tx = float_column(df, recency_col)
    T = float_column(df, T_col)
    if (tx < 0).any():
        raise CLVInputError(f"column {recency_col!r} must be >= 0")
    # Tolerance: recency and T are often computed from the same dates through divisions.
    # The exact comparison settles the usual case in one pass.
    if not (tx <= T).all():
        over = tx > T * (1 + 1e-12) + 1e-12
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise CLVInputError(
                f"recency must not exceed T (customer {df.index[i]!r}: recency {tx[i]} > T {T[i]})"
            )
        tx = np.minimum(tx, T)
    if ((x == 0) & (tx != 0)).any():
        raise CLVInputError("recency must be 0 for customers with frequency 0")
    return x, tx, T


# Whole-number columns spanning at most this many values (or the row count, if larger) are
# coded by subtraction instead of hashing; row keys whose product space is at most this large
# (or 8 times the row count: a byte per possible key is still cheaper to clear and scan than
# hashing the rows) are grouped through a presence table instead of a hash table.
_DENSE_MIN = 1 << 16
_DENSE_PER_ROW = 8


def _column_codes(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes (intp) of one column and the values they stand for (``values[codes] == col``).

    Small whole numbers (frequencies) are their own codes, which is ~7x cheaper than a hash
    factorisation; a cheap look at the first values keeps float columns off that path.
    """
    n = len(col)
    if n and col.dtype.kind in "iu":
        lo, hi = int(col.min()), int(col.max())
        if hi - lo < max(n, _DENSE_MIN):
            return (col - lo).astype(np.intp, copy=False), np.arange(lo, hi + 1, dtype=np.float64)
    elif n:
        head = col[:256]
        if (head == np.floor(head)).all():
            flo, fhi = float(col.min()), float(col.max())
            if flo > -(2.0**52) and fhi < 2.0**52 and fhi - flo < max(n, _DENSE_MIN) and (
                col == np.floor(col)
            ).all():
                base = int(flo)
                codes = col.astype(np.intp)
                if base:
                    codes -= base
                return codes, np.arange(base, int(fhi) + 1, dtype=np.float64)
    codes, uniq = pd.factorize(col, sort=False)
    return np.asarray(codes, dtype=np.intp), np.asarray(uniq, dtype=np.float64)


def group_index(*cols: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Codes mapping each row to its distinct row, and the distinct rows' column values.

    Real purchase data are recorded to the day, so many customers share the same
    (frequency, recency, T); evaluating a formula once per distinct row is exact and is what
    makes a million customers cheap. Columns are coded one by one (by subtraction for small
    whole numbers, else by hash factorisation), then the combined row key is grouped through
    a presence table when the key space is small, else by a hash factorisation. The order of
    the distinct rows is unspecified.
    """
    n = len(cols[0])
    parts = [_column_codes(c if c.dtype.kind in "iu" else np.asarray(c, dtype=np.float64))
             for c in cols]
    size = 1
    for _, vals in parts:
        size *= len(vals)
    if n and size <= max(_DENSE_PER_ROW * n, _DENSE_MIN):
        key = parts[0][0]
        for codes, vals in parts[1:]:
            key = key * len(vals)
            key += codes
        present = np.zeros(size, dtype=bool)
        present[key] = True
        used = np.flatnonzero(present)
        remap = np.empty(size, dtype=np.intp)
        remap[used] = np.arange(len(used), dtype=np.intp)
        # Decompose the distinct keys back into each column's code.
        values: list[np.ndarray] = []
        rest = used
        for _codes, vals in reversed(parts):
            rest, c = np.divmod(rest, len(vals))
            values.append(vals[c])
        return remap[key], values[::-1]
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for codes, vals in parts:
        if size * len(vals) >= 2**62:  # compact the key so it stays inside int64
            key, kuniq = pd.factorize(key, sort=False)
            size = len(kuniq)
        key = key * len(vals) + codes
        size *= len(vals)
    gcodes, _ = pd.factorize(key, sort=False)
    # factorize numbers groups in order of first appearance, so the running maximum of the
    # codes steps up exactly at each group's first row.
    run = np.maximum.accumulate(gcodes) if n else gcodes
    first = np.flatnonzero(np.r_[True, run[1:] != run[:-1]]) if n else np.zeros(0, np.intp)
    return np.asarray(gcodes, dtype=np.intp), [np.asarray(c, dtype=np.float64)[first] for c in cols]


def group_rft(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``group_index(x, tx, T)`` for validated summaries; a quarter cheaper when most customers
    have no repeat purchase (CDNOW-like data at 1M: 41 vs 54 ms CPU).

    Customers without a repeat purchase (x = 0, so t_x = 0) differ only in T: they are grouped
    by T alone and the full (x, t_x, T) key is built for repeat customers only. The first
    ``len(distinct T)`` groups are (0, 0, T) rows, one per distinct T (some may be unused).
    """
    cT, uT = _column_codes(T)
    rep = np.flatnonzero(x > 0)
    rcodes, (rx, rtx, rcT) = group_index(x[rep], tx[rep], cT[rep])
    codes = cT  # a fresh array: the non-repeaters' codes are already right
    codes[rep] = rcodes + len(uT)
    zeros = np.zeros(len(uT))
    return codes, (np.concatenate([zeros, rx]), np.concatenate([zeros, rtx]),
                   np.concatenate([uT, uT[rcT.astype(np.intp)]]))


def group_rows(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given columns and how many times each occurs (as float weights)."""
    if len(cols) == 1 and len(cols[0]) and cols[0].min() >= 0 and cols[0].max() < 1e6 and (
        cols[0] == np.floor(cols[0])
    ).all():  # small whole numbers (frequencies): a bincount is several times faster
        counts_all = np.bincount(cols[0].astype(np.intp))
        present = np.flatnonzero(counts_all)
        return [present.astype(np.float64)], counts_all[present].astype(np.float64)
    codes, vals = group_index(*cols)
    counts = np.bincount(codes, minlength=len(vals[0])).astype(np.float64)
    return vals, counts


def wdot(w: np.ndarray, v: np.ndarray) -> float:
    """Weighted sum. einsum rather than np.dot: OpenBLAS's threaded dot is many times slower
    for these sizes when the cores are busy (measured: 8 ms vs 0.15 ms for 1e5 values)."""
    return float(np.einsum("i,i->", w, v))


def finite_or_raise(values: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise CLVError(
            f"{what} is not finite for {int((~np.isfinite(values)).sum())} customer(s); "
            "the fitted parameters are outside the range where the formula is defined"
        )
    return values


def _single_threaded_blas() -> AbstractContextManager[object]:
    """L-BFGS-B on 3-4 parameters makes many tiny BLAS calls; with OpenBLAS's thread pool on a
    busy machine each costs milliseconds of thread wake-up (measured: 5 ms vs 0.2 ms per
    iteration). Limit BLAS to one thread for the duration of the fit. threadpoolctl comes
    with scikit-learn; without it this does nothing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


ObjectiveFn = Callable[[np.ndarray], tuple[float, np.ndarray]]


def maximize_log_likelihood(
    objective: ObjectiveFn,
    theta0: np.ndarray,
    *,
    names: tuple[str, ...],
    total_weight: float,
    n_customers: int,
    n_groups: int,
    max_iter: int,
    tol: float,
    standard_errors: bool,
    model: str,
    hessian: Callable[[np.ndarray], np.ndarray] | None = None,
) -> FitDiagnostics:
    """Minimise ``objective`` (mean negative log-likelihood and its gradient in log-params).

    With an analytic ``hessian`` (of the same objective) the optimiser is a trust-region
    Newton method (a handful of iterations); otherwise L-BFGS-B. Raises :class:`ConvergenceError` when the optimiser stops without converging or a
    parameter runs off to 0 or infinity.
    """
    f0, g0 = objective(theta0)
    if not np.isfinite(f0) or not np.all(np.isfinite(g0)):
        raise ConvergenceError(f"{model}: the log-likelihood is not finite at the starting point")
    bounds = [(-_LOG_PARAM_LIMIT - 2.0, _LOG_PARAM_LIMIT + 2.0)] * len(theta0)
    with _single_threaded_blas():
        if hessian is not None:
            res = minimize(objective, theta0, jac=True, hess=hessian, method="trust-exact",
                           options={"maxiter": max_iter, "gtol": tol}, callback=_StallStop())
        else:
            res = minimize(
                objective,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": max_iter, "ftol": 1e-14, "gtol": tol},
            )
    theta = np.asarray(res.x, dtype=np.float64)
    f, g = float(res.fun), np.asarray(res.jac, dtype=np.float64)
    params = dict(zip(names, (float(v) for v in np.exp(theta)), strict=True))
    grad_max = float(np.max(np.abs(g)))
    ll = float(-f * total_weight)
    # L-BFGS-B / trust-exact status 2, or our stall stop (99): no further progress is
    # possible in floating point; fine if the gradient is already ~0.
    converged = bool(np.isfinite(f)) and (
        bool(res.success) or (res.status in (2, 99) and grad_max < _GRAD_ACCEPT)
    )
    message = str(res.message)
    if converged and not res.success:
        message = f"converged: gradient {grad_max:.1e}, no further progress possible ({message.strip()})"
    at_edge = [n for n, v in zip(names, theta, strict=True) if abs(v) > _LOG_PARAM_LIMIT]
    if at_edge:
        converged = False
        message = f"parameter(s) {at_edge} ran to 0 or infinity; the data do not identify the model"
    ses: dict[str, float] | None = None
    if converged and standard_errors:
        with _single_threaded_blas():
            ses = _standard_errors(objective, theta, names, total_weight, hessian)
    diag = FitDiagnostics(
        converged=converged,
        n_customers=n_customers,
        n_groups=n_groups,
        iterations=int(res.nit),
        function_evaluations=int(res.nfev),
        log_likelihood=ll,
        gradient_max=grad_max,
        message=message,
        params=params,
        standard_errors=ses,
    )
    if not converged:
        raise ConvergenceError(
            f"{model} fit did not converge after {res.nit} iterations: {message}. "
            f"Reached {params} (log-likelihood {ll:.6g}).",
            diag,
        )
    return diag


class _StallStop:
    """Callback ending a trust-region run once the objective has not moved for 3 iterations:
    at the floating-point noise floor of a sum over many customers it would otherwise keep
    shrinking its radius until maxiter."""

    def __init__(self) -> None:
        self.last = np.inf
        self.stalled = 0

    def __call__(self, intermediate_result: Any) -> None:
        f = float(intermediate_result.fun)
        self.stalled = self.stalled + 1 if f >= self.last else 0
        self.last = min(f, self.last)
        if self.stalled >= 3:
            raise StopIteration


def _standard_errors(
    objective: ObjectiveFn,
    theta: np.ndarray,
    names: tuple[str, ...],
    total_weight: float,
    hessian: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, float] | None:
    """Standard errors from the inverse Hessian of the log-likelihood.

    Without an analytic Hessian, the Hessian in log-parameters is the forward difference of
    the analytic gradient (k gradient calls; step 1e-5 gives ~1e-5 relative accuracy, plenty
    for a standard error). At the optimum the gradient is ~0, so by the delta method
    se(p) = p * se(log p).
    """
    k = len(theta)
    if hessian is not None:
        hess = np.asarray(hessian(theta), dtype=np.float64).copy()
    else:
        hess = np.empty((k, k))
        g0 = objective(theta)[1]
        for j in range(k):
            h = 1e-5 * max(1.0, abs(theta[j]))
            tp = theta.copy()
            tp[j] += h
            hess[:, j] = (objective(tp)[1] - g0) / h
    hess = 0.5 * (hess + hess.T) * total_weight
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return None
    var = np.diag(cov)
    if not np.all(np.isfinite(var)) or (var <= 0).any():
        return None
    se = np.exp(theta) * np.sqrt(var)
    return dict(zip(names, (float(v) for v in se), strict=True))


class BaseEstimator:
    """scikit-learn conventions: ``__init__`` stores options, ``fit`` returns self, fitted
    attributes end in ``_``."""

    _param_names: tuple[str, ...] = ()
    _default_columns: tuple[str, ...] = ()
    params_: dict[str, float]
    diagnostics_: FitDiagnostics
    columns_: tuple[str, ...]

    # Every model takes the same fitting options.
    def __init__(
        self,
        *,
        max_iter: int = 1000,
        tol: float = 1e-9,
        standard_errors: bool = True,
        initial_params: Mapping[str, float] | None = None,
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.standard_errors = standard_errors
        self.initial_params = initial_params

    @classmethod
    def from_params(
        cls, params: Mapping[str, float], *, columns: tuple[str, ...] | None = None
    ) -> Self:
        """A model with known parameters, ready to predict without fitting (e.g. parameters
        stored by an earlier scoring run). ``columns`` are the summary's column names in the
        order ``fit`` takes them (default: the standard names)."""
        missing = [n for n in cls._param_names if n not in params]
        if missing:
            raise CLVInputError(f"missing parameter(s) {missing}")
        vals = {n: float(params[n]) for n in cls._param_names}
        if not all(np.isfinite(v) and v > 0 for v in vals.values()):
            raise CLVInputError("parameters must be positive and finite")
        est = cls()
        est.params_ = vals
        est.columns_ = tuple(columns) if columns is not None else cls._default_columns
        if len(est.columns_) != len(cls._default_columns):
            raise CLVInputError(f"columns must name {list(cls._default_columns)}")
        return est

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

    def _set_fitted(self, diag: FitDiagnostics) -> None:
        self.diagnostics_ = diag
        self.params_ = dict(diag.params)
        self.log_likelihood_ = diag.log_likelihood
        self.converged_ = diag.converged
        self.n_customers_ = diag.n_customers
        self.n_iter_ = diag.iterations
        self.standard_errors_ = (
            dict(diag.standard_errors) if diag.standard_errors is not None else None
        )

    def _initial_theta(self, default: Mapping[str, float], given: Mapping[str, float] | None) -> np.ndarray:
        start = dict(default)
        if given:
            unknown = set(given) - set(self._param_names)
            if unknown:
                raise CLVInputError(f"unknown initial parameter(s) {sorted(unknown)}")
            start.update(given)
        vals = np.array([float(start[n]) for n in self._param_names])
        if not np.all(np.isfinite(vals)) or (vals <= 0).any():
            raise CLVInputError("initial parameters must be positive and finite")
        return np.log(vals)

    def __repr__(self) -> str:
        state = (
            ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            if hasattr(self, "params_")
            else "unfitted"
        )
        return f"{type(self).__name__}({state})"

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}
