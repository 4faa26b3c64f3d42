"""/api/v1/campaigns: create, launch, members within the caller's visibility, the refusals in
the API's error shape with nothing written, roles, the call list and the mailing file."""

from __future__ import annotations

import csv
import io

import pytest

from patron.campaigns.models import Campaign, CampaignMember
from patron.campaigns.services import segment_create
from patron.feedback.models import ContactLog
from tests.api.conftest import client_for
from tests.campaigns.conftest import scored
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

BODY = {
    "name": "Autumn", "channel": "email", "offer": "Free delivery", "starts_on": "2026-09-01",
    "ends_on": "2026-09-30", "response_window_days": 14, "cost": "250.00",
}


@pytest.fixture
def book(db, alice, bob):
    people = {
        "ash": make_customer("Ash", owner=alice, email="ash@example.com", consent_email=True, phone="+852 9123 0001", address="1 Ash Rd", city="Hong Kong"),
        "birch": make_customer("Birch", owner=bob, email="birch@example.com", consent_email=True, phone="+852 9123 0002", address="2 Birch Rd"),
        "cork": make_customer("=HYPERLINK(\"x\")", owner=alice, email="cork@example.com", consent_email=True, phone="+852 9123 0003", address="@SUM(1)"),
    }
    for i, c in enumerate(people.values()):
        scored(c, value_class="high", clv=100.0 * (i + 1))
    return people


@pytest.fixture
def segment(db):
    return segment_create(name="Everyone", filter={}, created_by=None)


@pytest.fixture
def as_maya(maya):
    return client_for(maya)


def _create(client, segment, **over):
    response = client.post("/campaigns", {**BODY, "segment_id": segment.pk, **over})
    assert response.status_code == 201, response.content
    return response.json()


def test_create_with_the_default_control_share_then_read(as_maya, segment):
    body = _create(as_maya, segment)
    assert body["control_share"] == 0.1 and body["status"] == "draft" and body["members"] == 0
    assert body["created_by"] == "maya"
    got = as_maya.get(f"/campaigns/{body['id']}").json()
    assert (got["name"], got["segment_id"], got["cost"]) == ("Autumn", segment.pk, "250.00")
    listed = as_maya.get("/campaigns").json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]


@pytest.mark.parametrize("share", [0, 1, 1.2, -0.5])
def test_control_share_0_or_1_is_a_422_naming_the_field(as_maya, segment, share):
    response = as_maya.post("/campaigns", {**BODY, "segment_id": segment.pk, "control_share": share})
    assert response.status_code == 422
    assert "control_share" in response.json()["details"]
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("over", "field"),
    [({"ends_on": "2026-08-01"}, "ends_on"), ({"segment_id": 987654}, "segment_id"), ({"channel": "fax"}, "channel")],
)
def test_bad_dates_segment_or_channel_are_422(as_maya, segment, over, field):
    response = as_maya.post("/campaigns", {**BODY, "segment_id": segment.pk, **over})
    assert response.status_code == 422, response.content
    assert field in response.content.decode()
    assert not Campaign.objects.exists()


def test_launch_reports_groups_and_skips_then_twice_is_409(book, as_maya, segment):
    Campaign_id = _create(as_maya, segment, control_share=0.34)["id"]
    make_customer("No email", consent_email=True)  # unscored: its own stratum of one, treatment
    response = as_maya.post(f"/campaigns/{Campaign_id}/launch", {"seed": 11})
    assert response.status_code == 200, response.content
    body = response.json()
    # "high" holds 3: floor(3 * 0.34 + 0.5) = 1 control; the unscored stratum of 1: none.
    assert (body["treatment"], body["control"], body["contacted"], body["skipped"]) == (3, 1, 2, {"no_email": 1})
    assert body["seed"] == 11
    before = (list(CampaignMember.objects.values_list("pk", "group")), ContactLog.objects.count())
    again = as_maya.post(f"/campaigns/{Campaign_id}/launch", {"seed": 12})
    assert again.status_code == 409 and again.json()["code"] == "already_launched"
    assert (list(CampaignMember.objects.values_list("pk", "group")), ContactLog.objects.count()) == before
    detail = as_maya.get(f"/campaigns/{Campaign_id}").json()
    assert (detail["members"], detail["treatment"], detail["control"], detail["skipped"]) == (4, 3, 1, {"no_email": 1})


def test_empty_segment_is_422_and_nothing_is_written(as_maya, db):
    segment = segment_create(name="Nobody", filter={"tags": ["absent"]}, created_by=None)
    make_customer("Someone", email="s@example.com", consent_email=True)
    campaign_id = _create(as_maya, segment)["id"]
    response = as_maya.post(f"/campaigns/{campaign_id}/launch")
    assert response.status_code == 422 and response.json()["code"] == "empty_segment"
    assert Campaign.objects.get(pk=campaign_id).status == "draft"
    assert not CampaignMember.objects.exists() and not ContactLog.objects.exists()


def test_after_launch_only_the_name_changes_and_it_cannot_be_deleted(book, as_maya, segment):
    campaign_id = _create(as_maya, segment)["id"]
    assert as_maya.patch(f"/campaigns/{campaign_id}", {"offer": "Gift"}).json()["offer"] == "Gift"
    as_maya.post(f"/campaigns/{campaign_id}/launch", {"seed": 1})
    assert as_maya.patch(f"/campaigns/{campaign_id}", {"name": "Autumn 2026"}).json()["name"] == "Autumn 2026"
    refused = as_maya.patch(f"/campaigns/{campaign_id}", {"offer": "Other"})
    assert refused.status_code == 409 and refused.json()["code"] == "launched"
    assert as_maya.delete(f"/campaigns/{campaign_id}").status_code == 409
    assert Campaign.objects.get(pk=campaign_id).offer == "Gift"


def test_members_page_and_filter_within_the_callers_visibility(book, as_maya, as_alice, segment):
    campaign_id = _create(as_maya, segment, control_share=0.3)["id"]
    as_maya.post(f"/campaigns/{campaign_id}/launch", {"seed": 4})
    everyone = as_maya.get(f"/campaigns/{campaign_id}/members", limit=2).json()
    assert everyone["count"] == 3 and len(everyone["items"]) == 2 and everyone["next"]
    assert {"customer_id", "group", "contacted", "skipped_reason"} <= set(everyone["items"][0])  # the documented fields (and the scores at launch)
    mine = as_alice.get(f"/campaigns/{campaign_id}/members").json()
    assert {m["customer_id"] for m in mine["items"]} == {book["ash"].pk, book["cork"].pk}
    control = as_maya.get(f"/campaigns/{campaign_id}/members", group="control").json()
    assert control["count"] == 1 and control["items"][0]["contacted"] is False
    assert as_maya.get(f"/campaigns/{campaign_id}/members", group="other").status_code == 422


def test_skipped_lists_who_and_why(book, as_maya, segment):
    quiet = make_customer("Quiet", email="q@example.com", consent_email=False)
    campaign_id = _create(as_maya, segment, control_share=0.01)["id"]
    as_maya.post(f"/campaigns/{campaign_id}/launch", {"seed": 4})
    skipped = as_maya.get(f"/campaigns/{campaign_id}/skipped").json()
    assert [(m["customer_id"], m["skipped_reason"]) for m in skipped["items"]] == [(quiet.pk, "no_consent")]


def test_roles_analysts_and_reps_read_but_do_not_write(book, segment, nora, alice, as_maya):
    for user in (nora, alice):
        client = client_for(user)
        assert client.post("/campaigns", {**BODY, "segment_id": segment.pk}).status_code == 403
        assert client.get("/campaigns").status_code == 200
    campaign_id = _create(as_maya, segment)["id"]
    assert client_for(nora).post(f"/campaigns/{campaign_id}/launch").status_code == 403
    assert Campaign.objects.get(pk=campaign_id).status == "draft"


def test_call_list_shows_a_rep_her_own_customers(book, as_maya, as_alice, segment):
    campaign_id = _create(as_maya, segment, channel="phone", control_share=0.01)["id"]
    as_maya.post(f"/campaigns/{campaign_id}/launch", {"seed": 1})
    calls = as_alice.get(f"/campaigns/{campaign_id}/call-list").json()
    assert sorted(c["name"] for c in calls["items"]) == sorted([book["ash"].name, book["cork"].name])
    ash = next(c for c in calls["items"] if c["name"] == "Ash")
    assert (ash["phone"], ash["value_class"], ash["clv"], ash["offer"], ash["called_at"]) == ("+85291230001", "high", 100.0, "Free delivery", None)
    email_campaign = _create(as_maya, segment)["id"]
    assert as_maya.get(f"/campaigns/{email_campaign}/call-list").status_code == 422


def test_mailing_csv_is_formula_safe_with_a_bom(book, as_maya, segment):
    campaign_id = _create(as_maya, segment, channel="mail", control_share=0.01, offer="=1+1")["id"]
    as_maya.post(f"/campaigns/{campaign_id}/launch", {"seed": 1})
    response = as_maya.get(f"/campaigns/{campaign_id}/mailing.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["customer_id", "name", "address", "city", "offer"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[str(book["ash"].pk)] == [str(book["ash"].pk), "Ash", "1 Ash Rd", "Hong Kong", "'=1+1"]
    cork = by_id[str(book["cork"].pk)]
    assert cork[1] == "'=HYPERLINK(\"x\")" and cork[2] == "'@SUM(1)"
    assert client_for(book["ash"].owner).get(f"/campaigns/{campaign_id}/mailing.csv").status_code == 403


def test_a_cross_sell_campaign_offers_a_product(as_maya, segment):
    from tests.factories import make_product

    tea = make_product(sku="TEA")
    body = _create(as_maya, segment, offer="", offer_product_id=tea.pk)
    assert body["offer_product_id"] == tea.pk
    assert Campaign.objects.get(pk=body["id"]).offer_product == tea
    # A product that does not exist: a 422 naming the field, nothing changed.
    bad = as_maya.patch(f"/campaigns/{body['id']}", {"offer_product_id": 999999})
    assert bad.status_code == 422 and "offer_product_id" in bad.content.decode()
    assert Campaign.objects.get(pk=body["id"]).offer_product == tea
    # null clears it.
    cleared = as_maya.patch(f"/campaigns/{body['id']}", {"offer_product_id": None})
    assert cleared.status_code == 200 and cleared.json()["offer_product_id"] is None
