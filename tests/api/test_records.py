"""Products, orders, cost events, interactions and tasks over the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patron.commerce.models import Product
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db

AT = "2025-04-01T10:00:00+08:00"


def test_products_are_read_by_all_and_changed_by_admins(as_alice, as_root):
    created = as_root.post("/products", {"sku": "TEA-1", "name": "Oolong", "list_price": "88.00", "unit_cost": "30.00"})
    assert created.status_code == 201
    pid = created.json()["id"]
    assert as_alice.get(f"/products/{pid}").json()["name"] == "Oolong"
    refused = as_alice.patch(f"/products/{pid}", {"list_price": "1.00"})
    assert refused.status_code == 403
    assert as_alice.post("/products", {"sku": "X", "name": "X", "list_price": 1, "unit_cost": 1}).status_code == 403
    assert as_root.patch(f"/products/{pid}", {"list_price": "98.00", "is_active": False}).json()["list_price"] == "98.00"
    assert Product.objects.get(pk=pid).is_active is False
    again = as_root.post("/products", {"sku": "TEA-1", "name": "Again", "list_price": 1, "unit_cost": 1})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    other = as_root.post("/products", {"sku": "TEA-2", "name": "Green", "list_price": 1, "unit_cost": 1}).json()
    assert as_root.patch(f"/products/{other['id']}", {"sku": "TEA-1"}).status_code == 409
    assert as_alice.get("/products", q="oolong").json()["count"] == 1


def test_order_with_lines_by_id_external_id_and_sku(as_alice, alice):
    customer = make_customer("Buyer", owner=alice, external_id="CUS-1")
    a = make_product(sku="A", price=10, cost=4, external_id="PA")
    make_product(sku="B", price=Decimal("2.50"), cost=1)
    c = make_product(sku="C", price=7, cost=3)
    response = as_alice.post(
        "/orders",
        {
            "customer_external_id": "CUS-1",
            "external_id": "ORD-1",
            "channel": "store",
            "ordered_at": AT,
            "branch": None,
            "lines": [
                {"product_external_id": "PA", "quantity": 2},
                {"product_sku": "B", "quantity": "1.5", "unit_price": "2.00"},
                {"product_id": c.pk, "quantity": 1, "unit_cost": "3.50"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["revenue"] == "30.00"  # 20 + 3 + 7
    assert order["cost_of_goods"] == "13.00"  # 8 + 1.5 + 3.5
    assert [(ln["product_sku"], ln["amount"]) for ln in order["lines"]] == [("A", "20.00"), ("B", "3.00"), ("C", "7.00")]
    assert order["customer_external_id"] == "CUS-1" and a.pk == order["lines"][0]["product_id"]
    customer.refresh_from_db()
    assert customer.revenue_total == Decimal("30.00") and customer.profit_total == Decimal("17.00")


def test_patching_an_order_moves_the_customers_totals(as_alice, alice):
    customer = make_customer("P", owner=alice)
    make_product(sku="Z", price=50, cost=20)
    first = make_order(customer)  # 100 revenue, 60 goods
    order = as_alice.post(
        "/orders", {"customer_id": customer.pk, "channel": "web", "ordered_at": AT, "lines": [{"product_sku": "Z", "quantity": 1}]}
    ).json()
    patched = as_alice.patch(
        f"/orders/{order['id']}",
        {"lines": [{"product_sku": "Z", "quantity": 3}], "ordered_at": "2020-01-01T00:00:00+00:00", "channel": "app"},
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["revenue"] == "150.00" and patched.json()["channel"] == "app"
    customer.refresh_from_db()
    assert customer.revenue_total == Decimal("250.00")
    assert customer.cogs_total == Decimal("120.00")
    assert customer.profit_total == Decimal("130.00")
    assert customer.order_count == 2
    assert customer.first_order_at.year == 2020 and customer.last_order_at == first.ordered_at


def test_cost_events_change_profit(as_alice, alice, bob):
    customer = make_customer("C", owner=alice)
    theirs = make_customer("T", owner=bob)
    made = as_alice.post(
        "/cost-events", {"customer_id": customer.pk, "kind": "delivery", "amount": "15.00", "occurred_at": AT}
    )
    assert made.status_code == 201
    as_alice.patch(f"/cost-events/{made.json()['id']}", {"amount": "25.00"})
    customer.refresh_from_db()
    assert customer.cost_to_serve_total == Decimal("25.00") and customer.profit_total == Decimal("-25.00")
    assert as_alice.post(
        "/cost-events", {"customer_id": theirs.pk, "kind": "delivery", "amount": "1", "occurred_at": AT}
    ).status_code == 404
    assert as_alice.post(
        "/cost-events", {"customer_id": customer.pk, "kind": "bribe", "amount": "1", "occurred_at": AT}
    ).status_code == 422
    listed = as_alice.get("/cost-events", customer_id=customer.pk).json()
    assert listed["count"] == 1 and listed["items"][0]["amount"] == "25.00"


def test_orders_list_is_scoped_and_filtered(as_alice, alice, bob):
    mine = make_customer("M", owner=alice)
    theirs = make_customer("T", owner=bob)
    make_order(mine, channel="web")
    make_order(mine, channel="store")
    hidden = make_order(theirs, channel="web")
    assert as_alice.get("/orders").json()["count"] == 2
    assert as_alice.get("/orders", channel="store").json()["count"] == 1
    assert as_alice.get(f"/orders/{hidden.pk}").status_code == 404
    assert as_alice.patch(f"/orders/{hidden.pk}", {"channel": "app"}).status_code == 404


def test_interactions_and_tasks(as_alice, alice, bob):
    customer = make_customer("I", owner=alice, external_id="I-1")
    logged = as_alice.post(
        "/interactions", {"customer_external_id": "I-1", "channel": "call", "subject": "Renewal", "occurred_at": AT}
    )
    assert logged.status_code == 201 and logged.json()["handled_by"] == "alice"
    iid = logged.json()["id"]
    assert as_alice.patch(f"/interactions/{iid}", {"body": "Wants a discount"}).json()["body"] == "Wants a discount"
    assert as_alice.get("/interactions", channel="call").json()["count"] == 1
    assert as_alice.post(
        "/interactions", {"customer_id": customer.pk, "channel": "call", "subject": "x", "handled_by": "ghost"}
    ).json()["code"] == "unknown_user"

    task = as_alice.post("/tasks", {"customer_id": customer.pk, "title": "Send quote", "due_at": AT})
    assert task.status_code == 201 and task.json()["assignee"] == "alice"
    done = as_alice.patch(f"/tasks/{task.json()['id']}", {"status": "done"}).json()
    assert done["status"] == "done" and done["completed_at"] is not None
    reopened = as_alice.patch(f"/tasks/{task.json()['id']}", {"status": "open"}).json()
    assert reopened["completed_at"] is None
    assert as_alice.patch(f"/tasks/{task.json()['id']}", {"status": "maybe"}).status_code == 422
    theirs = make_customer("T", owner=bob)
    assert as_alice.post("/tasks", {"customer_id": theirs.pk, "title": "No"}).status_code == 404


def test_openapi_document_and_docs_page(as_alice):
    schema = as_alice.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/customers", "/api/v1/orders", "/api/v1/ingest/orders", "/api/v1/customers/{customer_id}/timeline",
                 "/api/v1/contacts", "/api/v1/products", "/api/v1/cost-events", "/api/v1/interactions", "/api/v1/tasks",
                 "/api/v1/webhooks"):
        assert path in paths, path
    assert "bearer" in str(schema.json()["components"]["securitySchemes"]).lower()
    # Several Django enums share a class name (Kind, Status): each field documents its own values.
    components = schema.json()["components"]["schemas"]
    assert components["CustomerIn"]["properties"]["kind"]["enum"] == ["person", "company"]
    assert components["CostEventIn"]["properties"]["kind"]["enum"] == ["ticket", "return", "delivery", "claim", "visit"]
    assert as_alice.get("/docs").status_code == 200
