"""POST /api/v1/campaigns/simulate: bad input named, the segment counted for the caller, the
history matched by channel and offer, a running campaign counted with its exposure."""

from __future__ import annotations

import pytest
from django.urls import resolve, reverse

from patron.analytics.campaign_sim import PastGroup, exposure, posterior_rate, recency_weight
from patron.campaigns.services import segment_create
from patron.campaigns.simulation import DEFAULT_BASE_RATE
from patron.customers.models import Customer
from tests.api.conftest import client_for
from tests.campaigns.history import launched, member
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def customers(n: int, prefix: str, **fields) -> list[Customer]:
    return Customer.objects.bulk_create([Customer(name=f"{prefix} {i}", **fields) for i in range(n)])


@pytest.fixture
def book(db, alice, bob, north, south, root):
    mine = customers(6, "North", owner=alice, branch=north, region=north.region)
    theirs = customers(4, "South", owner=bob, branch=south, region=south.region)
    segment = segment_create(name="Everyone", filter={}, created_by=root)
    return segment, mine, theirs


def body(segment, **over):
    return {"segment_id": segment.pk, "channel": "email", "offer": "10% off", **over}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"segment_id": 999999}, "segment_id"),
        ({"segment_id": 0}, "segment_id"),
        ({"channel": "pigeon"}, "channel"),
        ({"control_share": 1}, "control_share"),
        ({"control_share": 0}, "control_share"),
        ({"cost": -1}, "cost"),
        ({"response_window_days": 0}, "response_window_days"),
        ({"response_window_days": 366}, "response_window_days"),
        ({"offer_product_id": 999999}, "offer_product_id"),
        ({"offer": ""}, "offer"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(book, as_nora, change, field):
    r = as_nora.post("/campaigns/simulate", body(book[0], **change))
    assert r.status_code == 422, r.content
    assert field in r.json()["message"]


def test_missing_fields_are_named(book, as_nora):
    r = as_nora.post("/campaigns/simulate", {"channel": "email"})
    assert r.status_code == 422 and "segment_id" in r.json()["message"]


def test_roles_that_do_not_plan_campaigns_get_403(book, as_alice):
    assert as_alice.post("/campaigns/simulate", body(book[0])).status_code == 403


def test_the_path_is_the_simulation_not_a_campaign_id():
    match = resolve("/api/v1/campaigns/simulate")
    assert "simulate" in match.route


def test_no_history_is_a_prior_guess(book, as_nora):
    r = as_nora.post("/campaigns/simulate", body(book[0]))
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["basis"] == "prior" and data["match"] == "none" and data["campaigns_used"] == 0
    assert data["segment_members"] == 10 and data["treatment_members"] + data["control_members"] == 10
    # Members without scores: the default purchase rate within the window.
    assert data["control_rate"]["value"] == pytest.approx(DEFAULT_BASE_RATE, abs=0.02)
    assert data["roi"] is None and data["cost_basis"] == "none"


def test_segment_counted_within_the_callers_visibility(book, as_nora, mia):
    segment = book[0]
    assert as_nora.post("/campaigns/simulate", body(segment)).json()["segment_members"] == 10
    as_mia = client_for(mia)  # a manager of the North region: its six customers only
    data = as_mia.post("/campaigns/simulate", body(segment, control_share=0.5)).json()
    assert data["segment_members"] == 6 and data["treatment_members"] == 3


def _history(campaign, *, treated: int, responders: int, control: int, control_responders: int, margin="40"):
    # Unscored at launch, like the segment's members: one value class ("").
    people = customers(treated + control, f"Past {campaign.pk}")
    for i, c in enumerate(people[:treated]):
        member(campaign, c, value_class="", responded=i < responders, margin=margin)
    for i, c in enumerate(people[treated:]):
        member(campaign, c, group="control", value_class="", responded=i < control_responders, margin=margin)


def test_history_of_the_offer_and_a_running_campaign_with_its_exposure(book, as_nora):
    segment = book[0]
    done = launched(offer="10% OFF", days_ago=100, cost=50)
    _history(done, treated=40, responders=8, control=20, control_responders=2)
    running = launched(offer="10% off", days_ago=10, window=40)
    _history(running, treated=40, responders=4, control=20, control_responders=1)
    other = launched(offer="free shipping", days_ago=30)
    _history(other, treated=40, responders=40, control=20, control_responders=0)
    data = as_nora.post("/campaigns/simulate", body(segment, cost=100)).json()
    assert data["basis"] == "history" and data["match"] == "offer"
    assert data["campaigns_used"] == 2 and data["running_campaigns_used"] == 1
    assert data["history_members"] == 120
    # The closed form over both campaigns, the running one at a quarter of its window.
    w_done, w_run = recency_weight(100), recency_weight(10)
    e = exposure(10, 40)
    assert e == pytest.approx(0.25, abs=0.01)
    history = [
        PastGroup(1, "treatment", "", 40, 8, weight=w_done), PastGroup(1, "control", "", 20, 2, weight=w_done),
        PastGroup(2, "treatment", "", 40, 4, weight=w_run, exposure=e),
        PastGroup(2, "control", "", 20, 1, weight=w_run, exposure=e),
    ]
    expected = posterior_rate(history, "treatment", "", DEFAULT_BASE_RATE)
    assert data["response_rate"]["value"] == pytest.approx(expected, rel=0.05)
    # Without its exposure the running campaign would pull the rate down to about 12/80.
    assert expected > 0.17
    assert data["response_rate"]["low"] < data["response_rate"]["value"] < data["response_rate"]["high"]
    assert data["roi"] is not None and data["cost"] == 100 and data["cost_basis"] == "given"


def test_channel_history_when_the_offer_is_new_and_cost_from_history(book, as_nora):
    segment = book[0]
    past = launched(channel="phone", offer="call-back", days_ago=60, cost=80)
    _history(past, treated=40, responders=10, control=20, control_responders=2)
    data = as_nora.post("/campaigns/simulate", body(segment, channel="phone", offer="brand new")).json()
    assert data["basis"] == "history" and data["match"] == "channel" and data["campaigns_used"] == 1
    # The history's cost per contacted member (80 / 40) times the 9 contacted members.
    assert data["cost_basis"] == "history" and data["cost"] == pytest.approx(2.0 * data["treatment_members"])
    # No email history at all: a prior guess.
    assert as_nora.post("/campaigns/simulate", body(segment, channel="mail")).json()["basis"] == "prior"


def test_cross_sell_offer_matches_by_product(book, as_nora):
    segment = book[0]
    tent = make_product(sku="TENT")
    past = launched(offer="", days_ago=20, offer_product=tent)
    _history(past, treated=20, responders=5, control=10, control_responders=1)
    data = as_nora.post("/campaigns/simulate", body(segment, offer="", offer_product_id=tent.pk)).json()
    assert data["match"] == "offer" and data["campaigns_used"] == 1


def test_the_page(client, book, nora, alice):
    segment = book[0]
    client.force_login(nora)
    page = client.get(reverse("campaign-simulate"))
    assert page.status_code == 200 and 'data-testid="simulate-form"' in page.content.decode()
    page = client.get(reverse("campaign-simulate"), {
        "segment": segment.pk, "channel": "email", "offer": "10% off", "control_share": "0.1",
        "response_window_days": "30"}).content.decode()
    assert 'data-testid="sim-members">10<' in page and "A prior guess" in page
    page = client.get(reverse("campaign-simulate"), {
        "segment": segment.pk, "channel": "email", "offer": "", "offer_product": "NOPE", "control_share": "0.1",
        "response_window_days": "30"}).content.decode()
    assert "There is no product with this SKU." in page and 'data-testid="simulation"' not in page
    members = client.get(reverse("segment-customers", args=[segment.pk])).content.decode()
    assert f'{reverse("campaign-simulate")}?for={segment.pk}' in members  # the segment's way in
    page = client.get(reverse("campaign-simulate"), {"for": segment.pk}).content.decode()
    assert f'<option value="{segment.pk}" selected>' in page
    client.force_login(alice)
    assert client.get(reverse("campaign-simulate")).status_code == 403
