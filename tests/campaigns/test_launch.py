"""A campaign's launch: the stratified, seeded split, consent and the contact budget over the
treatment group, the refusals that leave everything as it was, the audit entries."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patron.campaigns.campaign_selectors import campaign_counts, member_counts, skipped_by_reason
from patron.campaigns.campaign_services import (
    campaign_create,
    campaign_delete,
    campaign_launch,
    campaign_update,
    split_groups,
)
from patron.campaigns.models import Campaign, CampaignMember
from patron.campaigns.services import segment_create
from patron.core.models import AuditEntry
from patron.feedback.models import ContactLog, ContactRule
from tests.campaigns.conftest import scored
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _values(segment, **over):
    values = {
        "name": "Spring offer", "segment_id": segment.pk, "channel": "email", "offer": "10% off",
        "subject": "Spring", "message": "Hello", "starts_on": date(2026, 3, 1), "ends_on": date(2026, 3, 31),
        "control_share": 0.2,
    }
    values.update(over)
    return values


def _book(n_per_class=(("high", 50), ("medium", 30), ("low", 20)), *, owner=None, email=True):
    people = []
    for value_class, n in n_per_class:
        for i in range(n):
            customer = make_customer(
                f"{value_class}-{i}", owner=owner, email=f"{value_class}{i}@example.com" if email else "",
                consent_email=email, phone="+852 9123 0000", address="1 Main St",
            )
            scored(customer, value_class=value_class, clv=100.0 + i, churn_risk=0.3, p_alive=0.8, rfm_segment="loyal")
            people.append(customer)
    return people


@pytest.fixture
def everyone(db):
    return segment_create(name="Everyone", filter={}, created_by=None)


def _groups(campaign):
    return dict(CampaignMember.objects.filter(campaign=campaign).values_list("customer_id", "group"))


def test_split_is_stratified_by_value_class_with_the_documented_rounding(everyone, root):
    _book()
    campaign = campaign_create(values=_values(everyone, control_share=0.1), created_by=root)
    result = campaign_launch(campaign=campaign, user=root, seed=7)
    per_class = Counter(CampaignMember.objects.filter(campaign=campaign, group="control").values_list("value_class", flat=True))
    # floor(n * 0.1 + 0.5): 50 -> 5, 30 -> 3, 20 -> 2
    assert per_class == {"high": 5, "medium": 3, "low": 2}
    assert (result.treatment, result.control) == (90, 10)
    campaign.refresh_from_db()
    assert campaign.status == "launched" and campaign.seed == 7 and campaign.launched_by == root


def test_split_rounding_half_up_and_small_strata():
    strata = np.array([0] * 5 + [1] * 4 + [2] * 1)
    control = split_groups(strata, 0.1, seed=1)
    assert [int(control[strata == k].sum()) for k in (0, 1, 2)] == [1, 0, 0]  # 0.5 -> 1, 0.4 -> 0, 0.1 -> 0


def test_the_same_seed_gives_the_same_groups_and_another_seed_others(everyone, root):
    _book()
    first = campaign_create(values=_values(everyone), created_by=root)
    second = campaign_create(values=_values(everyone), created_by=root)
    third = campaign_create(values=_values(everyone), created_by=root)
    campaign_launch(campaign=first, user=root, seed=42)
    campaign_launch(campaign=second, user=root, seed=42)
    campaign_launch(campaign=third, user=root, seed=43)
    assert _groups(first) == _groups(second)
    assert _groups(first) != _groups(third)


def test_members_keep_their_scores_at_launch(everyone, root):
    [customer] = _book((("high", 1),))
    campaign = campaign_launch(campaign=campaign_create(values=_values(everyone), created_by=root), user=root, seed=1).campaign
    member = CampaignMember.objects.get(campaign=campaign, customer=customer)
    assert (member.value_class, member.clv, member.churn_risk, member.p_alive, member.rfm_segment) == (
        "high", 100.0, 0.3, 0.8, "loyal"
    )


def test_control_is_never_contacted_and_treatment_is_logged(everyone, root):
    _book()
    campaign = campaign_create(values=_values(everyone), created_by=root)
    result = campaign_launch(campaign=campaign, user=root, seed=3)
    members = CampaignMember.objects.filter(campaign=campaign)
    assert not members.filter(group="control", contacted=True).exists()
    assert members.filter(group="treatment", contacted=True).count() == result.contacted == result.treatment
    logged = set(ContactLog.objects.filter(ref=f"campaign:{campaign.pk}").values_list("customer_id", flat=True))
    assert logged == set(members.filter(contacted=True).values_list("customer_id", flat=True))
    assert ContactLog.objects.filter(ref=f"campaign:{campaign.pk}", purpose="campaign", channel="email").count() == result.contacted


def test_consent_and_budget_skip_with_reasons(everyone, root):
    people = _book((("high", 10),))
    no_consent = make_customer("Quiet", email="quiet@example.com", consent_email=False)
    no_email = make_customer("Paper", consent_email=True)
    tired = people[0]
    ContactRule.objects.create(name="One campaign a month", purpose="campaign", max_contacts=1, window_days=30)
    ContactLog.objects.create(customer=tired, channel="email", purpose="campaign", contacted_at=timezone.now() - timedelta(days=3))
    campaign = campaign_create(values=_values(everyone, control_share=0.01), created_by=root)
    result = campaign_launch(campaign=campaign, user=root, seed=5)
    reasons = dict(CampaignMember.objects.filter(campaign=campaign).values_list("customer_id", "skipped_reason"))
    assert reasons[no_consent.pk] == "no_consent"
    assert reasons[no_email.pk] == "no_email"
    assert reasons[tired.pk] == "budget"
    assert result.skipped == {"budget": 1, "no_consent": 1, "no_email": 1}
    assert not CampaignMember.objects.filter(campaign=campaign, skipped_reason__gt="", contacted=True).exists()


def test_phone_needs_a_number_and_mail_an_address(everyone, root):
    make_customer("No phone", address="2 High St")
    make_customer("No address", phone="+1 415 555 0100")
    phone = campaign_launch(campaign=campaign_create(values=_values(everyone, channel="phone", control_share=0.01), created_by=root), user=root, seed=1)
    mail = campaign_launch(campaign=campaign_create(values=_values(everyone, channel="mail", control_share=0.01), created_by=root), user=root, seed=1)
    assert phone.skipped == {"no_phone": 1} and mail.skipped == {"no_address": 1}
    # The mailing file is the sending: its members count as contacted at the launch.
    assert CampaignMember.objects.get(campaign=mail.campaign, contacted=True).contacted_at is not None
    assert CampaignMember.objects.get(campaign=phone.campaign, contacted=True).contacted_at is None


def test_launching_twice_is_refused_and_changes_nothing(everyone, root):
    _book((("high", 10),))
    campaign = campaign_create(values=_values(everyone), created_by=root)
    campaign_launch(campaign=campaign, user=root, seed=1)
    before = (_groups(campaign), ContactLog.objects.count(), AuditEntry.objects.count())
    stale = Campaign.objects.get(pk=campaign.pk)
    stale.status = "draft"  # a copy read before the first launch committed
    for copy in (campaign, stale):
        with pytest.raises(ValidationError) as err:
            campaign_launch(campaign=copy, user=root, seed=2)
        assert err.value.code == "already_launched"
    assert (_groups(campaign), ContactLog.objects.count(), AuditEntry.objects.count()) == before


def test_an_empty_segment_is_refused_and_writes_nothing(root, alice):
    make_customer("Not Alice's")
    segment = segment_create(name="All", filter={}, created_by=None)
    campaign = campaign_create(values=_values(segment), created_by=root)
    with pytest.raises(ValidationError) as err:
        campaign_launch(campaign=campaign, user=alice, seed=1)  # alice sees none of them
    assert err.value.code == "empty_segment"
    campaign.refresh_from_db()
    assert campaign.status == "draft" and campaign.seed is None
    assert not CampaignMember.objects.exists() and not ContactLog.objects.exists()


def test_the_launch_uses_the_launching_users_visibility(root, alice):
    mine = make_customer("Mine", owner=alice, email="m@example.com", consent_email=True)
    make_customer("Other", email="o@example.com", consent_email=True)
    segment = segment_create(name="All", filter={}, created_by=None)
    campaign = campaign_create(values=_values(segment), created_by=root)
    campaign_launch(campaign=campaign, user=alice, seed=1)
    assert list(CampaignMember.objects.values_list("customer_id", flat=True)) == [mine.pk]


@pytest.mark.parametrize("share", [0, 1, 1.5, -0.1, True])
def test_control_share_outside_zero_one_is_refused(everyone, root, share):
    with pytest.raises(ValidationError) as err:
        campaign_create(values=_values(everyone, control_share=share), created_by=root)
    assert "control_share" in err.value.message_dict
    assert not Campaign.objects.exists()


def test_dates_channel_and_segment_are_checked(everyone, root):
    cases = {
        "ends_on": {"ends_on": date(2026, 2, 1)},
        "channel": {"channel": "fax"},
        "segment_id": {"segment_id": 999_999},
    }
    for field_name, over in cases.items():
        with pytest.raises(ValidationError) as err:
            campaign_create(values=_values(everyone, **over), created_by=root)
        assert field_name in err.value.message_dict
    assert not Campaign.objects.exists()


def test_drafts_change_and_go_launched_keep_all_but_the_name(everyone, root):
    _book((("high", 3),))
    campaign = campaign_create(values=_values(everyone), created_by=root)
    campaign_update(campaign=campaign, changes={"offer": "20% off", "control_share": 0.3})
    campaign.refresh_from_db()
    assert (campaign.offer, campaign.control_share) == ("20% off", 0.3)
    campaign_launch(campaign=campaign, user=root, seed=1)
    campaign_update(campaign=campaign, changes={"name": "Spring offer 2026"})
    with pytest.raises(ValidationError):
        campaign_update(campaign=campaign, changes={"offer": "free"})
    with pytest.raises(ValidationError):
        campaign_delete(campaign=campaign)
    campaign.refresh_from_db()
    assert (campaign.name, campaign.offer) == ("Spring offer 2026", "20% off")
    draft = campaign_create(values=_values(everyone), created_by=root)
    campaign_delete(campaign=draft)
    assert not Campaign.objects.filter(pk=draft.pk).exists()


def test_audit_one_entry_per_launch_and_one_per_change(everyone, root):
    _book((("high", 10),))
    campaign = campaign_create(values=_values(everyone), created_by=root)
    campaign_update(campaign=campaign, changes={"offer": "Two for one"})
    campaign_launch(campaign=campaign, user=root, seed=9)
    actions = list(AuditEntry.objects.filter(action__startswith="campaign.").values_list("action", flat=True))
    assert sorted(actions) == ["campaign.create", "campaign.launch", "campaign.update"]
    launch = AuditEntry.objects.get(action="campaign.launch")
    member_ids = sorted(CampaignMember.objects.filter(campaign=campaign).values_list("pk", flat=True))
    assert launch.changes["count"] == 10 and launch.changes["ids"] == [[member_ids[0], member_ids[-1]]]
    assert launch.changes["campaign_id"] == campaign.pk and launch.changes["seed"] == 9


def test_the_launch_stores_its_counts_and_the_pages_read_them(everyone, root):
    _book()
    ContactRule.objects.create(name="One a month", purpose="campaign", channel="email", max_contacts=0, window_days=30)
    result = campaign_launch(campaign=campaign_create(values=_values(everyone), created_by=root), user=root, seed=5)
    campaign = Campaign.objects.get(pk=result.campaign.pk)
    stored = campaign.launch_counts
    assert stored == {"members": 100, "treatment": result.treatment, "control": result.control,
                      "contacted": 0, "skipped": {"budget": result.treatment}, "channels": {}}
    # The same figures as counting the members.
    members = CampaignMember.objects.filter(campaign=campaign)
    assert (members.count(), members.filter(group="control").count()) == (100, result.control)
    assert campaign_counts(campaign).skipped == members.exclude(skipped_reason="").count()
    # Read from the campaign, not counted again (changed behind the selectors' back).
    Campaign.objects.filter(pk=campaign.pk).update(launch_counts={**stored, "members": 101})
    campaign.refresh_from_db()
    assert campaign_counts(campaign).members == 101 and member_counts([campaign]) == {campaign.pk: 101}
    assert skipped_by_reason(campaign) == {"budget": result.treatment}
    # Without stored counts (a campaign written by the generator), the members are counted.
    Campaign.objects.filter(pk=campaign.pk).update(launch_counts={})
    campaign.refresh_from_db()
    assert campaign_counts(campaign).members == 100 and member_counts([campaign]) == {campaign.pk: 100}
