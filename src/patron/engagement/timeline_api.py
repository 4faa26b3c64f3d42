"""REST endpoint for a customer's timeline (``customers.timeline`` gathers it from every app)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from patron.core.apikit import (
    ApiError,
    ErrorOut,
    Id,
    OutputSchema,
)
from patron.core.choices import ContactChannel, SalesChannel
from patron.core.roles import user_of
from patron.customers.apikit import visible_customer
from patron.customers.timeline import customer_timeline

router = Router(tags=["customers"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}

TIMELINE_CHANNELS = [*SalesChannel.values, *ContactChannel.values]


class TimelineEntryOut(OutputSchema):
    kind: str = Field(description="order, interaction, cost, task, or a kind another app registers.")
    id: int
    at: datetime
    channel: str
    title: str
    detail: str
    amount: Any = None
    currency: str
    extra: dict[str, Any]


class TimelineOut(OutputSchema):
    customer_id: int
    page: int
    page_size: int
    channel: str | None
    has_next: bool
    next: str | None
    items: list[TimelineEntryOut]


class TimelineParams(Schema):
    page: int = Field(1, ge=1, le=100000)
    page_size: int = Field(25, ge=1, le=100)
    channel: str | None = Field(None, description="Keep records on this channel: " + ", ".join(TIMELINE_CHANNELS))


@router.get(
    "/customers/{customer_id}/timeline",
    response={200: TimelineOut, **ERRORS},
    summary="A customer's timeline",
    # The id it had when this endpoint stood in the customers router; clients generated from the
    # schema keep their method name.
    operation_id="patron_customers_api_timeline",
)
def timeline(request: HttpRequest, customer_id: Id, params: Query[TimelineParams]):
    """Orders, interactions, cost events, tasks (and feedback) of one customer, newest first."""
    customer = visible_customer(user_of(request), customer_id)
    if params.channel is not None and params.channel not in TIMELINE_CHANNELS:
        raise ApiError(
            422,
            "unknown_channel",
            _("Unknown channel %(channel)s; use one of: %(channels)s.")
            % {"channel": params.channel, "channels": ", ".join(TIMELINE_CHANNELS)},
        )
    page = customer_timeline(customer, channel=params.channel, page=params.page, page_size=params.page_size)
    next_url = None
    if page.has_next:
        query = request.GET.copy()
        query["page"] = str(page.page + 1)
        next_url = request.build_absolute_uri(request.path) + "?" + query.urlencode()
    return {
        "customer_id": customer.pk,
        "page": page.page,
        "page_size": params.page_size,
        "channel": page.channel,
        "has_next": page.has_next,
        "next": next_url,
        "items": [
            {
                "kind": e.kind,
                "id": e.pk,
                "at": e.at,
                "channel": e.channel,
                "title": str(e.title),
                "detail": str(e.detail or ""),
                "amount": e.amount,
                "currency": e.currency,
                "extra": {k: (str(v) if isinstance(v, Promise) else v) for k, v in e.extra.items()},
            }
            for e in page.entries
        ],
    }
