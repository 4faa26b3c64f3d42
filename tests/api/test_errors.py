"""Bad input is a JSON error with a code and the right status, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_customer, make_product

pytestmark = pytest.mark.django_db


def order(cid, **overrides):
    body = {
        "customer_id": cid,
        "channel": "web",
        "ordered_at": "2025-03-05T10:00:00+08:00",
        "lines": [{"product_sku": "SKU-A", "quantity": 2}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def setup(alice):
    make_product(sku="SKU-A", price=100, cost=60)
    return make_customer("Mine", owner=alice)


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["message"]
    if code:
        assert body["code"] == code
    return body


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "malformed_json"),
        (b"\xff\xfe\x00garbage", 400, "malformed_json"),
        ("[1, 2, 3]", 422, "invalid"),
        ('"just a string"', 422, "invalid"),
    ],
)
def test_malformed_bodies(as_alice, setup, raw, status, code):
    assert_error(as_alice.post("/orders", raw=raw), status, code)


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"ordered_at": "2025-03-05T10:00:00"}, "ordered_at"),  # naive
        ({"ordered_at": "yesterday"}, "ordered_at"),
        ({"lines": [{"product_sku": "SKU-A", "quantity": -1}]}, "quantity"),
        ({"lines": [{"product_sku": "SKU-A", "quantity": 0}]}, "quantity"),
        ({"lines": [{"product_sku": "SKU-A", "quantity": "1e400"}]}, "quantity"),
        ({"lines": [{"product_sku": "SKU-A", "quantity": 1, "unit_price": 10**30}]}, "unit_price"),
        ({"lines": [{"product_sku": "SKU-A", "quantity": 1, "unit_price": "NaN"}]}, "unit_price"),
        ({"lines": [{"product_sku": "SKU-A", "quantity": 1, "unit_price": -5}]}, "unit_price"),
        ({"lines": []}, "lines"),
        ({"lines": [{"quantity": 1}]}, "lines"),
        ({"customer_id": "abc"}, "customer_id"),
        ({"customer_id": 10**30}, "customer_id"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(as_alice, setup, overrides, where):
    body = assert_error(as_alice.post("/orders", order(setup.pk, **overrides)), 422, "invalid")
    assert where in body["message"]


def test_missing_fields_are_named(as_alice, setup):
    body = assert_error(as_alice.post("/orders", {"customer_id": setup.pk}), 422, "invalid")
    locations = {tuple(d["loc"]) for d in body["details"]}
    assert ("body", "channel") in locations and ("body", "ordered_at") in locations


def test_huge_ids_in_paths_and_queries_are_422(as_alice, setup):
    assert_error(as_alice.get("/customers/" + "9" * 40), 422)
    assert_error(as_alice.get("/orders", customer_id="9" * 40), 422)
    assert_error(as_alice.get("/customers", limit=100000), 422)
    assert_error(as_alice.get("/customers", sort="password"), 422, "invalid_sort")


def test_unknown_product_and_customer(as_alice, setup):
    assert_error(as_alice.post("/orders", order(setup.pk, lines=[{"product_sku": "NOPE", "quantity": 1}])), 422, "unknown_product")
    assert_error(as_alice.post("/orders", order(None, customer_external_id="nobody")), 404, "not_found")


def test_duplicate_external_id_is_409(as_alice, setup):
    assert as_alice.post("/orders", order(setup.pk, external_id="A-1")).status_code == 201
    assert_error(as_alice.post("/orders", order(setup.pk, external_id="A-1")), 409, "duplicate_external_id")


def test_unknown_path_and_no_credentials(as_alice):
    assert_error(as_alice.get("/no/such/thing"), 404, "not_found")
    assert_error(Client().get("/api/v1/customers"), 401, "unauthenticated")
    assert_error(Client().get("/api/v1/customers", headers={"Authorization": "Bearer pat_nope"}), 401)


def test_session_auth_honours_csrf(alice, setup):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get("/api/v1/customers").status_code == 200
    refused = browser.post("/api/v1/customers", {"name": "X"}, content_type="application/json")
    assert_error(refused, 403, "csrf_failed")
    browser.get("/customers/")  # the page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    created = browser.post(
        "/api/v1/customers", {"name": "Via browser"}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert created.status_code == 201
    assert created.json()["owner"] == "alice"
