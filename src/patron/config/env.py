"""Typed reads of the environment for the settings module, the one place that reads it.

Each reader returns the variable's value converted to its type, or the default when the variable
is unset or empty, and raises ImproperlyConfigured with one line naming the variable for a bad
value, so ``patron`` stops at start-up (exit code 2) instead of failing at the first request.
docs/configuration.md lists every variable read here (tests/config/test_settings_env.py).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or value == "" else value


def env_str(
    name: str, default: str, *, pattern: str | None = None, meaning: str = "", keep_empty: bool = False
) -> str:
    """``keep_empty``: an empty value is a value (e.g. "switch this off"), not the default."""
    value = os.environ.get(name) if keep_empty else _raw(name)
    if value is None:
        return default
    if pattern is not None and not re.fullmatch(pattern, value):
        raise ImproperlyConfigured(f"{name} must be {meaning or f'like {default!r}'}, not {value!r}")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE or value == "":
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name} must be a whole number {bounds}, not {value!r}")
    return number


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if not number >= minimum:  # also refuses nan
        raise ImproperlyConfigured(f"{name} must be a number of at least {minimum}, not {value!r}")
    return number


def env_list(name: str, default: str) -> list[str]:
    """A comma-separated list; empty items are dropped."""
    value = os.environ.get(name, default)
    return [item for item in value.split(",") if item]


def env_json(name: str, default: Any) -> Any:
    value = _raw(name)
    if value is None:
        return default
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be JSON: {exc}") from None
