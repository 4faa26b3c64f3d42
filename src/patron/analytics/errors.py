"""Errors raised by the analytics core for bad input.

Every function in :mod:`patron.analytics` that rejects its input raises
:class:`AnalyticsInputError` (a :class:`ValueError`), so callers can catch one type and show
its message to the user: the message names the offending column or values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = ["AnalyticsInputError", "InvalidScoreError", "check_columns"]


class AnalyticsInputError(ValueError):
    """Input the analytics core cannot use: missing columns, wrong types, bad values."""


class InvalidScoreError(AnalyticsInputError):
    """Survey scores outside the allowed scale (e.g. NPS answers that are not integers 0..10).

    ``bad_values`` holds (up to ten of) the distinct offending values, ``n_bad`` how many
    responses were rejected in total.
    """

    def __init__(self, message: str, bad_values: Sequence[object] = (), n_bad: int = 0) -> None:
        super().__init__(message)
        self.bad_values = tuple(bad_values)
        self.n_bad = n_bad


def check_columns(frame: object, columns: Iterable[str], *, name: str = "frame") -> None:
    """Raise :class:`AnalyticsInputError` unless ``frame`` is a DataFrame with ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise AnalyticsInputError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns)) or "(none)"
        raise AnalyticsInputError(
            f"{name} is missing column(s) {', '.join(map(repr, missing))}; it has: {have}"
        )
