"""Launched campaigns and their members written directly, as the launch and the results leave them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from patron.campaigns.models import Campaign, CampaignMember
from patron.customers.models import Customer


def launched(*, channel: str = "email", offer: str = "10% off", days_ago: int = 60, window: int = 30,
             **fields: Any) -> Campaign:
    at = timezone.now() - timedelta(days=days_ago)
    return Campaign.objects.create(
        name=f"{channel} {offer}", channel=channel, offer=offer, status=Campaign.Status.LAUNCHED, launched_at=at,
        starts_on=at.date(), ends_on=at.date() + timedelta(days=7), response_window_days=window, seed=1, **fields,
    )


def member(campaign: Campaign, customer: Customer, *, group: str = "treatment", value_class: str = "other",
           responded: bool = False, margin: str = "0", channel: str | None = None) -> CampaignMember:
    treated = group == "treatment"
    return CampaignMember.objects.create(
        campaign=campaign, customer=customer, group=group, value_class=value_class,
        channel=channel or campaign.channel, contacted=treated,
        contacted_at=campaign.launched_at if treated else None,
        responded_at=(campaign.launched_at or timezone.now()) + timedelta(days=3) if responded else None,
        margin=Decimal(margin) if responded else Decimal(0),
        revenue=Decimal(margin) * 2 if responded else Decimal(0),
    )
