"""A launched campaign built directly (rows, not the launch service): the results' tests need
members in given groups, classes and contact states, not a random draw."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from patron.campaigns.models import Campaign, CampaignMember
from patron.customers.models import Customer


def launched_campaign(
    *,
    launched_at: datetime | None = None,
    starts_on: date | None = None,
    window_days: int = 30,
    cost: str = "0",
    name: str = "Spring offer",
) -> Campaign:
    launched_at = launched_at or timezone.now() - timedelta(days=5)
    starts_on = starts_on or timezone.localdate(launched_at)
    return Campaign.objects.create(
        name=name, channel="email", starts_on=starts_on, ends_on=starts_on + timedelta(days=window_days),
        response_window_days=window_days, cost=Decimal(cost), status=Campaign.Status.LAUNCHED,
        launched_at=launched_at, seed=1,
    )


def member(
    campaign: Campaign, customer: Customer, group: str = "treatment", *, value_class: str = "other",
    contacted: bool | None = None, skipped: str = "",
) -> CampaignMember:
    if contacted is None:
        contacted = group == "treatment" and not skipped
    return CampaignMember.objects.create(
        campaign=campaign, customer=customer, group=group, value_class=value_class, channel="email",
        contacted=contacted, contacted_at=campaign.launched_at if contacted else None, skipped_reason=skipped,
    )
