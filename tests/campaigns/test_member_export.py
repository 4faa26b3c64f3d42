"""A campaign's members out through the API and as CSV, with the scores frozen at the launch:
value class, CLV, churn risk, P(alive), RFM segment; formula-safe cells; only customers you see."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.urls import reverse

from patron.campaigns.campaign_selectors import MEMBER_COLUMNS
from patron.campaigns.campaign_services import campaign_create, campaign_launch
from patron.campaigns.services import segment_create
from patron.core.models import AuditEntry
from tests.api.conftest import client_for
from tests.campaigns.conftest import scored
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(root, alice, bob):
    mine = make_customer("=HYPERLINK(\"http://x\")", owner=alice, phone="+852 9123 0101")
    theirs = make_customer("Theirs", owner=bob, phone="+852 9123 0102")
    scored(mine, value_class="most_valuable", clv=1234.5, churn_risk=0.25, p_alive=0.9, rfm_segment="champions")
    scored(theirs, value_class="core", clv=10.0, churn_risk=0.5, p_alive=0.4, rfm_segment="at_risk")
    segment = segment_create(name="Everyone", filter={}, created_by=None)
    created = campaign_create(
        values={"name": "Call", "segment_id": segment.pk, "channel": "phone", "starts_on": date(2026, 3, 1),
                "ends_on": date(2026, 3, 31), "control_share": 0.01},
        created_by=root,
    )
    return campaign_launch(campaign=created, user=root, seed=1).campaign


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_api_pages_members_with_their_scores_at_launch(campaign, root):
    body = client_for(root).get(f"/campaigns/{campaign.pk}/members").json()
    first = next(m for m in body["items"] if m["value_class"] == "most_valuable")
    assert (first["clv"], first["churn_risk"], first["p_alive"], first["rfm_segment"]) == (1234.5, 0.25, 0.9, "champions")
    assert first["channel"] == "phone" and first["group"] == "treatment" and first["contacted"] is True


def test_the_csv_has_every_column_is_formula_safe_and_audited(campaign, root):
    response = client_for(root).get(f"/campaigns/{campaign.pk}/members", format="csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _rows(b"".join(response.streaming_content).decode())
    assert list(rows[0]) == MEMBER_COLUMNS and len(rows) == 2
    mine = next(r for r in rows if r["value_class"] == "most_valuable")
    assert mine["name"].startswith("'=")  # formula-safe
    assert (mine["clv"], mine["churn_risk"], mine["rfm_segment"]) == ("1234.5", "0.25", "champions")
    assert AuditEntry.objects.filter(action="export.api", object_type="campaignmember").count() == 1


def test_a_rep_downloads_only_her_customers_from_the_page(client, campaign, alice):
    client.force_login(alice)
    response = client.get(reverse("campaign-members-csv", args=[campaign.pk]))
    rows = _rows(b"".join(response.streaming_content).decode())
    assert [r["rfm_segment"] for r in rows] == ["champions"]
    assert AuditEntry.objects.filter(action="export.list", object_type="campaignmember").count() == 1
    page = client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert reverse("campaign-members-csv", args=[campaign.pk]) in page
