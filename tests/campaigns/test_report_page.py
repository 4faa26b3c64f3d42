"""The campaign report page: tables, the sentence, the chart's option, languages, who may."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from patron.analytics.lift import Estimate
from patron.campaigns.models import Campaign
from patron.campaigns.report_views import summary_sentence
from patron.campaigns.results import response_window
from tests.campaigns.launched import launched_campaign, member
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    """40 treatment members of whom 30 respond, 40 control members of whom 4 respond."""
    campaign = launched_campaign(cost="1000")
    start, _end = response_window(campaign)
    product = make_product(price=1234, cost=200)
    for i in range(80):
        c = make_customer()
        group = "treatment" if i < 40 else "control"
        member(campaign, c, group, value_class="most_valuable" if i % 2 else "other", skipped="budget" if i == 39 else "")
        if i < 30 or 40 <= i < 44:
            make_order(c, product=product, at=start + timedelta(days=1))
    return campaign


def _chart(page: str) -> dict:
    match = re.search(r'<script id="chart-response" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the chart's option is missing"
    return json.loads(match.group(1))


def test_page_shows_groups_differences_and_chart(client, maya, campaign):
    client.force_login(maya)
    page = client.get(reverse("campaign-report", args=[campaign.pk])).content.decode()
    assert "The campaign raised the response rate by 65.0 points" in page
    assert 'data-testid="report-groups"' in page and 'data-testid="report-classes"' in page
    assert "of which skipped by the contact budget" in page
    assert "37,020" in page  # treatment revenue: 30 x 1,234, grouped
    option = _chart(page)
    treatment, control = option["series"]
    assert treatment["type"] == "boxplot"
    low, _q1, rate, _q3, high = treatment["data"][0]
    assert rate == 75.0 and low < rate < high
    assert control["data"][0][2] == 10.0
    assert 'data-echarts="chart-response"' in page
    assert "<script>" not in page.split("</head>")[1]  # no inline script (Content-Security-Policy)


def test_page_in_simplified_chinese(client, maya, campaign):
    client.force_login(maya)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("campaign-report", args=[campaign.pk])).content.decode()
    assert "活动使响应率提高了" in page
    assert "The campaign raised" not in page
    assert "37,020" in page


def test_not_distinguishable_sentence():
    with translation.override("en"):
        text = summary_sentence(Estimate(0.02, -0.01, 0.05))
        assert "not distinguishable from no effect" in text and "2.0" in text
        assert "lowered the response rate by 3.0" in summary_sentence(Estimate(-0.03, -0.05, -0.01))
        assert "not enough members" in summary_sentence(Estimate(0.1, None, None))


def test_refresh_button_and_who_may(client, maya, alice, campaign):
    url = reverse("campaign-report", args=[campaign.pk])
    client.force_login(alice)
    assert client.get(url).status_code == 403
    client.force_login(maya)
    assert client.post(url).status_code == 302
    campaign.refresh_from_db()
    assert campaign.report_at is not None
    draft = Campaign.objects.create(name="Draft", channel="email", starts_on=campaign.starts_on,
                                    ends_on=campaign.ends_on)
    page = client.get(reverse("campaign-report", args=[draft.pk])).content.decode()
    assert 'data-testid="report-none"' in page
    assert client.get(reverse("campaign-report", args=[999999])).status_code == 404
