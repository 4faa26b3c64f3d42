"""Who to target next: GET /segments/{id}/uplift and its page, on campaign history with a
known uplift per value class (generated over scored customers), within the reader's visibility."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from patron.campaigns import uplift
from patron.campaigns.models import CampaignMember
from patron.campaigns.services import segment_create
from patron.customers.models import Customer
from patron.generator.campaign_history import TRUE_UPLIFT, generate_campaign_history
from patron.insights.models import CurrentScore
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

SEED = 5
CLASSES = list(TRUE_UPLIFT)  # most_valuable, most_growable, other, below_zero


@pytest.fixture(autouse=True)
def fresh_models():
    uplift._trained.clear()  # fitted models are cached per process


@pytest.fixture
def book(db, alice, bob):
    """1,500 scored customers, alternately alice's and bob's, the value classes in turn."""
    rng = np.random.default_rng(1)
    customers = Customer.objects.bulk_create(
        Customer(name=f"Uplift {i:04d}", external_id=f"gen-{SEED}-c{i}", owner=alice if i % 2 else bob)
        for i in range(1_500)
    )
    now = timezone.now()
    CurrentScore.objects.bulk_create(
        CurrentScore(
            customer=c, updated_at=now, value_class=CLASSES[(i // 2) % 4], clv=float(rng.gamma(2, 400)),
            churn_risk=float(rng.uniform()), p_alive=float(rng.uniform()), rfm_segment="loyal",
        )
        for i, c in enumerate(customers)
    )
    return customers


@pytest.fixture
def segment(db, maya):
    return segment_create(name="Everyone", filter={}, created_by=maya)


@pytest.fixture
def history(book):
    return generate_campaign_history(seed=SEED, campaigns=3, members=1_500)


def test_no_history_says_how_much_is_needed(book, segment, maya):
    body = client_for(maya).get(f"/segments/{segment.pk}/uplift").json()
    assert body["enough_history"] is False
    assert body["customers"] == [] and body["qini"] is None
    assert body["history"]["min_members_per_group"] == uplift.MIN_MEMBERS_PER_GROUP == 200
    assert body["history"]["treatment_members"] == 0


def test_ranks_the_class_with_the_largest_uplift_first(history, segment, maya):
    assert CampaignMember.objects.count() == 4_500
    # The scores at launch were copied from the current scores.
    assert set(CampaignMember.objects.values_list("rfm_segment", flat=True)) == {"loyal"}
    body = client_for(maya).get(f"/segments/{segment.pk}/uplift", limit=100).json()
    assert body["enough_history"] is True
    assert body["scored"] == 1_500 and len(body["customers"]) == 100
    best = max(TRUE_UPLIFT, key=lambda k: TRUE_UPLIFT[k])
    assert {c["value_class"] for c in body["customers"]} == {best}
    uplifts = [c["uplift"] for c in body["customers"]]
    assert uplifts == sorted(uplifts, reverse=True)
    assert body["qini"] > 0  # the held-out ranking beats a random choice
    classes = {row["value_class"]: row for row in body["by_value_class"]}
    assert set(classes) == set(TRUE_UPLIFT)
    for cls, true in TRUE_UPLIFT.items():
        assert classes[cls]["low"] <= true <= classes[cls]["high"], (cls, classes[cls])
    # Customers who lose from a contact are counted apart: below zero's true uplift is negative.
    assert body["positive"] < body["scored"]


def test_lists_only_the_customers_the_reader_sees(history, segment, alice):
    body = client_for(alice).get(f"/segments/{segment.pk}/uplift", limit=500).json()
    mine = set(Customer.objects.filter(owner=alice).values_list("pk", flat=True))
    assert body["scored"] == len(mine) == 750
    assert body["customers"] and {c["customer_id"] for c in body["customers"]} <= mine


def test_channel_and_bad_input(history, segment, maya):
    api = client_for(maya)
    email = api.get(f"/segments/{segment.pk}/uplift", channel="email").json()
    h = email["history"]
    assert email["channel"] == "email"
    # One of the three generated campaigns went by email.
    assert h["treatment_members"] + h["control_members"] == 1_500
    assert api.get(f"/segments/{segment.pk}/uplift", channel="fax").status_code == 422
    assert api.get(f"/segments/{segment.pk}/uplift", limit=0).status_code == 422
    assert api.get(f"/segments/{segment.pk}/uplift", limit=501).status_code == 422
    missing = api.get("/segments/999999/uplift")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_page(history, segment, alice):
    web = Client()
    web.force_login(alice)
    page = web.get(f"/campaigns/segments/{segment.pk}/uplift/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="uplift-qini"' in html
    hidden = Customer.objects.exclude(owner=alice).values_list("name", flat=True)
    assert not any(name in html for name in hidden)
    shown = Customer.objects.filter(owner=alice).values_list("name", flat=True)
    assert sum(name in html for name in shown) == 50
    members = web.get(f"/campaigns/segments/{segment.pk}/customers/").content.decode()
    assert f"/campaigns/segments/{segment.pk}/uplift/" in members


def test_page_without_history(book, segment, alice):
    web = Client()
    web.force_login(alice)
    html = web.get(f"/campaigns/segments/{segment.pk}/uplift/?channel=fax").content.decode()
    assert 'data-testid="uplift-no-history"' in html
