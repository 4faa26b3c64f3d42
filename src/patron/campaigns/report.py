"""The campaign report, read from the sums ``campaigns.results`` stored on the campaign: no query
over its members, whatever their number.

Groups. **Treatment** is every member drawn into the treatment group: those contacted, those the
contact budget (or consent) skipped, and those not contacted yet. **Control** members are never
contacted. The headline comparison is intention to treat (all treatment vs all control): the
draw was random, so the two groups differ only by the campaign, skipped members included.
Comparing only the contacted members with the control group would not be fair, because whom the
budget skips is not random (those contacted recently). The skipped members are shown apart,
and the effect **per contacted member** is the intention-to-treat difference divided by the
share of the treatment group contacted (Bloom 1984: the skipped, never reached, are assumed to
respond as they would have without the campaign); its interval is scaled the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from patron.analytics.lift import NONE, Estimate, GroupSums, Lift, campaign_lift
from patron.campaigns.models import Campaign, CampaignGroup

VALUE_CLASSES = ("most_valuable", "most_growable", "other", "below_zero", "")  # "" not scored at launch
_SUMS = ("members", "responders", "revenue", "revenue_sq", "margin", "margin_sq")


def _sums(cells: Iterable[dict[str, Any]]) -> GroupSums:
    total = GroupSums()
    for c in cells:
        total = total + GroupSums(*(c[k] for k in _SUMS))
    return total


@dataclass(frozen=True)
class PerContacted:
    share: float | None  # contacted members / treatment members
    response_rate: Estimate
    revenue_per_member: Estimate
    margin_per_member: Estimate


@dataclass(frozen=True)
class Breakdown:
    value_class: str
    treatment: GroupSums
    control: GroupSums
    lift: Lift


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    as_of: datetime
    window_start: datetime
    window_end: datetime
    cost: float
    treatment: GroupSums
    control: GroupSums
    contacted: GroupSums
    skipped: GroupSums
    pending: GroupSums
    lift: Lift
    per_contacted: PerContacted
    by_value_class: list[Breakdown]

    @property
    def window_open(self) -> bool:
        return timezone.now() < self.window_end


def _per_contacted(lift: Lift, contacted: int, treatment: int) -> PerContacted:
    share = contacted / treatment if treatment else None
    if not share:
        return PerContacted(share, NONE, NONE, NONE)
    return PerContacted(
        share,
        lift.response_rate.scaled(1 / share),
        lift.revenue_per_member.scaled(1 / share),
        lift.margin_per_member.scaled(1 / share),
    )


def campaign_report(campaign: Campaign) -> CampaignReport | None:
    """The report as of the last refresh, or ``None`` when it has never been computed."""
    stored = campaign.report or {}
    if campaign.report_at is None or stored.get("version") != 1:
        return None
    cells = stored["cells"]
    treatment_cells = [c for c in cells if c["group"] == CampaignGroup.TREATMENT]
    control_cells = [c for c in cells if c["group"] == CampaignGroup.CONTROL]
    treatment, control = _sums(treatment_cells), _sums(control_cells)
    cost = float(campaign.cost)
    lift = campaign_lift(treatment, control, cost)
    contacted = _sums(c for c in treatment_cells if c["status"] == "contacted")
    by_class = []
    for vc in VALUE_CLASSES:
        t = _sums(c for c in treatment_cells if c["value_class"] == vc)
        k = _sums(c for c in control_cells if c["value_class"] == vc)
        if t.members or k.members:
            # The cost is the whole campaign's: no ROI per class.
            by_class.append(Breakdown(vc, t, k, campaign_lift(t, k, 0.0)))
    start, end = parse_datetime(stored["window"]["start"]), parse_datetime(stored["window"]["end"])
    assert start is not None and end is not None
    return CampaignReport(
        campaign=campaign,
        as_of=campaign.report_at,
        window_start=start,
        window_end=end,
        cost=cost,
        treatment=treatment,
        control=control,
        contacted=contacted,
        skipped=_sums(c for c in treatment_cells if c["status"] == "skipped"),
        pending=_sums(c for c in treatment_cells if c["status"] == "pending"),
        lift=lift,
        per_contacted=_per_contacted(lift, contacted.members, treatment.members),
        by_value_class=by_class,
    )
