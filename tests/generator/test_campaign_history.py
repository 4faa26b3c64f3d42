"""Generated campaign history: the rows it writes, and that the uplift per value class the
generator planted (``TRUE_UPLIFT``) is what the estimates recover.

Tolerances: the difference of response rates must hold the true uplift within its own 95%
interval for every class (seeded data: a deterministic check of an unbiased estimator); the
two-model learner's mean prediction per class within 3.5 standard errors of that difference
(a chance miss about 1 in 2,000 per class).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from patron.analytics.uplift import TwoModelUplift, uplift_by_group
from patron.campaigns.models import Campaign, CampaignMember
from patron.campaigns.uplift import FEATURES, history_frame
from patron.core.audit import AuditEntry
from patron.generator.campaign_history import (
    MARGIN_SHARE,
    TRUE_UPLIFT,
    CampaignHistoryError,
    generate_campaign_history,
)
from patron.generator.writer import generate_dataset

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SEED = 41


@pytest.fixture(autouse=True)
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def history(db):
    dataset = generate_dataset(2_000, seed=SEED)
    result = generate_campaign_history(seed=SEED, campaigns=5, members=2_000, dataset=dataset)
    dataset.refresh_from_db()
    return dataset, result


def test_rows_written(history):
    dataset, result = history
    campaigns = Campaign.objects.filter(pk__in=result.campaigns)
    assert campaigns.count() == 5
    assert set(campaigns.values_list("status", flat=True)) == {"launched"}
    members = CampaignMember.objects.filter(campaign__in=campaigns)
    assert members.count() == result.members == 10_000
    control = members.filter(group="control")
    # 30% control: 3,000 expected, binomial sd 46.
    assert abs(control.count() - 3_000) < 4 * 46
    assert not control.filter(contacted=True).exists()
    assert not members.filter(group="treatment", contacted=False).exists()
    responders = members.filter(responded_at__isnull=False)
    assert responders.exists()
    assert not members.filter(responded_at__isnull=True, revenue__gt=0).exists()
    assert not responders.filter(revenue__lte=0).exists()
    # Every response within the campaign's window after its launch.
    for c in campaigns:
        window = members.filter(campaign=c, responded_at__isnull=False)
        assert not window.filter(Q(responded_at__lt=c.launched_at) | Q(responded_at__gt=c.launched_at + timedelta(days=30))).exists()
    row = responders.first()
    assert float(row.margin) == pytest.approx(float(row.revenue) * MARGIN_SHARE, abs=0.006)
    # Every value class of the planted truth occurs; the truth is recorded on the data set.
    assert set(members.values_list("value_class", flat=True)) == set(TRUE_UPLIFT)
    assert dataset.truth["campaigns"]["true_uplift"] == TRUE_UPLIFT
    assert dataset.truth["campaigns"]["campaign_ids"] == result.campaigns
    assert AuditEntry.objects.filter(action="campaigns.generate").count() == 1


def test_estimates_recover_the_planted_uplift(history):
    frame = history_frame()
    table = uplift_by_group(frame, "value_class", "treated", "responded").set_index("group")
    model = TwoModelUplift().fit(frame, FEATURES, "treated", "responded")
    predicted = frame.assign(u=model.predict_uplift(frame)).groupby("value_class")["u"].mean()
    for cls, true in TRUE_UPLIFT.items():
        row = table.loc[cls]
        assert row["low"] <= true <= row["high"], (cls, row.to_dict())
        se = (row["high"] - row["low"]) / (2 * 1.959964)
        assert abs(predicted[cls] - true) < 3.5 * se, (cls, predicted[cls], true, se)


def test_same_seed_same_history(history):
    _dataset, first = history
    before = list(
        CampaignMember.objects.filter(campaign__in=first.campaigns)
        .order_by("campaign__name", "customer_id")
        .values_list("customer_id", "group", "responded_at", "revenue")
    )
    again = generate_campaign_history(seed=SEED, campaigns=5, members=2_000)
    assert Campaign.objects.count() == 5  # the earlier ones replaced
    after = list(
        CampaignMember.objects.filter(campaign__in=again.campaigns)
        .order_by("campaign__name", "customer_id")
        .values_list("customer_id", "group", "responded_at", "revenue")
    )
    # Launch times follow "now": compare the groups and revenues, and who responded.
    assert [(a, b, c is None, d) for a, b, c, d in before] == [(a, b, c is None, d) for a, b, c, d in after]


def test_replace_removes_the_generated_campaigns(history):
    generate_dataset(500, seed=SEED, replace=True)
    assert not Campaign.objects.exists()
    assert not CampaignMember.objects.exists()


def test_refusals(db):
    with pytest.raises(CampaignHistoryError, match="no customers"):
        generate_campaign_history(seed=999, campaigns=1)
    with pytest.raises(CampaignHistoryError, match="at least 1"):
        generate_campaign_history(seed=SEED, campaigns=0)


def test_command_option(db, capsys):
    call_command("generate", customers=300, seed=7, campaigns=2, campaign_members=100, no_progress=True)
    assert "Campaign history: 2 campaigns, 200 members." in capsys.readouterr().out
    sizes = Campaign.objects.annotate(n=Count("members")).values_list("n", flat=True)
    assert sorted(sizes) == [100, 100]
    # 70% treated: 140 expected, binomial sd 6.5.
    assert abs(CampaignMember.objects.filter(group="treatment").count() - 140) < 4 * 6.5
    assert not CampaignMember.objects.filter(group="control", contacted=True).exists()
