"""A campaign simulated before it is sent: the segment's members counted for the caller, the
history of earlier campaigns of the same channel and offer, and ``analytics.campaign_sim``'s model.

Reads, in a fixed number of queries whatever the book's size: the matching campaigns (one query
per matching rule tried), their members' counts and sums per campaign, group and value class
(one grouped query), and the segment's members per value class (one grouped query within the
caller's visibility). See docs/campaigns.md, "Simulation".
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.analytics.campaign_sim import (
    PastGroup,
    SegmentClass,
    exposure,
    recency_weight,
    simulate,
)
from patron.campaigns.models import (
    Campaign,
    CampaignChannel,
    CampaignGroup,
    CampaignMember,
    Segment,
)
from patron.campaigns.selectors import segment_customers
from patron.commerce.models import Product
from patron.core.models import User

DEFAULT_BASE_RATE = 0.05  # P(ordering in the window) for members with no score to tell
WINDOW_MAX = 365

# What the history matched: the same channel and offer, the channel only, or nothing.
MATCH_OFFER, MATCH_CHANNEL, MATCH_NONE = "offer", "channel", "none"


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [f"{field}: {message}"]}, code="invalid")


def _launched(channel: str) -> QuerySet[Campaign]:
    return Campaign.objects.filter(status=Campaign.Status.LAUNCHED, channel=channel, launched_at__isnull=False)


def matching_campaigns(channel: str, offer: str, offer_product: Product | None) -> tuple[str, list[Campaign]]:
    """The launched campaigns to learn from: those of the channel with the same offer text
    (case-insensitive) or the same product offered; failing those, the channel's campaigns."""
    offer = offer.strip()
    same = Q(offer__iexact=offer) if offer else Q(pk__in=[])
    if offer_product is not None:
        same |= Q(offer_product=offer_product)
    fields = ("pk", "launched_at", "response_window_days", "cost")
    matched = list(_launched(channel).filter(same, members__isnull=False).distinct().only(*fields))
    if matched:
        return MATCH_OFFER, matched
    matched = list(_launched(channel).filter(members__isnull=False).distinct().only(*fields))
    return (MATCH_CHANNEL, matched) if matched else (MATCH_NONE, [])


def _history(campaigns: list[Campaign], now: datetime) -> tuple[list[PastGroup], float, float, int]:
    """Per campaign, group and value class: members and responders and the responders' margin
    sums. The treatment counts the members contacted (those the budget skipped got nothing).
    Also the history's cost per contacted member (weighted) and the campaigns still running."""
    by_id = {c.pk: c for c in campaigns}
    responded = Q(responded_at__isnull=False)
    margin = Cast("margin", FloatField())
    rows = (
        CampaignMember.objects.filter(campaign_id__in=list(by_id))
        .filter(Q(group=CampaignGroup.CONTROL) | Q(contacted=True))
        .values("campaign_id", "group", "value_class")
        .annotate(
            members=Count("pk"),
            responders=Count("pk", filter=responded),
            margin_sum=Sum(margin, filter=responded),
            margin_sq=Sum(margin * margin, filter=responded),
            revenue_sum=Sum(Cast("revenue", FloatField()), filter=responded),
        )
        .order_by()
    )
    weights: dict[int, tuple[float, float]] = {}
    for c in campaigns:
        elapsed = (now - (c.launched_at or now)).total_seconds() / 86400  # _launched(): always set
        weights[c.pk] = (recency_weight(elapsed), exposure(elapsed, c.response_window_days))
    history: list[PastGroup] = []
    treated: dict[int, int] = {}
    for row in rows:
        w, e = weights[row["campaign_id"]]
        history.append(PastGroup(
            campaign_id=row["campaign_id"], group=row["group"], value_class=row["value_class"] or "",
            members=row["members"], responders=row["responders"], margin_sum=row["margin_sum"] or 0.0,
            margin_sq=row["margin_sq"] or 0.0, revenue_sum=row["revenue_sum"] or 0.0, weight=w, exposure=e,
        ))
        if row["group"] == CampaignGroup.TREATMENT:
            treated[row["campaign_id"]] = treated.get(row["campaign_id"], 0) + row["members"]
    spent = sum(weights[i][0] * float(by_id[i].cost) for i in treated)
    reached = sum(weights[i][0] * n for i, n in treated.items())
    running = sum(1 for w, e in weights.values() if e < 1.0)
    return history, spent, reached, running


def _segment_classes(user: User, segment: Segment, window_days: int) -> list[SegmentClass]:
    """The segment's members the user sees, per value class, with the prior's base rate
    (``1 - exp(-E90 * window / 90)`` from the scores' expected purchases in the next 90 days)
    and margin per order (profit to date over orders to date)."""
    rows = (
        segment_customers(user, segment.filter)
        .values(vc=Coalesce("score__value_class", Value("")))
        .annotate(
            n=Count("pk"), e90=Avg("score__expected_purchases"),
            profit=Sum(Cast("profit_total", FloatField())), order_total=Sum("order_count"),
        )
        .order_by("vc")
    )
    out = []
    for row in rows:
        e90 = row["e90"]
        base = 1.0 - math.exp(-max(float(e90), 0.0) * window_days / 90.0) if e90 is not None else DEFAULT_BASE_RATE
        orders = int(row["order_total"] or 0)
        per_order = float(row["profit"] or 0.0) / orders if orders else 0.0
        out.append(SegmentClass(str(row["vc"]), int(row["n"]), base_rate=base, margin_per_order=per_order))
    return out


def simulate_campaign(
    *,
    user: User,
    segment: Segment,
    channel: str,
    offer: str = "",
    offer_product: Product | None = None,
    control_share: float = 0.1,
    cost: float | None = None,
    response_window_days: int = 30,
    now: datetime | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The expected result of sending ``offer`` on ``channel`` to ``segment`` (its members as
    ``user`` sees them); ``cost`` None: the history's cost per contacted member times the
    treatment members (0 without history, and no ROI)."""
    if channel not in CampaignChannel.values:
        raise _invalid("channel", _("use one of: %(values)s") % {"values": ", ".join(CampaignChannel.values)})
    if not offer.strip() and offer_product is None:
        raise _invalid("offer", _("say what is offered (or give offer_product_id)"))
    if not 0.0 < control_share < 1.0:
        raise _invalid("control_share", _("must be between 0 and 1 (both excluded)"))
    if cost is not None and not (0 <= cost < 1e12 and math.isfinite(cost)):
        raise _invalid("cost", _("must be 0 or more"))
    if not 1 <= response_window_days <= WINDOW_MAX:
        raise _invalid("response_window_days", _("must be from 1 to %(n)d days") % {"n": WINDOW_MAX})
    now = now or timezone.now()
    match, campaigns = matching_campaigns(channel, offer, offer_product)
    history, spent, reached, running = _history(campaigns, now) if campaigns else ([], 0.0, 0.0, 0)
    classes = _segment_classes(user, segment, response_window_days)
    members = sum(c.members for c in classes)
    treatment = sum(round(c.members * (1 - control_share)) for c in classes)
    if cost is None:
        cost_basis = "history" if reached > 0 else "none"
        cost = spent / reached * treatment if reached > 0 else 0.0
    else:
        cost_basis = "given"
    sim = simulate(classes, history, control_share=control_share, cost=cost, seed=seed)
    if sim.basis == "prior":
        match = MATCH_NONE
    return {
        "basis": sim.basis,
        "match": match,
        "campaigns_used": sim.campaigns,
        "running_campaigns_used": running if sim.basis == "history" else 0,
        "history_members": sim.history_members,
        "segment_members": members,
        "treatment_members": sim.treatment_members,
        "control_members": sim.control_members,
        "level": sim.level,
        "expected_responders": sim.expected_responders.as_dict(1),
        "response_rate": sim.response_rate.as_dict(),
        "control_rate": sim.control_rate.as_dict(),
        "incremental_responders": sim.incremental_responders.as_dict(1),
        "incremental_margin": sim.incremental_margin.as_dict(2),
        "cost": round(sim.cost, 2),
        "cost_basis": cost_basis,
        "roi": sim.roi.as_dict() if sim.roi is not None else None,
        "by_value_class": [dict(row) for row in sim.by_value_class],
    }
