"""Extreme dates and deeply nested bodies are a 4xx in the API's error shape, and a message or a
row error everywhere else (web filters and forms, batch ingestion, imports) — never a 500."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from patron.commerce.models import Order
from patron.engagement.models import Task
from tests.api.test_errors import assert_error, order
from tests.factories import make_customer, make_product
from tests.imports.helpers import read_errors, run, write_csv

pytestmark = pytest.mark.django_db

# The first overflows past year 9999 in UTC, the second before year 1.
EXTREMES = ["9999-12-31T23:59:59-08:00", "0001-01-01T00:00:00+14:00"]


@pytest.fixture
def setup(alice):
    make_product(sku="SKU-A", price=100, cost=60)
    return make_customer("Mine", owner=alice, external_id="C-1")


@pytest.mark.parametrize("at", [*EXTREMES, "1899-12-31T23:59:59+00:00", "2200-01-01T00:00:00+08:00"])
def test_order_with_an_extreme_time_is_422_naming_the_field(as_alice, setup, at):
    body = assert_error(as_alice.post("/orders", order(setup.pk, ordered_at=at)), 422, "invalid")
    assert "ordered_at" in body["message"] and "between 1900-01-01 and 2199-12-31" in body["message"]
    assert not Order.objects.exists()


def test_the_edges_of_the_range_are_accepted(as_alice, setup):
    for n, at in enumerate(["1900-01-01T00:00:00+00:00", "2199-12-31T23:59:59+00:00"]):
        response = as_alice.post("/orders", order(setup.pk, ordered_at=at, external_id=f"E{n}"))
        assert response.status_code == 201, response.content
    assert as_alice.get("/orders", format="csv").status_code == 200


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/orders", "ordered_after"),
        ("/orders", "ordered_before"),
        ("/cost-events", "occurred_after"),
        ("/interactions", "occurred_before"),
        ("/tasks", "due_before"),
        ("/customers", "updated_since"),
        ("/responses", "since"),
    ],
)
@pytest.mark.parametrize("at", EXTREMES)
def test_list_filters_with_an_extreme_time_are_422(as_alice, setup, path, param, at):
    body = assert_error(as_alice.get(path, **{param: at}), 422, "invalid")
    assert param in body["message"]


def test_customer_acquired_on_out_of_range_is_422(as_root):
    body = assert_error(as_root.post("/customers", {"name": "Old", "acquired_on": "0001-01-01"}), 422, "invalid")
    assert "acquired_on" in body["message"]


@pytest.mark.parametrize("path", ["/orders", "/ingest/orders", "/customers"])
def test_a_deeply_nested_body_is_400_too_deep(as_alice, setup, path):
    deep = "[" * 100_000 + "]" * 100_000  # 200 KB
    assert_error(as_alice.post(path, raw=deep), 400, "too_deep")
    # Deeper than the limit but within Python's recursion limit: refused the same way.
    nested: object = "x"
    for _ in range(40):
        nested = [nested]
    nested = {"items": [{"lines": nested}]}
    assert_error(as_alice.post(path, nested), 400, "too_deep")


def test_text_with_the_nul_character_is_422_and_nothing_is_written(as_root):
    # PostgreSQL cannot store NUL in text; SQLite could, so both refuse it the same way.
    assert_error(as_root.post("/customers", {"name": "A\u0000B", "acquired_on": "2020-01-01"}), 422, "nul_character")
    assert_error(as_root.get("/customers", q="A\x00B"), 422, "nul_character")
    assert as_root.get("/customers", q="A").json()["count"] == 0


def test_the_nesting_limit_is_exactly_32_levels():
    from patron.core.apikit import MAX_JSON_DEPTH, ApiError, parse_json_body

    assert MAX_JSON_DEPTH == 32
    assert parse_json_body(b"[" * 32 + b"]" * 32) is not None
    assert parse_json_body(b'{"a": ' * 31 + b"[]" + b"}" * 31) is not None
    with pytest.raises(ApiError) as refused:
        parse_json_body(b"[" * 33 + b"]" * 33)
    assert refused.value.code == "too_deep" and refused.value.status_code == 400


def test_ordinary_nesting_is_not_refused(as_alice, setup):
    body = {"items": [order(setup.pk, external_id="B-1")]}
    response = as_alice.post("/ingest/orders", body)
    assert response.status_code == 200 and response.json()["created"] == 1


def test_batch_item_with_an_extreme_time_is_an_item_error(as_alice, setup):
    items = [order(setup.pk, external_id="B-1", ordered_at=EXTREMES[0]), order(setup.pk, external_id="B-2")]
    response = as_alice.post("/ingest/events", {"items": [
        {"type": "cost_event", "customer_id": setup.pk, "kind": "ticket", "amount": "1.00", "occurred_at": EXTREMES[1]},
    ]})
    assert response.status_code == 200 and response.json()["errors"] == 1
    response = as_alice.post("/ingest/orders", {"items": items})
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["created"] == 1 and result["errors"] == 1
    assert result["results"][0]["status"] == "error" and "ordered_at" in result["results"][0]["message"]
    assert list(Order.objects.values_list("external_id", flat=True)) == ["B-2"]


def test_bodies_over_the_size_limit_are_413(as_alice, setup, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_error(as_alice.post("/orders", raw=json.dumps(order(setup.pk, external_id="x" * 2000))), 413, "too_large")


# ---------------------------------------------------------------- the web app


@pytest.mark.parametrize(
    ("url_name", "params"),
    [
        ("order-list", {"ordered_from": "0001-01-01", "ordered_to": "9999-12-31"}),
        ("task-list", {"due_from": "0001-01-01", "due_to": "9999-12-31"}),
        ("response-list", {"answered_from": "0001-01-01", "answered_to": "9999-12-31"}),
        ("feedback:follow-ups", {"opened_from": "0001-01-01", "opened_to": "9999-12-31"}),
        ("feedback:nps", {"start": "0001-01-01", "end": "9999-12-31"}),
        ("feedback:themes", {"start": "0001-01-01", "end": "9999-12-31"}),
        ("feedback:nps-responses", {"start": "0001-01-01", "end": "9999-12-31"}),
    ],
)
@pytest.mark.parametrize("fmt", ["", "csv"])
def test_web_filters_with_extreme_dates_are_a_message(client, alice, setup, url_name, params, fmt):
    client.force_login(alice)
    response = client.get(reverse(url_name), {**params, **({"format": fmt} if fmt else {})})
    # Lists leave the filter out and say so; the NPS pages answer 400 with the form's errors.
    assert response.status_code in (200, 400), response.status_code
    if not response.streaming:
        assert "must be between 1900-01-01 and 2199-12-31" in response.content.decode()


@pytest.mark.parametrize("url_name", ["customer-list", "order-list", "task-list", "response-list"])
def test_web_lists_with_a_huge_page_number_show_the_first_page(client, alice, setup, url_name):
    client.force_login(alice)
    response = client.get(reverse(url_name), {"page": "9" * 25})
    assert response.status_code == 200
    assert "is not a page number: showing the first page" in response.content.decode()


def test_customer_page_with_a_huge_timeline_page_shows_the_first(client, alice, setup):
    client.force_login(alice)
    for page in ("9" * 25, "9" * 19, "-3", "x"):
        assert client.get(setup.get_absolute_url(), {"page": page}).status_code == 200


@pytest.mark.parametrize("due", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_task_form_with_an_extreme_due_time_is_a_form_error(client, alice, setup, due):
    client.force_login(alice)
    response = client.post(reverse("customer-add-task", args=[setup.pk]), {"title": "Call", "due_at": due})
    assert response.status_code < 500, response.status_code
    assert not Task.objects.exists()
    page = client.get(setup.get_absolute_url()) if response.status_code == 302 else response
    assert "must be between 1900-01-01 and 2199-12-31" in page.content.decode()


# ---------------------------------------------------------------- imports


def test_import_row_with_an_extreme_date_is_a_row_error(tmp_path, setup, root):
    header = ["external_id", "customer_external_id", "channel", "ordered_at", "product_sku", "quantity"]
    path = write_csv(tmp_path / "orders.csv", header, [
        ["O-1", "C-1", "web", EXTREMES[0], "SKU-A", "1"],
        ["O-2", "C-1", "web", EXTREMES[1], "SKU-A", "1"],
        ["O-3", "C-1", "web", "2024-03-05T10:00:00+08:00", "SKU-A", "1"],
    ])
    result = run(path, "orders")
    assert (result.created, result.rejected) == (1, 2)
    errors = read_errors(result.error_file)
    assert [e["line"] for e in errors] == ["2", "3"] and all("ordered_at" in e["error"] for e in errors)
    customers = write_csv(tmp_path / "customers.csv", ["external_id", "name", "acquired_on"], [["C-9", "Old", "0001-01-01"]])
    assert run(customers, "customers").rejected == 1
