"""Reads of the audit log (administrators only: the views and the API check the role)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from patron.core.models import AuditEntry, User
from patron.core.roles import is_admin


def can_read_audit(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and is_admin(user))


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_entries(
    *,
    actor: str = "",
    action: str = "",
    customer_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """Entries, newest first. ``actor``: a username or a label (an import's, "system");
    ``action``: exact ("customer.update") or a prefix ending in a dot ("customer.");
    ``since``/``until``: whole days, both included, in the site's time zone."""
    qs = AuditEntry.objects.all()
    if actor:
        ids = list(User.objects.filter(username=actor).values_list("pk", flat=True))
        qs = qs.filter(Q(actor_id__in=ids) | Q(actor_label=actor) | Q(actor_label__startswith=f"{actor} ("))
    if action:
        qs = qs.filter(action__startswith=action) if action.endswith(".") else qs.filter(action=action)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if since is not None:
        qs = qs.filter(at__gte=_start_of(since))
    if until is not None:
        qs = qs.filter(at__lt=_start_of(until + timedelta(days=1)))
    return qs.order_by("-at", "-id")
