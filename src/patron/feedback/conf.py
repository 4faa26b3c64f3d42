"""Feedback settings: a Django setting of the same name wins, else the environment, else the default.

settings.py is shared by every app; reading through here lets tests use override_settings and
lets an administrator set each value with an environment variable (docs/feedback.md lists them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def _value(name: str, default: Any, cast: Callable[[str], Any]) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from exc


def fatigue_days() -> int:
    """A person is invited to at most one survey in this many days, across all surveys."""
    return int(_value("PATRON_SURVEY_FATIGUE_DAYS", 90, int))


def invitation_valid_days() -> int:
    return int(_value("PATRON_INVITATION_VALID_DAYS", 30, int))


def follow_up_sla_hours() -> int:
    return int(_value("PATRON_FOLLOW_UP_SLA_HOURS", 48, int))


def comment_max_chars() -> int:
    return int(_value("PATRON_COMMENT_MAX_CHARS", 5000, int))


def answer_rate_limit() -> tuple[int, int]:
    """(answers, seconds) allowed per client address on the public answer pages; 0 answers = off."""
    raw = _value("PATRON_ANSWER_RATE_LIMIT", "30/60", str)
    try:
        count, _, window = str(raw).partition("/")
        result = (int(count), int(window or "60"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"PATRON_ANSWER_RATE_LIMIT must look like 30/60, not {raw!r}") from exc
    if result[0] < 0 or result[1] < 1:
        raise ImproperlyConfigured(f"PATRON_ANSWER_RATE_LIMIT must look like 30/60, not {raw!r}")
    return result


def kiosk_reset_seconds() -> int:
    return int(_value("PATRON_KIOSK_RESET_SECONDS", 6, int))


def max_questions() -> int:
    return int(_value("PATRON_SURVEY_MAX_QUESTIONS", 4, int))


def sentiment_function() -> Callable[[str, str], float] | None:
    """The callable rules use for sentiment, ``f(text, language) -> float`` in [-1, 1], if any.

    PATRON_SENTIMENT_FUNCTION names it (dotted path); by default ``patron.feedback.comments.sentiment``,
    the score stored with the comment (patron.analytics.text). Set it empty to switch sentiment
    conditions off: they then never match.
    """
    path = _value("PATRON_SENTIMENT_FUNCTION", "patron.feedback.comments.sentiment", str)
    if not path:
        return None
    try:
        func = import_string(path)
    except ImportError:
        return None
    return func if callable(func) else None
