"""REST endpoint for who to target next: GET /segments/{segment_id}/uplift.

Every signed-in user may ask; the customers ranked are the segment's customers the caller sees
(``campaigns.uplift.segment_uplift``). With too little campaign history the answer says so
(``enough_history`` false, the counts and the minimums) instead of ranking anyone.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from patron.campaigns.models import Segment
from patron.campaigns.selectors import segments
from patron.campaigns.uplift import (
    MAX_LIMIT,
    MIN_MEMBERS_PER_GROUP,
    MIN_RESPONDERS_PER_GROUP,
    SegmentUplift,
    segment_uplift,
)
from patron.core.apikit import ErrorOut, Id, OutputSchema, not_found
from patron.core.roles import user_of

router = Router(tags=["segments"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class UpliftParams(Schema):
    channel: Literal["email", "phone", "mail"] | None = Field(
        None, description="Learn only from campaigns sent on this channel (default: all)."
    )
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"How many customers to rank, at most {MAX_LIMIT}.")


class HistoryOut(OutputSchema):
    treatment_members: int
    control_members: int
    treatment_responders: int
    control_responders: int
    min_members_per_group: int
    min_responders_per_group: int


class ClassUpliftOut(OutputSchema):
    value_class: str = Field(description="Value class at launch ('unscored' for members without one).")
    n_treatment: int
    n_control: int
    rate_treatment: float | None
    rate_control: float | None
    uplift: float | None = Field(description="Difference of the response rates, treatment minus control.")
    low: float | None = Field(description="95% interval, lower end.")
    high: float | None


class RankedOut(OutputSchema):
    customer_id: int
    name: str
    value_class: str
    clv: float | None
    churn_risk: float | None
    uplift: float = Field(description="Predicted gain in response probability if contacted.")


class SegmentUpliftOut(OutputSchema):
    segment_id: int
    channel: str | None
    enough_history: bool
    history: HistoryOut
    qini: float | None = Field(description="Held-out Qini coefficient: 0 is a random choice, 1 the perfect ranking.")
    held_out_members: int | None
    by_value_class: list[ClassUpliftOut]
    scored: int = Field(description="The segment's customers you see, all scored.")
    positive: int = Field(description="Of them, with a predicted uplift above zero.")
    mean_uplift: float | None
    customers: list[RankedOut]


def _finite(value: float | None) -> float | None:
    return value if value is not None and value == value else None  # NaN is not equal to itself


def uplift_data(segment: Segment, result: SegmentUplift) -> dict[str, Any]:
    h, trained = result.history, result.trained
    return {
        "segment_id": segment.pk,
        "channel": result.channel,
        "enough_history": result.enough_history,
        "history": {
            "treatment_members": h.treatment, "control_members": h.control,
            "treatment_responders": h.treatment_responders, "control_responders": h.control_responders,
            "min_members_per_group": MIN_MEMBERS_PER_GROUP, "min_responders_per_group": MIN_RESPONDERS_PER_GROUP,
        },
        "qini": _finite(trained.qini) if trained else None,
        "held_out_members": trained.held_out if trained else None,
        "by_value_class": trained.by_class if trained else [],
        "scored": result.scored,
        "positive": result.positive,
        "mean_uplift": result.mean_uplift,
        "customers": [c.__dict__ for c in result.customers],
    }


@router.get(
    "/segments/{segment_id}/uplift",
    response={200: SegmentUpliftOut, **ERRORS},
    summary="Rank a segment's customers by predicted uplift",
)
def get_segment_uplift(request: HttpRequest, segment_id: Id, params: Query[UpliftParams]):
    """Who to target next: an uplift model learned from launched campaigns' members
    (docs/campaigns.md#uplift) applied to the segment's customers you see."""
    segment = segments().filter(pk=segment_id).first()
    if segment is None:
        raise not_found(_("There is no segment %(id)s.") % {"id": segment_id})
    result = segment_uplift(user_of(request), segment, channel=params.channel, top=params.limit)
    return uplift_data(segment, result)
