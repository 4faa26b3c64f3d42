"""Dates Patron accepts, and calendar days chosen in filters turned into instants.

Every date and time that comes in — API bodies and query parameters, web forms and list filters,
imported files — must lie between ``EARLIEST`` and ``LATEST`` (checked here, in one place). The
range keeps far from the edges where arithmetic breaks: Python's dates end at year 9999 (so
``9999-12-31T23:59:59-08:00`` cannot even be turned into UTC), deadlines and survey invitations
add days to the times they are given, and the analytics' pandas timestamps end in 2262.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


def out_of_range_message() -> str:
    return _("must be between %(earliest)s and %(latest)s.") % {
        "earliest": EARLIEST.isoformat(),
        "latest": LATEST.isoformat(),
    }


def check_day(day: date) -> date:
    """``day`` if it is in the accepted range; ``ValueError`` with a translated reason otherwise."""
    if isinstance(day, datetime):
        return check_moment(day)
    if not EARLIEST <= day <= LATEST:
        raise ValueError(out_of_range_message())
    return day


def check_moment(moment: datetime) -> datetime:
    """``moment`` if its day, both where it was given and in UTC, is in the accepted range."""
    try:
        utc_day = moment.astimezone(UTC).date() if moment.tzinfo is not None else moment.date()
    except OverflowError:  # beyond year 9999 or before year 1 in UTC
        raise ValueError(out_of_range_message()) from None
    if not (EARLIEST <= moment.date() <= LATEST and EARLIEST <= utc_day <= LATEST):
        raise ValueError(out_of_range_message())
    return moment


def validate_in_range(value: date | datetime | None) -> None:
    """The range check as a Django validator (form fields)."""
    if value is None:
        return
    try:
        check_day(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="date_out_of_range") from None


class DayField(forms.DateField):
    """A form's date field within the accepted range (an out-of-range date is a form error)."""

    default_validators = [validate_in_range]


class MomentField(forms.DateTimeField):
    """A form's date-and-time field within the accepted range."""

    default_validators = [validate_in_range]


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_after(day: date) -> datetime:
    """Midnight at the end of ``day``: filter ``< day_after(d)`` to include the whole day."""
    return day_start(day + timedelta(days=1))
