"""Responses counted from the orders in the window, recorded ones kept, the stored sums, the job."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patron.analytics.lift import GroupSums
from patron.campaigns.models import CampaignMember
from patron.campaigns.report import campaign_report
from patron.campaigns.results import (
    campaign_response_record,
    campaign_responses_refresh,
    campaigns_refresh_due,
    response_window,
)
from patron.commerce.models import Order
from patron.core import scheduler
from patron.core.models import AuditEntry
from tests.campaigns.launched import launched_campaign, member
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return make_product(price=100, cost=60)


def _m(campaign, customer) -> CampaignMember:
    return CampaignMember.objects.get(campaign=campaign, customer=customer)


def test_orders_inside_the_window_count_for_both_groups(product):
    campaign = launched_campaign()
    start, end = response_window(campaign)
    inside, before, after, control, silent = (make_customer() for _ in range(5))
    for c, group in [(inside, "treatment"), (before, "treatment"), (after, "treatment"), (control, "control"),
                     (silent, "control")]:
        member(campaign, c, group)
    make_order(inside, product=product, at=start + timedelta(hours=1))
    make_order(inside, product=product, quantity=2, at=start + timedelta(days=2))
    make_order(before, product=product, at=start - timedelta(minutes=1))
    make_order(control, product=product, at=start + timedelta(days=1))
    # After the window: a window of 30 days that closed; move this order past it directly.
    late = make_order(after, product=product, at=start + timedelta(days=1))
    Order.objects.filter(pk=late.pk).update(ordered_at=end)

    campaign_responses_refresh(campaign=campaign)

    m = _m(campaign, inside)
    assert m.responded_at == start + timedelta(hours=1)  # the first order in the window
    assert m.response_source == "order"
    assert (m.revenue, m.margin) == (Decimal("300.00"), Decimal("120.00"))
    assert _m(campaign, before).responded_at is None and _m(campaign, before).revenue == 0
    assert _m(campaign, after).responded_at is None
    c = _m(campaign, control)
    assert c.responded_at is not None and (c.revenue, c.margin) == (Decimal("100.00"), Decimal("40.00"))
    assert _m(campaign, silent).responded_at is None


def test_window_starts_at_the_later_of_launch_and_start_day():
    now = timezone.now()
    early = launched_campaign(launched_at=now - timedelta(days=3), starts_on=timezone.localdate(now) + timedelta(days=2))
    start, end = response_window(early)
    assert timezone.localtime(start).date() == timezone.localdate(now) + timedelta(days=2)
    assert timezone.localtime(start).time().hour == 0
    assert end - start == timedelta(days=30)
    late = launched_campaign(launched_at=now - timedelta(days=1), starts_on=timezone.localdate(now) - timedelta(days=9))
    assert response_window(late)[0] == late.launched_at


def test_a_moved_order_no_longer_counts_and_refresh_is_idempotent(product):
    campaign = launched_campaign()
    start, _end = response_window(campaign)
    customer = make_customer()
    member(campaign, customer)
    order = make_order(customer, product=product, at=start + timedelta(days=1))
    campaign_responses_refresh(campaign=campaign)
    assert _m(campaign, customer).responded_at is not None
    assert campaign_responses_refresh(campaign=campaign).report["members_changed"] == 0
    Order.objects.filter(pk=order.pk).update(ordered_at=start - timedelta(days=10))
    campaign_responses_refresh(campaign=campaign)
    m = _m(campaign, customer)
    assert (m.responded_at, m.response_source, m.revenue, m.margin) == (None, "", 0, 0)


def test_a_recorded_response_is_kept_and_its_revenue_added(product, root):
    campaign = launched_campaign()
    start, _end = response_window(campaign)
    customer = make_customer()
    member(campaign, customer, "control")
    at = start + timedelta(days=2)
    campaign_response_record(campaign=campaign, customer=customer, at=at, revenue=Decimal("25.50"), user=root)
    make_order(customer, product=product, at=start + timedelta(days=1))
    campaign_responses_refresh(campaign=campaign)
    m = _m(campaign, customer)
    assert (m.responded_at, m.response_source) == (at, "api")  # the recorded response stands
    assert m.revenue == Decimal("125.50") and m.margin == Decimal("40.00")  # recorded revenue adds no margin
    # Recording again replaces the time and the revenue (not added twice).
    campaign_response_record(campaign=campaign, customer=customer, at=at, revenue=Decimal("10"), user=root)
    assert _m(campaign, customer).revenue == Decimal("110.00")
    entry = AuditEntry.objects.filter(action="campaign.response").latest("pk")
    assert entry.customer_id == customer.pk and entry.changes["recorded_revenue"] == ["25.50", "10.00"]


def test_recording_refuses_bad_input(root, alice):
    campaign = launched_campaign()
    start, _end = response_window(campaign)
    customer, outsider = make_customer(), make_customer()
    member(campaign, customer)
    with pytest.raises(ValidationError) as outside:
        campaign_response_record(campaign=campaign, customer=customer, at=start - timedelta(seconds=1), user=root)
    assert "at" in outside.value.message_dict
    with pytest.raises(ValidationError):
        campaign_response_record(campaign=campaign, customer=customer, at=timezone.now() + timedelta(hours=1),
                                 user=root)
    with pytest.raises(ValidationError) as not_member:
        campaign_response_record(campaign=campaign, customer=outsider, at=start, user=root)
    assert not_member.value.code == "not_member"
    with pytest.raises(ValidationError):
        campaign_response_record(campaign=campaign, customer=customer, at=start, revenue=Decimal(-1), user=root)
    assert not AuditEntry.objects.filter(action="campaign.response").exists()


def test_stored_sums_equal_a_recount_from_the_rows(product):
    rng = random.Random(5)
    campaign = launched_campaign(cost="500")
    start, _end = response_window(campaign)
    classes = ["most_valuable", "most_growable", "other", "below_zero", ""]
    for i in range(60):
        customer = make_customer()
        group = "control" if i % 4 == 0 else "treatment"
        skipped = "budget" if group == "treatment" and i % 7 == 0 else ""
        member(campaign, customer, group, value_class=rng.choice(classes), skipped=skipped)
        for _ in range(rng.choice([0, 0, 1, 2])):
            make_order(customer, product=product, quantity=rng.randint(1, 3), at=start + timedelta(hours=rng.randint(1, 200)))
    campaign_responses_refresh(campaign=campaign)
    report = campaign_report(campaign)

    def recount(**filters) -> GroupSums:
        rows = CampaignMember.objects.filter(campaign=campaign, **filters)
        rev = [float(m.revenue) for m in rows]
        mar = [float(m.margin) for m in rows]
        return GroupSums(len(rev), sum(m.responded_at is not None for m in rows), sum(rev),
                         sum(r * r for r in rev), sum(mar), sum(x * x for x in mar))

    def same(a: GroupSums, b: GroupSums) -> None:
        assert (a.members, a.responders) == (b.members, b.responders)
        for k in ("revenue", "revenue_sq", "margin", "margin_sq"):
            assert getattr(a, k) == pytest.approx(getattr(b, k))

    same(report.treatment, recount(group="treatment"))
    same(report.control, recount(group="control"))
    same(report.skipped, recount(group="treatment", skipped_reason="budget"))
    same(report.contacted, recount(group="treatment", contacted=True))
    assert report.treatment.members == 45 and report.skipped.members > 0 and report.pending.members == 0
    for b in report.by_value_class:
        same(b.treatment, recount(group="treatment", value_class=b.value_class))
    assert report.treatment.responders > 0
    # ITT includes the skipped; the per-contacted effect is the ITT effect over the contacted share.
    share = report.contacted.members / report.treatment.members
    assert report.per_contacted.share == pytest.approx(share)
    assert report.per_contacted.response_rate.estimate == pytest.approx(report.lift.response_rate.estimate / share)
    assert report.lift.roi is not None
    assert report.lift.roi.estimate == pytest.approx((report.lift.incremental_margin.estimate - 500) / 500)
    assert report.lift.incremental_margin.estimate == pytest.approx(
        (report.treatment.margin / 45 - report.control.margin / 15) * 45)


def test_roi_is_none_without_a_cost():
    campaign = launched_campaign(cost="0")
    member(campaign, make_customer())
    member(campaign, make_customer(), "control")
    campaign_responses_refresh(campaign=campaign)
    report = campaign_report(campaign)
    assert report.lift.roi is None
    assert report.lift.incremental_margin.estimate == 0


def test_a_draft_has_no_results():
    campaign = launched_campaign()
    campaign.status = "draft"
    with pytest.raises(ValidationError):
        campaign_responses_refresh(campaign=campaign)


def test_the_job_refreshes_open_and_just_closed_windows_only():
    now = timezone.now()
    open_ = launched_campaign(launched_at=now - timedelta(days=2))
    just_closed = launched_campaign(launched_at=now - timedelta(days=30, hours=12))
    long_closed = launched_campaign(launched_at=now - timedelta(days=60))
    not_started = launched_campaign(launched_at=now - timedelta(days=1), starts_on=timezone.localdate(now) + timedelta(days=3))
    assert campaigns_refresh_due(now) == [open_.pk, just_closed.pk]
    for c in (long_closed, not_started):
        c.refresh_from_db()
        assert c.report_at is None
    assert "campaign_results_refresh" in {job.name for job in scheduler.jobs()}
