"""Reads of campaigns. A campaign's definition and its group counts are shared; its members are
listed only for the customers the reader sees (``of_visible_customers``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from patron.campaigns.models import Campaign, CampaignChannel, CampaignGroup, CampaignMember
from patron.core.cells import csv_cell
from patron.core.models import User
from patron.customers.selectors import of_visible_customers

# Why a treatment member was not contacted (``feedback.contact_policy``'s codes), for pages.
SKIP_REASONS = {
    "no_consent": _("No consent"),
    "no_email": _("No email address"),
    "no_phone": _("No phone number"),
    "no_address": _("No postal address"),
    "erased": _("Erased"),
    "budget": _("Contact budget reached"),
    "fatigue": _("Contacted too recently"),
}


def skip_label(reason: str) -> str:
    return str(SKIP_REASONS.get(reason, reason))


def campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("segment", "created_by", "launched_by").order_by("-created_at", "-pk")


@dataclass(frozen=True)
class CampaignCounts:
    members: int = 0
    treatment: int = 0
    control: int = 0
    contacted: int = 0
    skipped: int = 0


def campaign_counts(campaign: Campaign) -> CampaignCounts:
    """The campaign's group counts (figures, not people: the same for every reader): stored at
    the launch; counted from the members for a campaign launched without them (generated history)."""
    if campaign.status != Campaign.Status.LAUNCHED:
        return CampaignCounts()
    stored = campaign.launch_counts
    if stored:
        return CampaignCounts(
            members=stored["members"], treatment=stored["treatment"], control=stored["control"],
            contacted=stored["contacted"], skipped=sum(stored["skipped"].values()),
        )
    row = CampaignMember.objects.filter(campaign=campaign).aggregate(
        members=Count("pk"),
        treatment=Count("pk", filter=Q(group=CampaignGroup.TREATMENT)),
        control=Count("pk", filter=Q(group=CampaignGroup.CONTROL)),
        contacted=Count("pk", filter=Q(contacted=True)),
        skipped=Count("pk", filter=~Q(skipped_reason="")),
    )
    return CampaignCounts(**{k: int(v or 0) for k, v in row.items()})


def member_counts(listed: list[Campaign]) -> dict[int, int]:
    """Members per campaign, for a page of campaigns: stored at the launch, the others counted in one query."""
    out = {c.pk: int(c.launch_counts["members"]) for c in listed if c.launch_counts}
    uncounted = [c.pk for c in listed if not c.launch_counts]
    rows = CampaignMember.objects.filter(campaign_id__in=uncounted).values("campaign_id").annotate(n=Count("pk"))
    return out | {row["campaign_id"]: row["n"] for row in rows}


def skipped_by_reason(campaign: Campaign) -> dict[str, int]:
    if campaign.launch_counts:
        return dict(sorted(campaign.launch_counts["skipped"].items()))
    rows = (
        CampaignMember.objects.filter(campaign=campaign).exclude(skipped_reason="")
        .values("skipped_reason").annotate(n=Count("pk")).order_by("skipped_reason")
    )
    return {row["skipped_reason"]: row["n"] for row in rows}


def campaign_members(
    user: User, campaign: Campaign, *, group: str | None = None, skipped: bool | None = None
) -> QuerySet[CampaignMember]:
    """The members of the customers ``user`` sees, in member order."""
    qs = of_visible_customers(CampaignMember.objects.filter(campaign=campaign), user)
    if group:
        qs = qs.filter(group=group)
    if skipped is True:
        qs = qs.exclude(skipped_reason="")
    elif skipped is False:
        qs = qs.filter(skipped_reason="")
    return qs.order_by("pk")


def reaches_by(campaign: Campaign, channel: str) -> bool:
    """Whether members of ``campaign`` may be reached on ``channel``: its own channel, or any
    channel when it uses each customer's preferred one."""
    return campaign.channel == channel or campaign.use_preferred_channel


def call_list(user: User, campaign: Campaign) -> QuerySet[CampaignMember]:
    """The treatment members to call (cleared for contact, reached by phone), among the
    customers ``user`` sees (a rep: the customers they own), with what the rep needs on the line."""
    return (
        campaign_members(user, campaign, group=CampaignGroup.TREATMENT)
        .filter(contacted=True, channel=CampaignChannel.PHONE)
        .select_related("customer")
    )


MAILING_HEADER = ["customer_id", "name", "address", "city", "offer"]
# A member's export: who, which group and channel, the scores frozen at the launch, the contact
# and the response.
MEMBER_COLUMNS = [
    "customer_id", "name", "group", "channel", "value_class", "clv", "churn_risk", "p_alive", "rfm_segment",
    "contacted", "contacted_at", "skipped_reason", "responded_at", "response_source", "revenue", "margin",
]


def _csv_stream(header: list[str], rows: Iterator[list[object]]) -> Iterator[str]:
    """UTF-8 with a BOM (so spreadsheets read Chinese names), every cell formula-safe, flushed
    every 1,000 lines so a million rows stream in constant memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield "\ufeff" + flush()
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in row])
        if n % 1000 == 0:
            yield flush()
    yield flush()


def mailing_csv(user: User, campaign: Campaign) -> Iterator[str]:
    """The mailing house's file: one line per treatment member cleared for mail that ``user`` sees."""
    def rows() -> Iterator[list[object]]:
        if not reaches_by(campaign, CampaignChannel.MAIL):
            return
        members = (
            campaign_members(user, campaign, group=CampaignGroup.TREATMENT)
            .filter(contacted=True, channel=CampaignChannel.MAIL)
            .values_list("customer_id", "customer__name", "customer__address", "customer__city")
        )
        for values in members.iterator(chunk_size=5000):
            yield [*values, campaign.offer]

    return _csv_stream(MAILING_HEADER, rows())


def members_csv(user: User, campaign: Campaign, *, group: str | None = None, skipped: bool | None = None) -> Iterator[str]:
    """Every member ``user`` sees (``MEMBER_COLUMNS``), in member order."""
    fields = ["customer_id", "customer__name", *MEMBER_COLUMNS[2:]]
    members = campaign_members(user, campaign, group=group, skipped=skipped).values_list(*fields)
    return _csv_stream(MEMBER_COLUMNS, (list(values) for values in members.iterator(chunk_size=5000)))
