"""REST endpoints of a campaign's results, mounted at /api/v1/campaigns.

- ``GET /campaigns/{id}/report``: the report as of its last refresh (``as_of``), read from the
  sums stored on the campaign (a report never computed is computed on this first read).
- ``POST /campaigns/{id}/report/refresh``: recount the responses now.
- ``POST /campaigns/{id}/responses``: record a member's response (a redemption the orders do not
  show); the report includes it from the next refresh.

A report is aggregate over all the campaign's members: ``core.roles.can_read_campaign_reports``
(the roles that see every customer, and managers) read and refresh it; recording a response is
``can_record_campaign_responses``, for a customer the caller sees (404 otherwise).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Status

from patron.analytics.lift import Estimate, GroupSums
from patron.campaigns.models import Campaign
from patron.campaigns.report import CampaignReport, campaign_report
from patron.campaigns.results import campaign_response_record, campaign_responses_refresh
from patron.core.apikit import (
    ApiError,
    ErrorOut,
    Id,
    InputSchema,
    Moment,
    Money,
    OutputSchema,
    forbidden,
    not_found,
)
from patron.core.models import User
from patron.core.roles import can_read_campaign_reports, can_record_campaign_responses, user_of
from patron.customers.apikit import visible_customer

router = Router(tags=["campaigns"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class LiftEstimateOut(OutputSchema):
    estimate: float | None
    ci_low: float | None = Field(description="Lower end of the 95% confidence interval.")
    ci_high: float | None = Field(description="Upper end of the 95% confidence interval.")


class GroupOut(OutputSchema):
    members: int
    responders: int
    response_rate: float | None = Field(description="responders / members, 0-1.")
    revenue: float = Field(description="Revenue in the window, base currency.")
    margin: float = Field(description="Revenue minus cost of goods of orders in the window, base currency.")
    revenue_per_member: float | None
    margin_per_member: float | None


class GroupsOut(OutputSchema):
    treatment: GroupOut = Field(description="Every treatment member: contacted, skipped and pending.")
    control: GroupOut = Field(description="Never contacted.")
    contacted: GroupOut = Field(description="Treatment members contacted.")
    skipped: GroupOut = Field(description="Treatment members the contact budget or consent skipped.")
    pending: GroupOut = Field(description="Treatment members not contacted yet.")


class DifferenceOut(OutputSchema):
    response_rate: LiftEstimateOut
    revenue_per_member: LiftEstimateOut
    margin_per_member: LiftEstimateOut


class PerContactedOut(DifferenceOut):
    share: float | None = Field(description="Contacted members / treatment members.")


class ReportValueClassOut(OutputSchema):
    value_class: str = Field(description="Value class at launch; empty: not scored at launch.")
    treatment: GroupOut
    control: GroupOut
    difference: DifferenceOut
    incremental_margin: LiftEstimateOut


class ReportOut(OutputSchema):
    campaign_id: int
    name: str
    segment_id: int | None
    as_of: datetime = Field(description="When the figures were computed.")
    window_start: datetime
    window_end: datetime
    window_open: bool
    cost: float
    groups: GroupsOut
    difference: DifferenceOut = Field(description="Treatment - control, every member of each (intention to treat).")
    incremental_margin: LiftEstimateOut = Field(description="Margin per member difference x treatment members.")
    roi: LiftEstimateOut | None = Field(description="(incremental margin - cost) / cost; null when the cost is 0.")
    per_contacted: PerContactedOut = Field(description="The difference per contacted member (difference / share).")
    by_value_class: list[ReportValueClassOut]


class CampaignResponseIn(InputSchema):
    customer_id: Id
    at: Moment = Field(description="When the customer responded; within the response window, not in the future.")
    revenue: Money | None = Field(None, description="Revenue the response brought outside Patron's orders.")


class CampaignResponseOut(OutputSchema):
    campaign_id: int
    customer_id: int
    group: str
    responded_at: datetime | None
    response_source: str
    revenue: Decimal
    recorded_revenue: Decimal


def _estimate(e: Estimate) -> dict[str, Any]:
    return {"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}


def _group(g: GroupSums) -> dict[str, Any]:
    return {
        "members": g.members, "responders": g.responders, "response_rate": g.response_rate,
        "revenue": round(g.revenue, 2), "margin": round(g.margin, 2),
        "revenue_per_member": g.revenue_per_member, "margin_per_member": g.margin_per_member,
    }


def report_data(r: CampaignReport) -> dict[str, Any]:
    lift = r.lift
    difference = {k: _estimate(getattr(lift, k)) for k in ("response_rate", "revenue_per_member", "margin_per_member")}
    pc = r.per_contacted
    return {
        "campaign_id": r.campaign.pk,
        "name": r.campaign.name,
        "segment_id": r.campaign.segment_id,
        "as_of": r.as_of,
        "window_start": r.window_start,
        "window_end": r.window_end,
        "window_open": r.window_open,
        "cost": r.cost,
        "groups": {k: _group(getattr(r, k)) for k in ("treatment", "control", "contacted", "skipped", "pending")},
        "difference": difference,
        "incremental_margin": _estimate(lift.incremental_margin),
        "roi": _estimate(lift.roi) if lift.roi is not None else None,
        "per_contacted": {
            "share": pc.share,
            "response_rate": _estimate(pc.response_rate),
            "revenue_per_member": _estimate(pc.revenue_per_member),
            "margin_per_member": _estimate(pc.margin_per_member),
        },
        "by_value_class": [
            {
                "value_class": b.value_class,
                "treatment": _group(b.treatment),
                "control": _group(b.control),
                "difference": {k: _estimate(getattr(b.lift, k))
                               for k in ("response_rate", "revenue_per_member", "margin_per_member")},
                "incremental_margin": _estimate(b.lift.incremental_margin),
            }
            for b in r.by_value_class
        ],
    }


def _launched(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise not_found(_("There is no campaign %(id)s.") % {"id": campaign_id})
    if campaign.status != Campaign.Status.LAUNCHED or campaign.launched_at is None:
        raise ApiError(409, "not_launched", _("The campaign has not been launched: it has no results yet."))
    return campaign


def _require_reader(user: User) -> None:
    if not can_read_campaign_reports(user):
        raise forbidden(_("Your role does not read campaign reports."))


def report_of(campaign: Campaign) -> CampaignReport:
    """The stored report; computed first if it never was (a campaign launched since the last refresh)."""
    report = campaign_report(campaign)
    if report is None:
        report = campaign_report(campaign_responses_refresh(campaign=campaign))
    assert report is not None
    return report


@router.get("/{campaign_id}/report", response={200: ReportOut, **ERRORS}, summary="Get a campaign's report")
def get_report(request: HttpRequest, campaign_id: Id):
    """Per group, the differences treatment - control with 95% intervals, incremental margin,
    ROI and the breakdown by value class at launch, as of ``as_of`` (see docs/campaigns.md)."""
    _require_reader(user_of(request))
    return report_data(report_of(_launched(campaign_id)))


@router.post("/{campaign_id}/report/refresh", response={200: ReportOut, **ERRORS}, summary="Refresh a campaign's report")
def refresh_report(request: HttpRequest, campaign_id: Id):
    """Recount the responses from the orders in the window now, and answer the new report."""
    _require_reader(user_of(request))
    campaign = campaign_responses_refresh(campaign=_launched(campaign_id))
    return report_data(report_of(campaign))


@router.post("/{campaign_id}/responses", response={201: CampaignResponseOut, **ERRORS}, summary="Record a response")
def record_response(request: HttpRequest, campaign_id: Id, body: CampaignResponseIn):
    """Record that a member responded (recording again replaces the time and the revenue)."""
    user = user_of(request)
    # The customer first: one outside the caller's visibility is a 404 whatever the role.
    customer = visible_customer(user, body.customer_id)
    if not can_record_campaign_responses(user):
        raise forbidden(_("Your role does not record campaign responses."))
    campaign = _launched(campaign_id)
    member = campaign_response_record(
        campaign=campaign, customer=customer, at=body.at, revenue=body.revenue, user=user
    )
    return Status(201, {
        "campaign_id": campaign.pk, "customer_id": customer.pk, "group": member.group,
        "responded_at": member.responded_at, "response_source": member.response_source,
        "revenue": member.revenue, "recorded_revenue": member.recorded_revenue,
    })
