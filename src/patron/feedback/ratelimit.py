"""A fixed-window limiter for the public answer pages, counted in Django's cache.

With the default local-memory cache each server process counts on its own, so the effective
limit is the configured one times the number of gunicorn workers; configure a shared cache
(CACHES) for one count across processes. The limit is PATRON_ANSWER_RATE_LIMIT (docs/feedback.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from patron.core.throttle import parse_rate


def client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def address_hash(address: str) -> str:
    """A keyed hash, so stored responses can be grouped by source without keeping addresses."""
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()


def allow(address: str, *, scope: str = "answer") -> bool:
    """Count one attempt from ``address``; False once the window's allowance is used up."""
    limit, window = parse_rate(settings.PATRON_ANSWER_RATE_LIMIT)
    if limit == 0:
        return True
    bucket = int(time.time() // window)
    key = f"patron:fb-rl:{scope}:{address}:{bucket}"
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    return count <= limit


def retry_after() -> int:
    _limit, window = parse_rate(settings.PATRON_ANSWER_RATE_LIMIT)
    return window - int(time.time()) % window
