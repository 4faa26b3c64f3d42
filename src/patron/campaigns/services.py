"""Writes of segments: validated by ``filters.clean_filter``, one transaction, audit-logged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from patron.campaigns.filters import clean_filter
from patron.campaigns.models import Segment
from patron.core.audit import audit_record, diff, snapshot
from patron.core.models import User

NAME_MAX = 100


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
