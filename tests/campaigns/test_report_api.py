"""GET /campaigns/{id}/report, POST /campaigns/{id}/report/refresh and POST /campaigns/{id}/responses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patron.campaigns.models import CampaignMember
from patron.campaigns.results import response_window
from tests.api.conftest import ApiClient, client_for
from tests.campaigns.launched import launched_campaign, member
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_maya(maya) -> ApiClient:
    return client_for(maya)


@pytest.fixture
def book(mia):
    """A campaign of 6 treatment members (one skipped) and 4 control members; 3 + 1 respond."""
    campaign = launched_campaign(cost="100")
    start, _end = response_window(campaign)
    product = make_product(price=100, cost=60)
    customers = [make_customer(owner=mia if i == 0 else None) for i in range(10)]
    for i, c in enumerate(customers):
        group = "treatment" if i < 6 else "control"
        member(campaign, c, group, value_class="most_valuable" if i % 2 else "other", skipped="budget" if i == 5 else "")
        if i in (0, 1, 2, 6):
            make_order(c, product=product, at=start + timedelta(days=1))
    return campaign, customers


def _at(campaign, days: int = 1) -> str:
    return (response_window(campaign)[0] + timedelta(days=days)).isoformat()


def test_report_per_group_with_intervals(as_maya, book):
    campaign, _customers = book
    r = as_maya.get(f"/campaigns/{campaign.pk}/report")
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["as_of"] and data["window_open"] is True
    t, c = data["groups"]["treatment"], data["groups"]["control"]
    assert (t["members"], t["responders"], c["members"], c["responders"]) == (6, 3, 4, 1)
    assert t["response_rate"] == pytest.approx(0.5) and c["response_rate"] == pytest.approx(0.25)
    assert (t["revenue"], t["margin"], c["revenue"], c["margin"]) == (300.0, 120.0, 100.0, 40.0)
    assert data["groups"]["skipped"]["members"] == 1 and data["groups"]["contacted"]["members"] == 5
    rate = data["difference"]["response_rate"]
    assert rate["estimate"] == pytest.approx(0.25)
    assert rate["ci_low"] < 0 < rate["ci_high"]  # 10 members cannot tell
    margin = data["difference"]["margin_per_member"]
    assert margin["estimate"] == pytest.approx(20 - 10)
    assert data["incremental_margin"]["estimate"] == pytest.approx(60.0)
    assert data["roi"]["estimate"] == pytest.approx((60 - 100) / 100)
    assert data["per_contacted"]["share"] == pytest.approx(5 / 6)
    classes = {b["value_class"]: b for b in data["by_value_class"]}
    assert set(classes) == {"most_valuable", "other"}
    assert classes["other"]["treatment"]["members"] + classes["most_valuable"]["treatment"]["members"] == 6


def test_report_reads_the_stored_figures_until_refreshed(as_maya, book):
    campaign, customers = book
    first = as_maya.get(f"/campaigns/{campaign.pk}/report").json()
    make_order(customers[3], product=make_product(), at=response_window(campaign)[0] + timedelta(days=2))
    assert as_maya.get(f"/campaigns/{campaign.pk}/report").json()["groups"]["treatment"]["responders"] == 3
    refreshed = as_maya.post(f"/campaigns/{campaign.pk}/report/refresh")
    assert refreshed.status_code == 200
    assert refreshed.json()["groups"]["treatment"]["responders"] == 4
    assert refreshed.json()["as_of"] >= first["as_of"]


def test_roi_is_null_without_a_cost(as_maya, alice):
    campaign = launched_campaign(cost="0")
    member(campaign, make_customer())
    member(campaign, make_customer(), "control")
    data = as_maya.get(f"/campaigns/{campaign.pk}/report").json()
    assert data["roi"] is None
    assert data["incremental_margin"]["estimate"] == 0


def test_record_a_response(as_maya, book):
    campaign, customers = book
    r = as_maya.post(f"/campaigns/{campaign.pk}/responses",
                     {"customer_id": customers[7].pk, "at": _at(campaign), "revenue": "40.00"})
    assert r.status_code == 201, r.content
    assert r.json()["response_source"] == "api" and r.json()["group"] == "control"
    m = CampaignMember.objects.get(campaign=campaign, customer=customers[7])
    assert str(m.recorded_revenue) == "40.00" and m.responded_at is not None
    data = as_maya.post(f"/campaigns/{campaign.pk}/report/refresh").json()
    assert data["groups"]["control"]["responders"] == 2
    assert data["groups"]["control"]["revenue"] == 140.0


def test_bad_responses_are_clear_4xx(as_maya, book):
    campaign, customers = book
    url = f"/campaigns/{campaign.pk}/responses"
    outsider = make_customer()
    assert as_maya.post(url, {"customer_id": outsider.pk, "at": _at(campaign)}).json()["code"] == "not_member"
    early = as_maya.post(url, {"customer_id": customers[0].pk, "at": _at(campaign, -3)})
    assert early.status_code == 422 and "at" in early.json()["details"]
    naive = as_maya.post(url, {"customer_id": customers[0].pk, "at": "2026-01-01T10:00:00"})
    assert naive.status_code == 422
    negative = as_maya.post(url, {"customer_id": customers[0].pk, "at": _at(campaign), "revenue": "-5"})
    assert negative.status_code == 422
    assert as_maya.post(url, {"customer_id": customers[0].pk, "at": _at(campaign), "extra": 1}).status_code == 422
    assert as_maya.post(url, {"customer_id": 10**9, "at": _at(campaign)}).status_code == 404


def test_who_may(as_alice, as_nora, as_mia, as_maya, book):
    campaign, customers = book
    report = f"/campaigns/{campaign.pk}/report"
    assert as_alice.get(report).status_code == 403  # a rep sees only their own customers
    assert as_nora.get(report).status_code == 200  # analysts read
    assert as_mia.get(report).status_code == 200  # managers read
    assert ApiClient(None).get(report).status_code == 401
    body = {"customer_id": customers[0].pk, "at": _at(campaign)}
    assert as_nora.post(f"/campaigns/{campaign.pk}/responses", body).status_code == 403  # analysts record nothing
    # The manager does not see customers[1] (no owner, no branch): 404, as for a customer that does not exist.
    hidden = {"customer_id": customers[1].pk, "at": _at(campaign)}
    assert as_mia.post(f"/campaigns/{campaign.pk}/responses", hidden).status_code == 404
    assert as_mia.post(f"/campaigns/{campaign.pk}/responses", body).status_code == 201  # her own customer


def test_drafts_and_unknown_campaigns(as_maya):
    draft = launched_campaign()
    draft.status = "draft"
    draft.save()
    assert as_maya.get(f"/campaigns/{draft.pk}/report").json()["code"] == "not_launched"
    assert as_maya.get(f"/campaigns/{draft.pk}/report").status_code == 409
    assert as_maya.get("/campaigns/999999/report").status_code == 404
    assert as_maya.get("/campaigns/0/report").status_code == 422
