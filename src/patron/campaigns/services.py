"""Writes of segments: validated by ``filters.clean_filter``, one transaction, audit-logged; and
the worker's count of each segment over the whole book (``segment_figures_refresh``), which the
segment list reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.campaigns.filters import clean_filter
from patron.campaigns.models import Segment
from patron.campaigns.selectors import book_summary
from patron.core.audit import audit_record, diff, snapshot
from patron.core.models import User

NAME_MAX = 100
# How old the stored whole-book figures may grow before the worker counts a segment again.
FIGURES_MAX_AGE = timedelta(minutes=15)


def _logged(changes: dict[str, Any]) -> dict[str, Any]:
    # A segment's name names no person: logged as "segment_name", which the log does not mask.
    return {("segment_name" if k == "name" else k): v for k, v in changes.items()}


def _clean_name(name: Any) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise ValidationError({"name": [_("A segment needs a name.")]}, code="invalid")
    if len(text) > NAME_MAX:
        raise ValidationError({"name": [_("A name has at most %(n)d characters.") % {"n": NAME_MAX}]}, code="invalid")
    return text


def segment_create(*, name: str, filter: Mapping[str, Any] | None, created_by: User | None) -> Segment:
    segment = Segment(name=_clean_name(name), filter=clean_filter(filter), created_by=created_by)
    with transaction.atomic():
        segment.save()
        audit_record("segment.create", obj=segment, changes=_logged({"name": segment.name, "filter": segment.filter}))
    return segment


def segment_update(*, segment: Segment, changes: Mapping[str, Any]) -> Segment:
    """Change the name and/or the filter (a new filter replaces the old one whole)."""
    unknown = set(changes) - {"name", "filter"}
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, code="read_only"
        )
    before = snapshot(segment, ["name", "filter"])
    if "name" in changes:
        segment.name = _clean_name(changes["name"])
    if "filter" in changes:
        segment.filter = clean_filter(changes["filter"])
    changed = diff(before, segment)
    if changed:
        with transaction.atomic():
            segment.save(update_fields=[*changed, "updated_at"])
            audit_record("segment.update", obj=segment, changes=_logged(changed))
    return segment


def segment_delete(*, segment: Segment) -> None:
    with transaction.atomic():
        audit_record("segment.delete", obj=segment, changes=_logged({"name": segment.name, "filter": segment.filter}))
        segment.delete()


def segment_figures_refresh(*, segment: Segment) -> Segment:
    """Count the segment over the whole book and store the figures (no audit entry: they are
    derived, and the definition's ``updated_at`` stays as it was)."""
    summary = book_summary(segment.filter)
    segment.book_count, segment.book_value = summary.count, summary.total_predicted_value
    segment.counted_at = timezone.now()
    Segment.objects.filter(pk=segment.pk).update(
        book_count=segment.book_count, book_value=segment.book_value, counted_at=segment.counted_at
    )
    return segment


def segments_figures_refresh_due(now: datetime | None = None) -> list[int]:
    """Recount each segment never counted, changed since, or counted more than ``FIGURES_MAX_AGE`` ago."""
    now = now or timezone.now()
    due = Segment.objects.filter(
        Q(counted_at__isnull=True) | Q(counted_at__lt=F("updated_at")) | Q(counted_at__lt=now - FIGURES_MAX_AGE)
    ).order_by("pk")
    return [segment_figures_refresh(segment=segment).pk for segment in due]
