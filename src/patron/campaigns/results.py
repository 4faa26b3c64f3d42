"""A launched campaign's results: who responded in the response window, what they brought, and
the report's sums, stored on the campaign so that reading the report never touches its members.

The response window (the same for every member, treatment and control alike, so the two groups
are measured over the same days)::

    start = the later of the launch and the start of ``starts_on`` (site time zone)
    end   = start + response_window_days            (orders with start <= ordered_at < end)

A member **responds** when they order in the window (``response_source = "order"``,
``responded_at`` their first order in it) or when a response is recorded through the API
(``"api"``, kept as recorded). ``revenue`` is the base revenue of their orders in the window plus
any revenue recorded with an API response; ``margin`` is base revenue minus base cost of goods of
those orders (a recorded revenue has no known cost, so it adds no margin).

``campaign_responses_refresh`` recounts every member with one aggregation over the orders in
the window, writes only the members whose figures changed (``core.bulk``), then stores in
``Campaign.report`` one cell of sums per (group, contact status, value class at launch):
members, responders, and the sum and sum of squares of revenue and of margin. Every figure of
the report (``campaigns.report``) is a sum of cells, so none needs the rows again.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, Count, DecimalField, F, Min, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.campaigns.models import Campaign, CampaignMember
from patron.core import bulk
from patron.core.audit import audit_record, diff, snapshot
from patron.core.models import User
from patron.customers.models import Customer
from patron.customers.selectors import visible_customers

SOURCE_ORDER = "order"
SOURCE_API = "api"
REPORT_VERSION = 1
CENT = Decimal("0.01")
# The periodic refresh keeps recounting a campaign for this long after its window closed, so
# orders entered late (an import of last week's sales) still count.
LATE_ORDERS = timedelta(days=1)


def response_window(campaign: Campaign) -> tuple[datetime, datetime] | None:
    """``(start, end)`` of the campaign's response window; ``None`` before launch."""
    if campaign.launched_at is None:
        return None
    starts = timezone.make_aware(datetime.combine(campaign.starts_on, time.min))
    start = max(campaign.launched_at, starts)
    return start, start + timedelta(days=campaign.response_window_days)


def _window(campaign: Campaign) -> tuple[datetime, datetime]:
    window = response_window(campaign) if campaign.status == Campaign.Status.LAUNCHED else None
    if window is None:
        raise ValidationError(_("The campaign has not been launched: it has no results yet."), code="not_launched")
    return window


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _attributed(
    campaign: Campaign, start: datetime, end: datetime
) -> dict[int, tuple[datetime | None, Decimal, Decimal]]:
    """member id -> (first order, revenue, margin) of the orders in the window: one aggregation.

    The filter and the aggregates share one join to the orders, so only orders in the window count.
    """
    rows = (
        CampaignMember.objects.filter(
            campaign=campaign, customer__orders__ordered_at__gte=start, customer__orders__ordered_at__lt=end
        )
        .order_by()
        .values("pk")
        .annotate(
            first=Min("customer__orders__ordered_at"),
            s_revenue=Sum("customer__orders__base_revenue"),
            s_margin=Sum(F("customer__orders__base_revenue") - F("customer__orders__base_cost_of_goods")),
        )
        .values_list("pk", "first", "s_revenue", "s_margin")
    )
    return {pk: (first, _money(revenue), _money(margin)) for pk, first, revenue, margin in rows}


def _recount_members(campaign: Campaign, start: datetime, end: datetime) -> int:
    """Set each member's response, revenue and margin from the orders in the window; returns how
    many members changed. Members with nothing before or after are not read."""
    attributed = _attributed(campaign, start, end)
    zero = Decimal(0)
    current: dict[int, tuple[datetime | None, str, Decimal, Decimal, Decimal]] = {
        pk: (responded_at, source, revenue, margin, recorded)
        for pk, responded_at, source, revenue, margin, recorded in CampaignMember.objects.filter(campaign=campaign)
        .exclude(responded_at=None, revenue=0, margin=0, recorded_revenue=0)
        .values_list("pk", "responded_at", "response_source", "revenue", "margin", "recorded_revenue")
    }
    changed: list[list[Any]] = []
    for pk in attributed.keys() | current.keys():
        responded_at, source, revenue, margin, recorded = current.get(pk, (None, "", zero, zero, zero))
        first, order_revenue, order_margin = attributed.get(pk, (None, zero, zero))
        new: tuple[datetime | None, str]
        if source == SOURCE_API:
            new = (responded_at, SOURCE_API)  # a recorded response stands whatever the orders say
        else:
            new = (first, SOURCE_ORDER if first is not None else "")
        row = [*new, _money(order_revenue + recorded), _money(order_margin)]
        if row != [responded_at, source, _money(revenue), _money(margin)]:
            changed.append([*row, pk])
    bulk.update(CampaignMember, ["responded_at", "response_source", "revenue", "margin"], changed)
    return len(changed)


def _cells(campaign: Campaign) -> list[dict[str, Any]]:
    """The report's sums per (group, contact status, value class), in one aggregation."""
    status = Case(
        When(contacted=True, then=Value("contacted")),
        When(skipped_reason="", then=Value("pending")),
        default=Value("skipped"),
    )
    money = DecimalField(max_digits=30, decimal_places=4)
    rows = (
        CampaignMember.objects.filter(campaign=campaign)
        .order_by()
        .annotate(status=status)
        .values("group", "status", "value_class")
        .annotate(
            # Named apart from the fields: F("revenue") must mean the member's, not the sum.
            n=Count("pk"),
            n_responded=Count("responded_at"),
            s_revenue=Coalesce(Sum("revenue"), Value(0), output_field=money),
            q_revenue=Coalesce(Sum(F("revenue") * F("revenue"), output_field=money), Value(0), output_field=money),
            s_margin=Coalesce(Sum("margin"), Value(0), output_field=money),
            q_margin=Coalesce(Sum(F("margin") * F("margin"), output_field=money), Value(0), output_field=money),
        )
    )
    cells = []
    for r in rows:
        cells.append({
            "group": r["group"], "status": r["status"], "value_class": r["value_class"] or "",
            "members": int(r["n"]), "responders": int(r["n_responded"]),
            "revenue": float(r["s_revenue"]), "revenue_sq": float(r["q_revenue"]),
            "margin": float(r["s_margin"]), "margin_sq": float(r["q_margin"]),
        })
    cells.sort(key=lambda c: (c["group"], c["status"], c["value_class"]))
    return cells


def campaign_responses_refresh(*, campaign: Campaign) -> Campaign:
    """Recount the members' responses from the orders in the window and store the report's sums.

    Idempotent: a second run with no new orders changes no member and stores the same sums.
    """
    start, end = _window(campaign)
    with transaction.atomic():
        changed = _recount_members(campaign, start, end)
    # The sums are read after the commit, outside the write transaction: on SQLite its lock
    # would stop every other writer for the scan of all members (seconds at a million), and a
    # read sees one consistent state of the members anyway.
    cells = _cells(campaign)
    now = timezone.now()
    campaign.report = {
        "version": REPORT_VERSION,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "cells": cells,
        "members_changed": changed,
    }
    campaign.report_at = now
    Campaign.objects.filter(pk=campaign.pk).update(report=campaign.report, report_at=now)
    return campaign


def campaigns_to_refresh(now: datetime | None = None) -> QuerySet[Campaign]:
    """Launched campaigns whose window has started and closed at most ``LATE_ORDERS`` ago.

    The bound on the launch is loose (the window starts on ``starts_on`` if later), the exact
    test is made per campaign by ``campaigns_refresh_due``."""
    now = now or timezone.now()
    return Campaign.objects.filter(status=Campaign.Status.LAUNCHED, launched_at__lte=now).order_by("pk")


def campaigns_refresh_due(now: datetime | None = None) -> list[int]:
    """The periodic job's work: refresh each campaign whose window is open or closed within a
    day; returns their ids."""
    now = now or timezone.now()
    done = []
    for campaign in campaigns_to_refresh(now):
        window = response_window(campaign)
        if window is None or not window[0] <= now < window[1] + LATE_ORDERS:
            continue
        campaign_responses_refresh(campaign=campaign)
        done.append(campaign.pk)
    return done


def campaign_response_record(
    *, campaign: Campaign, customer: Customer, at: datetime, revenue: Decimal | None = None, user: User
) -> CampaignMember:
    """Record that ``customer`` responded to ``campaign`` at ``at`` (a redemption the orders do
    not show), with the revenue it brought outside Patron's orders if known.

    Recording again replaces the time and the recorded revenue. The response must fall within
    the window and not in the future; the customer must be a member and one ``user`` sees.
    The stored report changes at the next refresh.
    """
    start, end = _window(campaign)
    if not visible_customers(user).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("You do not see this customer."))
    if timezone.is_naive(at):
        raise ValidationError({"at": [_("Give the time with its time zone.")]}, code="invalid")
    if not start <= at < end:
        raise ValidationError(
            {"at": [_("The response must fall within the campaign's response window (%(start)s to %(end)s).")
                    % {"start": start.isoformat(), "end": end.isoformat()}]},
            code="outside_window",
        )
    if at > timezone.now():
        raise ValidationError({"at": [_("A response cannot be recorded in the future.")]}, code="invalid")
    if revenue is not None and (not revenue.is_finite() or revenue < 0 or revenue >= Decimal(10) ** 12):
        raise ValidationError({"revenue": [_("Revenue must be a non-negative amount.")]}, code="invalid")
    recorded = _money(revenue)
    with transaction.atomic():
        member = (
            CampaignMember.objects.select_for_update().filter(campaign=campaign, customer=customer).first()
        )
        if member is None:
            raise ValidationError(_("This customer is not a member of the campaign."), code="not_member")
        before = snapshot(member, ["responded_at", "response_source", "recorded_revenue", "revenue"])
        member.revenue = _money(member.revenue - member.recorded_revenue + recorded)
        member.recorded_revenue = recorded
        member.responded_at = at
        member.response_source = SOURCE_API
        changed = diff(before, member)
        if changed:
            member.save(update_fields=list(changed))
            audit_record(
                "campaign.response", obj=member, customer_id=customer.pk,
                changes={"campaign": campaign.pk, "group": member.group, **changed},
            )
    return member
