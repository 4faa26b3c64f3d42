"""Quarterly key-account reviews."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core.models import User
from patron.customers.models import Customer
from patron.feedback.models import Review, SurveyKind
from patron.feedback.services.checks import InvalidScoreError, parse_score


def quarter_of(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of "2026Q3" in the site's time zone."""
    match = re.fullmatch(r"(\d{4})Q([1-4])", quarter)
    if match is None:
        raise ValidationError(_("A quarter looks like 2026Q3, not %(value)s.") % {"value": quarter}, code="quarter")
    year, q = int(match.group(1)), int(match.group(2))
    tz = timezone.get_current_timezone()
    start = datetime(year, 3 * q - 2, 1, tzinfo=tz)
    end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=tz)
    return start, end


def reviews_create_for_quarter(*, quarter: str, now: datetime | None = None) -> int:
    """One review task per key account for its owner; running it again for the quarter adds nothing."""
    _start, end = quarter_bounds(quarter)
    now = now or timezone.now()
    accounts = Customer.objects.filter(is_key_account=True).values_list("pk", "owner_id")
    existing = set(Review.objects.filter(quarter=quarter).values_list("customer_id", flat=True))
    new = [
        Review(customer_id=pk, owner_id=owner_id, quarter=quarter, due_at=end - timedelta(seconds=1), created_at=now, at=now)
        for pk, owner_id in accounts
        if pk not in existing
    ]
    Review.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def review_complete(*, review: Review, user: User, nps: int | str | None, notes: str, at: datetime | None = None) -> Review:
    """Record the dialogue: the account's NPS (0–10) and the notes; it moves on the timeline to when it was held."""
    errors: dict[str, list[str]] = {}
    value: int | None = None
    if nps not in (None, ""):
        try:
            value = parse_score(nps, SurveyKind.NPS)
        except InvalidScoreError as exc:
            errors["nps"] = exc.messages
    if not (notes or "").strip():
        errors["notes"] = [_("Write what was discussed.")]
    if errors:
        raise ValidationError(errors)
    at = at or timezone.now()
    review.nps = value
    review.notes = notes.strip()[:20000]
    review.done_at = at
    review.at = at
    review.save(update_fields=["nps", "notes", "done_at", "at"])
    return review
