"""Turning calendar days chosen in filters into instants, so date filters use column indexes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_after(day: date) -> datetime:
    """Midnight at the end of ``day``: filter ``< day_after(d)`` to include the whole day."""
    return day_start(day + timedelta(days=1))
