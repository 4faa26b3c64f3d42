"""A list's sort keys are one table, read by its page and its API alike (core.ordering)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.commerce.selectors import ORDER_SORTS
from patron.customers.selectors import CUSTOMER_SORTS
from patron.engagement.selectors import TASK_SORTS
from patron.insights.models import CurrentScore
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(alice):
    high = make_customer("High", owner=alice)
    low = make_customer("Low", owner=alice)
    unscored = make_customer("Unscored", owner=alice)
    CurrentScore.objects.create(customer=high, updated_at=timezone.now(), clv=900.0, churn_risk=0.1, value_class="mvc")
    CurrentScore.objects.create(customer=low, updated_at=timezone.now(), clv=50.0, churn_risk=0.8, value_class="bz")
    return high, low, unscored


def _names(response):
    assert response.status_code == 200, response.content
    return [c["name"] for c in response.json()["items"]]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-clv", ["High", "Low", "Unscored"]),
        ("clv", ["Low", "High", "Unscored"]),  # not scored yet: last in both directions
        ("-churn", ["Low", "High", "Unscored"]),
        ("name", ["High", "Low", "Unscored"]),
    ],
)
def test_the_api_sorts_customers_by_the_pages_keys(as_alice, scored, sort, expected):
    assert _names(as_alice.get("/customers", sort=sort)) == expected


def test_the_page_and_the_api_agree_on_a_score_sort(client, alice, as_alice, scored):
    client.force_login(alice)
    page = client.get(reverse("customer-list"), {"sort": "-clv"}).content.decode()
    on_page = [name for name in ("High", "Low", "Unscored") if name in page]
    assert sorted(on_page, key=page.index) == _names(as_alice.get("/customers", sort="-clv"))


def test_the_apis_older_field_keys_still_sort(as_alice, scored):
    high, low, unscored = scored
    high.profit_total, low.profit_total, unscored.profit_total = 300, 100, 200
    for c in scored:
        c.save(update_fields=["profit_total"])
    assert _names(as_alice.get("/customers", sort="-profit_total")) == ["High", "Unscored", "Low"]
    assert _names(as_alice.get("/customers", sort="profit")) == ["Low", "Unscored", "High"]


def test_an_unknown_sort_lists_every_key_once(as_alice):
    response = as_alice.get("/customers", sort="-password")
    assert response.status_code == 422
    listed = response.json()["message"].split("use one of: ")[1].split(" (prefix")[0].split(", ")
    assert listed == sorted({key.lstrip("-") for key in CUSTOMER_SORTS})
    assert {"clv", "churn", "value_class", "profit_total", "name"} <= set(listed)


@pytest.mark.parametrize("sorts", [CUSTOMER_SORTS, ORDER_SORTS, TASK_SORTS])
def test_every_key_has_both_directions(sorts):
    for key in sorts:
        assert (key[1:] if key.startswith("-") else f"-{key}") in sorts, key
