"""Reads of the imports app; customers always through ``visible_customers``."""

from __future__ import annotations

from django.db.models import QuerySet

from patron.core.models import User
from patron.core.roles import is_admin
from patron.customers.models import PossibleDuplicate
from patron.customers.selectors import visible_customers
from patron.imports.models import ImportJob, ImportMapping


def import_jobs_for(user: User) -> QuerySet[ImportJob]:
    """People see their own imports; administrators see everyone's."""
    jobs = ImportJob.objects.select_related("user")
    if is_admin(user):
        return jobs
    return jobs.filter(user=user)


def import_mappings(kind: str | None = None) -> QuerySet[ImportMapping]:
    mappings = ImportMapping.objects.all()
    return mappings if kind is None else mappings.filter(kind=kind)


def possible_duplicates_for(user: User) -> QuerySet[PossibleDuplicate]:
    """Open pairs where the user sees both customers."""
    visible = visible_customers(user).values("pk")
    return (
        PossibleDuplicate.objects.filter(
            status=PossibleDuplicate.Status.OPEN, customer__in=visible, other__in=visible
        )
        .select_related("customer", "other", "customer__owner", "other__owner")
        .order_by("-created_at", "-id")
    )
