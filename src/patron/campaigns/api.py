"""REST endpoints for segments under /api/v1/segments.

Every signed-in user reads the saved segments; each one's ``count``, ``total_predicted_value`` and
members are those the caller sees (``visible_customers``). Creating, changing and deleting them
is for ``core.roles.can_edit_segments``; the writes go through ``campaigns.services``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Status

from patron.campaigns.filters import SegmentFilter
from patron.campaigns.models import Segment
from patron.campaigns.selectors import SEGMENT_SORTS, segment_customers, segment_summary, segments
from patron.campaigns.services import segment_create, segment_delete, segment_update
from patron.core.apikit import (
    ApiError,
    Changes,
    ErrorOut,
    Id,
    InputSchema,
    ListParams,
    OutputSchema,
    Page,
    csv_list,
    forbidden,
    not_found,
    paginate,
    sorted_by,
)
from patron.core.models import User
from patron.core.roles import can_edit_segments, user_of
from patron.customers.api import customers_for_output, customers_out
from patron.customers.schemas import CustomerOut
from patron.customers.selectors import CUSTOMER_SORTS

router = Router(tags=["segments"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}



class SegmentIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    filter: SegmentFilter | None = Field(None, description="See docs/campaigns.md; none or {} matches every customer.")


class SegmentPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    filter: SegmentFilter | None = Field(None, description="Replaces the whole filter.")


class SegmentOut(OutputSchema):
    id: int
    name: str
    filter: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class SegmentDetailOut(SegmentOut):
    count: int = Field(description="Members among the customers you see.")
    total_predicted_value: float = Field(description="Sum of those members' predicted lifetime value (CLV).")


def segment_data(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.pk,
        "name": segment.name,
        "filter": segment.filter,
        "created_by": segment.created_by.username if segment.created_by else None,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _detail(user: User, segment: Segment) -> dict[str, Any]:
    summary = segment_summary(user, segment.filter)
    return {**segment_data(segment), "count": summary.count, "total_predicted_value": summary.total_predicted_value}


def _segment(segment_id: int) -> Segment:
    segment = segments().filter(pk=segment_id).first()
    if segment is None:
        raise not_found(_("There is no segment %(id)s.") % {"id": segment_id})
    return segment


def _require_editor(user: User) -> None:
    if not can_edit_segments(user):
        raise forbidden(_("Your role uses segments but does not create or change them."))


def _filter_of(body_filter: SegmentFilter | None) -> dict[str, Any]:
    return body_filter.model_dump(mode="json", exclude_unset=True) if body_filter is not None else {}


@router.get("/segments", response={200: Page[SegmentOut], **ERRORS}, summary="List segments")
def list_segments(request: HttpRequest, params: Query[ListParams]):
    """Every saved segment (their counts: GET /segments/{id})."""
    if params.format == "csv":
        raise ApiError(422, "invalid", _("Segments have no CSV export; their members do (GET /segments/{id}/customers)."))
    qs = sorted_by(segments(), params.sort, SEGMENT_SORTS, "name")
    return paginate(request, qs, params, lambda rows: [segment_data(s) for s in rows])


@router.post("/segments", response={201: SegmentDetailOut, **ERRORS}, summary="Create a segment")
def create_segment(request: HttpRequest, body: SegmentIn):
    user = user_of(request)
    _require_editor(user)
    segment = segment_create(name=body.name, filter=_filter_of(body.filter), created_by=user)
    return Status(201, _detail(user, segment))


@router.get("/segments/{segment_id}", response={200: SegmentDetailOut, **ERRORS}, summary="Get a segment")
def get_segment(request: HttpRequest, segment_id: Id):
    return _detail(user_of(request), _segment(segment_id))


@router.patch("/segments/{segment_id}", response={200: SegmentDetailOut, **ERRORS}, summary="Change a segment")
def patch_segment(request: HttpRequest, segment_id: Id, body: SegmentPatch):
    user = user_of(request)
    _require_editor(user)
    segment = _segment(segment_id)
    changes = Changes.of(body).values
    if "filter" in changes:
        changes["filter"] = _filter_of(body.filter)
    segment_update(segment=segment, changes=changes)
    return _detail(user, segment)


@router.delete("/segments/{segment_id}", response={204: None, **ERRORS}, summary="Delete a segment")
def delete_segment(request: HttpRequest, segment_id: Id):
    user = user_of(request)
    _require_editor(user)
    segment_delete(segment=_segment(segment_id))
    return Status(204, None)


@router.get(
    "/segments/{segment_id}/customers",
    response={200: Page[CustomerOut], **ERRORS},
    summary="List a segment's customers",
)
def list_segment_customers(request: HttpRequest, segment_id: Id, params: Query[ListParams]):
    """The segment's members among the customers you see, as GET /customers lists them."""
    segment = _segment(segment_id)
    qs = sorted_by(segment_customers(user_of(request), segment.filter), params.sort, CUSTOMER_SORTS, "name")  # GET /customers' sorts
    if params.format == "csv":
        return csv_list("customers", qs)
    return paginate(request, customers_for_output(qs), params, lambda rows: customers_out(rows, user_of(request)))
