"""REST endpoint of the audit log: who changed what and when (administrators only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from patron.core.apikit import (
    DEFAULT_PAGE,
    MAX_ID,
    MAX_PAGE,
    Day,
    ErrorOut,
    OutputSchema,
    Page,
    paginate,
    require_admin,
)
from patron.core.models import AuditEntry
from patron.core.roles import user_of
from patron.core.selectors import audit_entries

router = Router(tags=["audit"])


class AuditEntryOut(OutputSchema):
    id: int
    at: datetime
    actor: str
    actor_id: int | None
    source: str
    action: str
    object_type: str
    object_id: int | None
    customer_id: int | None
    changes: dict[str, Any]


class AuditFilters(Schema):
    actor: str = Field("", max_length=150, description="A username, or a label such as an import's.")
    action: str = Field("", max_length=50, description='Exact ("customer.update"), or a prefix ending in a dot ("customer.").')
    customer_id: int | None = Field(None, ge=1, le=MAX_ID)
    since: Day | None = Field(None, description="From this day (included).")
    until: Day | None = Field(None, description="To this day (included).")


class AuditPage(Schema):
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description=f"Page size, at most {MAX_PAGE}.")
    offset: int = Field(0, ge=0, le=10**9)


def _entry(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.pk, "at": e.at, "actor": e.actor_label, "actor_id": e.actor_id, "source": e.source,
        "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
        "customer_id": e.customer_id, "changes": e.changes,
    }


@router.get("/audit", response={200: Page[AuditEntryOut], 401: ErrorOut, 403: ErrorOut}, summary="The audit log", tags=["audit"])
def audit_list(request: HttpRequest, filters: Query[AuditFilters], params: Query[AuditPage]):
    """Who changed what and when, newest first. Administrators only."""
    user = user_of(request)
    require_admin(user)
    qs = audit_entries(
        actor=filters.actor, action=filters.action, customer_id=filters.customer_id,
        since=filters.since, until=filters.until,
    )
    return paginate(request, qs, params, lambda rows: [_entry(e) for e in rows])  # type: ignore[arg-type]
