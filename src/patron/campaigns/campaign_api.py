"""REST endpoints for campaigns under /api/v1/campaigns.

Every signed-in user reads campaigns and their group counts; members, the call list and the
mailing file list only the customers the caller sees (``visible_customers``). Creating,
changing, deleting and launching are for ``core.roles.can_manage_campaigns`` (administrators,
managers, marketers); the writes go through ``campaigns.campaign_services``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from patron.campaigns.campaign_selectors import (
    call_list,
    campaign_counts,
    campaign_members,
    campaigns,
    mailing_csv,
    members_csv,
    reaches_by,
    skipped_by_reason,
)
from patron.campaigns.campaign_services import (
    campaign_create,
    campaign_delete,
    campaign_launch,
    campaign_update,
)
from patron.campaigns.models import Campaign, CampaignChannel, CampaignMember
from patron.core.apikit import (
    ApiError,
    Changes,
    Day,
    ErrorOut,
    Id,
    InputSchema,
    OutputSchema,
    Page,
    forbidden,
    not_found,
    paginate,
)
from patron.core.audit import audit_record
from patron.core.models import User
from patron.core.roles import can_manage_campaigns, user_of

router = Router(tags=["campaigns"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
Channel = Literal["email", "phone", "mail"]


class CampaignIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=100)
    segment_id: Id
    channel: Channel
    use_preferred_channel: bool = Field(
        False, description="Reach each member on their preferred channel (learned from past contacts); "
        "`channel` for those with no history."
    )
    offer: str = Field("", max_length=200)
    offer_product_id: Id | None = Field(
        None, description="A cross-sell campaign's product (its segment: likely_to_buy that product)."
    )
    subject: str = Field("", max_length=200, description="The email's subject (default: the name).")
    message: str = Field("", max_length=10_000, description="The email's text; the offer follows it.")
    starts_on: Day
    ends_on: Day
    response_window_days: int = Field(30, ge=1, le=365)
    control_share: float = Field(0.1, description="The share of each value class held out as control, in (0, 1).")
    cost: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2)


class CampaignPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    segment_id: Id | None = None
    channel: Channel | None = None
    use_preferred_channel: bool | None = None
    offer: str | None = Field(None, max_length=200)
    offer_product_id: Id | None = None
    subject: str | None = Field(None, max_length=200)
    message: str | None = Field(None, max_length=10_000)
    starts_on: Day | None = None
    ends_on: Day | None = None
    response_window_days: int | None = Field(None, ge=1, le=365)
    control_share: float | None = None
    cost: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)


class LaunchIn(InputSchema):
    seed: int | None = Field(None, ge=0, lt=2**62, description="The split's random seed (default: a random one).")


class CampaignOut(OutputSchema):
    id: int
    name: str
    segment_id: int | None
    channel: str
    use_preferred_channel: bool
    offer: str
    offer_product_id: int | None
    subject: str
    message: str
    starts_on: str
    ends_on: str
    response_window_days: int
    control_share: float
    cost: Decimal
    status: str
    seed: int | None
    launched_at: datetime | None
    launched_by: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class CampaignDetailOut(CampaignOut):
    members: int
    treatment: int
    control: int
    contacted: int
    skipped: dict[str, int] = Field(description="Treatment members not contacted, per reason.")


class LaunchOut(OutputSchema):
    campaign_id: int
    seed: int
    treatment: int
    control: int
    contacted: int
    skipped: dict[str, int] = Field(description="Treatment members not contacted, per reason.")
    channels: dict[str, int] = Field(description="Treatment members contacted, per channel.")


class MemberOut(OutputSchema):
    customer_id: int
    group: str
    contacted: bool
    skipped_reason: str
    channel: str
    value_class: str = Field(description="At the launch, as are clv, churn_risk, p_alive and rfm_segment.")
    clv: float | None
    churn_risk: float | None
    p_alive: float | None
    rfm_segment: str
    contacted_at: datetime | None
    responded_at: datetime | None
    revenue: Decimal = Field(description="In the response window, base currency; so is margin.")
    margin: Decimal


class CallOut(OutputSchema):
    member_id: int
    customer_id: int
    name: str
    phone: str
    value_class: str
    clv: float | None
    offer: str
    called_at: datetime | None


class CampaignPageParams(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


class MemberParams(CampaignPageParams):
    group: Literal["treatment", "control"] | None = None
    skipped: bool | None = Field(None, description="true: only the skipped; false: only the others.")
    format: Literal["json", "csv"] = Field("json", description="csv streams every matching member (not one page).")


def campaign_data(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk, "name": campaign.name, "segment_id": campaign.segment_id, "channel": campaign.channel,
        "use_preferred_channel": campaign.use_preferred_channel,
        "offer": campaign.offer, "offer_product_id": campaign.offer_product_id, "subject": campaign.subject, "message": campaign.message,
        "starts_on": campaign.starts_on.isoformat(), "ends_on": campaign.ends_on.isoformat(),
        "response_window_days": campaign.response_window_days, "control_share": campaign.control_share,
        "cost": campaign.cost, "status": campaign.status, "seed": campaign.seed, "launched_at": campaign.launched_at,
        "launched_by": campaign.launched_by.username if campaign.launched_by else None,
        "created_by": campaign.created_by.username if campaign.created_by else None,
        "created_at": campaign.created_at, "updated_at": campaign.updated_at,
    }


def _detail(campaign: Campaign) -> dict[str, Any]:
    counts = campaign_counts(campaign)
    return {
        **campaign_data(campaign), "members": counts.members, "treatment": counts.treatment,
        "control": counts.control, "contacted": counts.contacted, "skipped": skipped_by_reason(campaign),
    }


def _campaign(campaign_id: int) -> Campaign:
    campaign = campaigns().filter(pk=campaign_id).first()
    if campaign is None:
        raise not_found(_("There is no campaign %(id)s.") % {"id": campaign_id})
    return campaign


def _require_manager(user: User) -> None:
    if not can_manage_campaigns(user):
        raise forbidden(_("Your role reads campaigns but does not create, change or launch them."))


def _member_data(rows: list[CampaignMember]) -> list[dict[str, Any]]:
    return [
        {"customer_id": m.customer_id, "group": m.group, "contacted": m.contacted, "skipped_reason": m.skipped_reason,
         "channel": m.channel, "value_class": m.value_class, "clv": m.clv, "churn_risk": m.churn_risk,
         "p_alive": m.p_alive, "rfm_segment": m.rfm_segment, "contacted_at": m.contacted_at,
         "responded_at": m.responded_at, "revenue": m.revenue, "margin": m.margin}
        for m in rows
    ]


def _conflict(exc: ValidationError) -> ApiError | None:
    code = getattr(exc, "code", None)
    if code in {"already_launched", "launched"}:
        return ApiError(409, code, " ".join(exc.messages))
    return None


@router.get("/campaigns", response={200: Page[CampaignOut], **ERRORS}, summary="List campaigns")
def list_campaigns(request: HttpRequest, params: Query[CampaignPageParams]):
    """Every campaign, newest first (their counts: GET /campaigns/{id})."""
    return paginate(request, campaigns(), params, lambda rows: [campaign_data(c) for c in rows])  # type: ignore[arg-type]


@router.post("/campaigns", response={201: CampaignDetailOut, **ERRORS}, summary="Create a campaign")
def create_campaign(request: HttpRequest, body: CampaignIn):
    """A draft; ``control_share`` lies strictly between 0 and 1 (default 0.1)."""
    user = user_of(request)
    _require_manager(user)
    campaign = campaign_create(values=body.model_dump(), created_by=user)
    return Status(201, _detail(campaign))


@router.get("/campaigns/{campaign_id}", response={200: CampaignDetailOut, **ERRORS}, summary="Get a campaign")
def get_campaign(request: HttpRequest, campaign_id: Id):
    return _detail(_campaign(campaign_id))


@router.patch("/campaigns/{campaign_id}", response={200: CampaignDetailOut, **ERRORS}, summary="Change a campaign")
def patch_campaign(request: HttpRequest, campaign_id: Id, body: CampaignPatch):
    """A draft's fields; after the launch only the name (other fields: 409 ``launched``)."""
    _require_manager(user_of(request))
    campaign = _campaign(campaign_id)
    try:
        campaign_update(campaign=campaign, changes=Changes.of(body).values)
    except ValidationError as exc:
        raise _conflict(exc) or exc from None
    return _detail(campaign)


@router.delete("/campaigns/{campaign_id}", response={204: None, **ERRORS}, summary="Delete a draft campaign")
def delete_campaign(request: HttpRequest, campaign_id: Id):
    _require_manager(user_of(request))
    try:
        campaign_delete(campaign=_campaign(campaign_id))
    except ValidationError as exc:
        raise _conflict(exc) or exc from None
    return Status(204, None)


@router.post("/campaigns/{campaign_id}/launch", response={200: LaunchOut, **ERRORS}, summary="Launch a campaign")
def launch_campaign(request: HttpRequest, campaign_id: Id, body: LaunchIn | None = None):
    """Freeze the segment's members you see, split them into treatment and control within each
    value class, apply consent and the contact budget to the treatment group and send (email:
    queued for the worker). 409 ``already_launched``; 422 ``empty_segment``."""
    user = user_of(request)
    _require_manager(user)
    campaign = _campaign(campaign_id)
    try:
        result = campaign_launch(campaign=campaign, user=user, seed=body.seed if body else None)
    except ValidationError as exc:
        raise _conflict(exc) or exc from None
    return {
        "campaign_id": campaign.pk, "seed": campaign.seed, "treatment": result.treatment, "control": result.control,
        "contacted": result.contacted, "skipped": result.skipped, "channels": result.channels,
    }


@router.get("/campaigns/{campaign_id}/members", response={200: Page[MemberOut], **ERRORS}, summary="List a campaign's members")
def list_campaign_members(request: HttpRequest, campaign_id: Id, params: Query[MemberParams]):
    """The members among the customers you see, in the order they were frozen, with the scores
    each had at the launch; `format=csv` streams them all (formula-safe cells)."""
    user, campaign = user_of(request), _campaign(campaign_id)
    if params.format == "csv":
        audit_record("export.api", object_type="campaignmember", changes={"format": "csv", "campaign_id": campaign.pk})
        return streamed_csv(members_csv(user, campaign, group=params.group, skipped=params.skipped),
                            f"campaign-{campaign.pk}-members.csv")
    qs = campaign_members(user, campaign, group=params.group, skipped=params.skipped)
    return paginate(request, qs, params, _member_data)  # type: ignore[arg-type]


@router.get("/campaigns/{campaign_id}/skipped", response={200: Page[MemberOut], **ERRORS}, summary="Who was skipped and why")
def list_campaign_skipped(request: HttpRequest, campaign_id: Id, params: Query[CampaignPageParams]):
    """Treatment members consent or the contact budget kept from contact, with the reason
    (no_consent, no_email, no_phone, no_address, erased, budget), among the customers you see."""
    qs = campaign_members(user_of(request), _campaign(campaign_id), skipped=True)
    return paginate(request, qs, params, _member_data)  # type: ignore[arg-type]


@router.get("/campaigns/{campaign_id}/call-list", response={200: Page[CallOut], **ERRORS}, summary="A phone campaign's call list")
def list_campaign_calls(request: HttpRequest, campaign_id: Id, params: Query[CampaignPageParams]):
    """The treatment members to call among the customers you see (a rep: the ones they own)."""
    campaign = _campaign(campaign_id)
    if not reaches_by(campaign, CampaignChannel.PHONE):
        raise ApiError(422, "not_phone", _("Only a phone campaign has a call list."))

    def render(rows: list[CampaignMember]) -> list[dict[str, Any]]:
        return [
            {"member_id": m.pk, "customer_id": m.customer_id, "name": m.customer.name, "phone": m.customer.phone,
             "value_class": m.value_class, "clv": m.clv, "offer": campaign.offer, "called_at": m.contacted_at}
            for m in rows
        ]

    return paginate(request, call_list(user_of(request), campaign), params, render)  # type: ignore[arg-type]


@router.get(
    "/campaigns/{campaign_id}/mailing.csv",
    response={200: None, **ERRORS},
    summary="A mail campaign's file for the mailing house",
    openapi_extra={"responses": {200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}},
)
def campaign_mailing_csv(request: HttpRequest, campaign_id: Id):
    """customer_id, name, address, city, offer for each treatment member cleared for mail that
    you see; UTF-8 with a BOM, formula-safe cells."""
    user = user_of(request)
    _require_manager(user)
    campaign = _campaign(campaign_id)
    if not reaches_by(campaign, CampaignChannel.MAIL):
        raise ApiError(422, "not_mail", _("Only a mail campaign has a mailing file."))
    return mailing_response(user, campaign)


def streamed_csv(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    """A CSV download streamed from ``lines`` (the campaign files; list exports go through ingest.export)."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def mailing_response(user: User, campaign: Campaign) -> StreamingHttpResponse:
    """The mailing file, for the page and the API alike; the export is audit-logged (names and addresses)."""
    audit_record("export.mailing", object_type="campaignmember", changes={"format": "csv", "campaign_id": campaign.pk})
    return streamed_csv(mailing_csv(user, campaign), f"campaign-{campaign.pk}-mailing.csv")
