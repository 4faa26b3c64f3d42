"""``POST /api/v1/campaigns/simulate``: a campaign's expected result before it is sent.

Mounted by ``config.api`` at the prefix ``/campaigns`` on a router of its own, ahead of any
router with ``/campaigns/{id}``, so "simulate" never reaches a campaign's id. For the roles that
build segments (``core.roles.can_edit_segments``); the segment is counted within the caller's
visibility. See docs/campaigns.md, "Simulation".
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router

from patron.campaigns.models import Segment
from patron.campaigns.simulation import WINDOW_MAX, simulate_campaign
from patron.commerce.models import Product
from patron.core.apikit import ApiError, ErrorOut, Id, InputSchema, OutputSchema, forbidden
from patron.core.roles import can_edit_segments, user_of

router = Router(tags=["campaigns"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut}


class SimulateIn(InputSchema):
    segment_id: Id
    channel: Literal["email", "phone", "mail"]
    offer: str = Field("", max_length=200, description="The offer's text; may be empty with offer_product_id.")
    offer_product_id: Id | None = Field(None, description="The product offered (a cross-sell campaign).")
    control_share: float = Field(0.1, gt=0, lt=1, allow_inf_nan=False)
    cost: float | None = Field(
        None, ge=0, le=1e12, allow_inf_nan=False,
        description="The campaign's cost (base currency); none: the history's cost per contacted member.",
    )
    response_window_days: int = Field(30, ge=1, le=WINDOW_MAX)


class SimulatedEstimateOut(OutputSchema):
    value: float
    low: float
    high: float


class SimulatedValueClassOut(OutputSchema):
    value_class: str
    members: int
    treatment_members: int
    response_rate: float
    control_rate: float
    incremental_margin: float


class SimulationOut(OutputSchema):
    basis: Literal["history", "prior"] = Field(description="history: learned from past campaigns; prior: a guess.")
    match: Literal["offer", "channel", "none"] = Field(
        description="offer: campaigns of the same channel and offer; channel: of the channel only (no campaign "
        "with this offer yet); none: no history."
    )
    campaigns_used: int
    running_campaigns_used: int = Field(description="Of those, campaigns whose response window is still open.")
    history_members: int
    segment_members: int = Field(description="The segment's members among the customers you see.")
    treatment_members: int
    control_members: int
    level: float = Field(description="The intervals' probability (0.95: 2.5% and 97.5% quantiles).")
    expected_responders: SimulatedEstimateOut
    response_rate: SimulatedEstimateOut
    control_rate: SimulatedEstimateOut
    incremental_responders: SimulatedEstimateOut
    incremental_margin: SimulatedEstimateOut
    cost: float
    cost_basis: Literal["given", "history", "none"]
    roi: SimulatedEstimateOut | None = Field(description="(incremental margin - cost) / cost; none when the cost is 0.")
    by_value_class: list[SimulatedValueClassOut]


def _field_error(field: str, message: str) -> ApiError:
    text = f"body.{field}: {message}"
    return ApiError(422, "invalid", text, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


@router.post("/simulate", response={200: SimulationOut, **ERRORS}, summary="Simulate a campaign")
def simulate(request: HttpRequest, body: SimulateIn):
    """The expected responders, response rate, incremental margin and ROI of sending the offer on
    the channel to the segment, with intervals, learned from earlier campaigns of that channel
    and offer (including those still running) or, without any, a prior guess."""
    user = user_of(request)
    if not can_edit_segments(user):
        raise forbidden(_("Your role uses segments but does not plan campaigns."))
    segment = Segment.objects.filter(pk=body.segment_id).first()
    if segment is None:
        raise _field_error("segment_id", _("There is no segment %(id)s.") % {"id": body.segment_id})
    product = None
    if body.offer_product_id is not None:
        product = Product.objects.filter(pk=body.offer_product_id).first()
        if product is None:
            raise _field_error("offer_product_id", _("There is no product %(id)s.") % {"id": body.offer_product_id})
    if not body.offer.strip() and product is None:
        raise _field_error("offer", _("Say what is offered (or give offer_product_id)."))
    return simulate_campaign(
        user=user, segment=segment, channel=body.channel, offer=body.offer, offer_product=product,
        control_share=body.control_share, cost=body.cost, response_window_days=body.response_window_days,
    )
