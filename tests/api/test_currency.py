"""Currencies over the API: rates, orders and cost events in another currency, batch ingestion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from patron.commerce.models import CostEvent, ExchangeRate, Order
from patron.customers.models import Customer
from tests.factories import make_customer, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice):
    make_product(sku="A", price=Decimal("100"), cost=Decimal("60"), currency="USD")
    make_product(sku="K", price=Decimal("50"), cost=Decimal("20"))  # CNY
    return make_customer("Acme", owner=alice, external_id="M-1", currency="CNY")


def order_body(**extra):
    body = {"customer_external_id": "M-1", "channel": "web", "ordered_at": "2025-03-05T10:00:00+08:00",
            "lines": [{"product_sku": "A", "quantity": 1}]}
    body.update(extra)
    return body


def test_an_order_in_usd_without_a_rate_is_a_422_naming_currency_and_date(as_alice, world):
    response = as_alice.post("/orders", order_body(currency="USD"))
    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "missing_rate"
    assert error["details"] == {"currency": "USD", "date": "2025-03-05"}
    assert "USD" in error["message"] and "2025-03-05" in error["message"]
    assert not Order.objects.exists()
    world.refresh_from_db()
    assert world.revenue_total == 0


def test_an_order_in_usd_shows_original_and_base_amounts(as_alice, as_root, world):
    saved = as_root.post("/rates", {"currency": "USD", "date": "2025-03-05", "rate": "7.1"})
    assert saved.status_code == 200, saved.json()
    response = as_alice.post("/orders", order_body(currency="USD"))
    assert response.status_code == 201, response.json()
    order = response.json()
    assert (order["currency"], order["revenue"], order["cost_of_goods"]) == ("USD", "100.00", "60.00")
    assert (order["base_currency"], order["exchange_rate"]) == ("CNY", "7.1")
    assert (order["base_revenue"], order["base_cost_of_goods"]) == ("710.00", "426.00")
    assert as_alice.get(f"/orders/{order['id']}").json() == order
    world.refresh_from_db()
    assert (world.revenue_total, world.profit_total) == (Decimal("710.00"), Decimal("284.00"))
    # A CNY order says so: rate 1, base equal to the original.
    cny = as_alice.post("/orders", order_body(lines=[{"product_sku": "K", "quantity": 2}])).json()
    assert (cny["currency"], cny["exchange_rate"], cny["revenue"], cny["base_revenue"]) == ("CNY", "1", "100.00", "100.00")
    # Sorting by revenue compares base money: the 710 CNY order first, then the 100 CNY one.
    ids = [o["id"] for o in as_alice.get("/orders", sort="-revenue").json()["items"]]
    assert ids == [order["id"], cny["id"]]


def test_a_cost_event_in_usd_is_converted_or_refused(as_alice, as_root, world):
    body = {"customer_external_id": "M-1", "kind": "ticket", "amount": "10.00", "currency": "USD",
            "occurred_at": "2025-03-05T10:00:00+08:00"}
    refused = as_alice.post("/cost-events", body)
    assert refused.status_code == 422 and refused.json()["code"] == "missing_rate"
    as_root.post("/rates", [{"currency": "USD", "date": "2025-03-01", "rate": "7"}])  # 4 days before: used
    created = as_alice.post("/cost-events", body)
    assert created.status_code == 201, created.json()
    event = created.json()
    assert (event["amount"], event["currency"], event["base_amount"], event["base_currency"]) == ("10.00", "USD", "70.00", "CNY")
    changed = as_alice.patch(f"/cost-events/{event['id']}", {"occurred_at": "2025-04-05T10:00:00+08:00"})
    assert changed.status_code == 422 and changed.json()["code"] == "missing_rate"
    world.refresh_from_db()
    assert world.cost_to_serve_total == Decimal("70.00")


def test_rates_post_one_or_many_idempotent_and_listed(as_root, as_alice):
    one = as_root.post("/rates", {"currency": "USD", "date": "2025-03-05", "rate": "7.1234", "source": "PBOC"})
    assert one.status_code == 200
    assert one.json()["items"][0] | {"updated_at": None} == {
        "currency": "USD", "date": "2025-03-05", "rate": "7.1234", "source": "PBOC", "status": "created",
        "updated_at": None}
    many = [
        {"currency": "USD", "date": "2025-03-05", "rate": "7.1234", "source": "PBOC"},
        {"currency": "USD", "date": "2025-03-06", "rate": "7.2"},
        {"currency": "EUR", "date": "2025-03-06", "rate": "7.9"},
    ]
    assert [i["status"] for i in as_root.post("/rates", many).json()["items"]] == ["unchanged", "created", "created"]
    assert [i["status"] for i in as_root.post("/rates", many).json()["items"]] == ["unchanged"] * 3
    many[1]["rate"] = "7.25"
    assert [i["status"] for i in as_root.post("/rates", many).json()["items"]] == ["unchanged", "updated", "unchanged"]
    assert ExchangeRate.objects.count() == 3
    listed = as_alice.get("/rates", currency="USD").json()
    assert [(r["date"], r["rate"]) for r in listed["items"]] == [("2025-03-06", "7.25"), ("2025-03-05", "7.1234")]
    ranged = as_alice.get("/rates", date_from="2025-03-06", date_to="2025-03-06", sort="date").json()
    assert [r["currency"] for r in ranged["items"]] == ["EUR", "USD"]
    csv = as_alice.get("/rates", format="csv")
    assert csv.status_code == 200
    assert b"currency,date,rate,source" in b"".join(csv.streaming_content)


def test_rates_are_written_by_administrators_and_checked(as_root, as_alice):
    forbidden = as_alice.post("/rates", {"currency": "USD", "date": "2025-03-05", "rate": "7"})
    assert forbidden.status_code == 403
    for body, code in (
        ({"currency": "CNY", "date": "2025-03-05", "rate": "1"}, "base_currency"),
        ({"currency": "USD", "date": "2025-03-05", "rate": "0"}, "invalid"),
        ({"currency": "USD", "date": "2025-03-05", "rate": "-2"}, "invalid"),
        ({"currency": "usd", "date": "2025-03-05", "rate": "7"}, "invalid"),
        ({"currency": "USD", "date": "2025-02-30", "rate": "7"}, "invalid"),
        ({"currency": "USD", "date": "2025-03-05", "rate": "7", "extra": 1}, "invalid"),
        ([], "invalid"),
        ([{"currency": "USD", "date": "2025-03-05", "rate": "7"}] * 2, "duplicate_rate"),
    ):
        response = as_root.post("/rates", body)
        assert response.status_code == 422, (body, response.json())
        assert response.json()["code"] == code, (body, response.json())
    assert not ExchangeRate.objects.exists()


def test_posting_rates_converts_orders_that_waited_for_them(as_root, world):
    from patron.commerce.services import LineInput, order_create
    from tests.commerce.test_currency import at

    ExchangeRate.objects.create(currency="USD", date=date(2025, 3, 5), rate=Decimal("7"))
    order = order_create(customer=world, channel="web", ordered_at=at("2025-03-05"),
                         lines=[LineInput(make_product(price=10, cost=0, currency="USD"), 1)], currency="USD")
    # As the migration leaves an order in another currency that had no rate.
    Order.objects.filter(pk=order.pk).update(exchange_rate=None, base_revenue=0, base_cost_of_goods=0)
    ExchangeRate.objects.all().delete()
    Customer.objects.filter(pk=world.pk).update(revenue_total=0, profit_total=0, order_count=0)
    as_root.post("/rates", {"currency": "USD", "date": "2025-03-05", "rate": "7.5"})
    order.refresh_from_db()
    world.refresh_from_db()
    assert (order.base_revenue, world.revenue_total, world.order_count) == (Decimal("75.00"), Decimal("75.00"), 1)


def test_batch_items_without_a_rate_are_item_errors_and_the_others_land(as_alice, world):
    ExchangeRate.objects.create(currency="USD", date=date(2025, 3, 5), rate=Decimal("7"))
    items = [
        order_body(external_id="B-1", currency="USD"),
        order_body(external_id="B-2", currency="USD", ordered_at="2025-06-05T10:00:00+08:00"),  # no rate
        order_body(external_id="B-3", lines=[{"product_sku": "K", "quantity": 1}]),
        order_body(external_id="B-4", currency="EUR"),  # no EUR rates at all
    ]
    response = as_alice.post("/ingest/orders", {"items": items})
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created", "error"]
    assert [r.get("code") for r in results] == [None, "missing_rate", None, "missing_rate"]
    assert "USD" in results[1]["message"] and "2025-06-05" in results[1]["message"]
    assert "EUR" in results[3]["message"]
    b1 = Order.objects.get(external_id="B-1")
    assert (b1.currency, b1.revenue, b1.base_revenue, b1.exchange_rate) == ("USD", Decimal("100.00"), Decimal("700.00"), 7)
    world.refresh_from_db()
    assert (world.revenue_total, world.cogs_total, world.order_count) == (Decimal("750.00"), Decimal("440.00"), 2)
    # A CNY product's default price in a USD order is converted, as the service converts it.
    more = as_alice.post("/ingest/orders", {"items": [order_body(external_id="B-5", currency="USD",
                                                                   lines=[{"product_sku": "K", "quantity": 7}])]})
    assert more.json()["results"][0]["status"] == "created"
    b5 = Order.objects.get(external_id="B-5")
    # 50 CNY is 7.14 USD at 7; seven of them 49.98 USD, which is 349.86 CNY.
    assert (b5.revenue, b5.base_revenue) == (Decimal("49.98"), Decimal("349.86"))


def test_batch_cost_events_without_a_rate_are_item_errors(as_alice, world):
    ExchangeRate.objects.create(currency="USD", date=date(2025, 3, 5), rate=Decimal("7"))
    event = {"type": "cost_event", "customer_external_id": "M-1", "kind": "ticket", "amount": "10.00",
             "occurred_at": "2025-03-05T10:00:00+08:00"}
    items = [event | {"currency": "USD"}, event | {"currency": "USD", "occurred_at": "2025-06-05T10:00:00+08:00"},
             event]
    response = as_alice.post("/ingest/events", {"items": items})
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created"]
    assert results[1]["code"] == "missing_rate"
    assert sorted(CostEvent.objects.values_list("currency", "base_amount")) == [("CNY", Decimal("10.00")), ("USD", Decimal("70.00"))]
    world.refresh_from_db()
    assert world.cost_to_serve_total == Decimal("80.00")


def test_the_timeline_gives_base_amounts_and_the_originals(as_alice, as_root, world):
    as_root.post("/rates", {"currency": "USD", "date": "2025-03-05", "rate": "7.1"})
    as_alice.post("/orders", order_body(currency="USD"))
    items = as_alice.get(f"/customers/{world.pk}/timeline").json()["items"]
    order = next(i for i in items if i["kind"] == "order")
    assert (order["amount"], order["currency"]) == ("710.00", "CNY")
    assert (order["extra"]["original_amount"], order["extra"]["original_currency"]) == ("100.00", "USD")
