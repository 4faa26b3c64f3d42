"""Batch ingestion: per-item results, good items land, totals exact, idempotent re-runs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Count, Max, Min, Sum

from patron.commerce.models import CostEvent, Order
from patron.customers.models import Customer
from patron.engagement.models import Interaction
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


def item(ext, customer, at="2025-05-01T10:00:00+08:00", sku="A", qty=1, **extra):
    body = {"external_id": ext, "channel": "web", "ordered_at": at, "lines": [{"product_sku": sku, "quantity": qty}]}
    body["customer_external_id" if isinstance(customer, str) else "customer_id"] = customer
    body.update(extra)
    return body


def assert_totals_match_orders(customer):
    customer.refresh_from_db()
    agg = Order.objects.filter(customer=customer).aggregate(
        revenue=Sum("base_revenue"), cogs=Sum("base_cost_of_goods"), n=Count("id"), first=Min("ordered_at"),
        last=Max("ordered_at"),
    )
    serve = CostEvent.objects.filter(customer=customer).aggregate(s=Sum("base_amount"))["s"] or Decimal(0)
    assert customer.revenue_total == (agg["revenue"] or 0)
    assert customer.cogs_total == (agg["cogs"] or 0)
    assert customer.cost_to_serve_total == serve
    assert customer.profit_total == (agg["revenue"] or 0) - (agg["cogs"] or 0) - serve
    assert customer.order_count == agg["n"]
    assert customer.first_order_at == agg["first"] and customer.last_order_at == agg["last"]


@pytest.fixture
def world(alice, bob):
    make_product(sku="A", price=Decimal("19.90"), cost=Decimal("7.30"))
    make_product(sku="B", price=Decimal("0.35"), cost=Decimal("0.12"), external_id="PB")
    mine = make_customer("Mine", owner=alice, external_id="M-1")
    other = make_customer("Other", owner=alice)
    theirs = make_customer("Theirs", owner=bob, external_id="T-1")
    make_order(mine, external_id="OLD-1")
    return mine, other, theirs


def test_mixed_batch_reports_each_item_and_lands_the_good_ones(as_alice, world):
    mine, other, theirs = world
    items = [
        item("N-1", "M-1", qty=3),
        item("OLD-1", "M-1"),  # already there
        item("N-2", other.pk, at="2024-12-31T23:00:00+00:00", lines=[
            {"product_sku": "A", "quantity": "2.5"}, {"product_external_id": "PB", "quantity": 7, "unit_price": "0.30"}]),
        item("N-1", "M-1"),  # repeated in the batch
        item("N-3", "T-1"),  # bob's customer
        item("N-4", "M-1", sku="NOPE"),
        item("N-5", "M-1", at="2025-05-01T10:00:00"),  # naive time
        "not an object",
        item("N-6", "M-1", qty=-2),
        item("N-7", mine.pk, at="2026-01-01T00:00:00+08:00"),
    ]
    response = as_alice.post("/ingest/orders", {"items": items})
    assert response.status_code == 200, response.content
    body = response.json()
    statuses = [(r["index"], r["status"], r.get("code")) for r in body["results"]]
    assert statuses == [
        (0, "created", None),
        (1, "duplicate", None),
        (2, "created", None),
        (3, "duplicate", None),
        (4, "error", "unknown_customer"),
        (5, "error", "unknown_product"),
        (6, "error", "invalid"),
        (7, "error", "invalid"),
        (8, "error", "invalid"),
        (9, "created", None),
    ]
    assert (body["created"], body["duplicates"], body["errors"]) == (3, 2, 5)
    assert "ordered_at" in body["results"][6]["message"]
    assert "quantity" in body["results"][8]["message"]
    assert body["results"][1]["id"] == Order.objects.get(external_id="OLD-1").pk
    n2 = Order.objects.get(pk=body["results"][2]["id"])
    assert n2.revenue == Decimal("51.85")  # 2.5×19.90=49.75 + 7×0.30=2.10
    assert n2.cost_of_goods == Decimal("19.09")  # 2.5×7.30=18.25 + 7×0.12=0.84
    assert list(n2.lines.values_list("line_no", flat=True)) == [1, 2]
    assert not Order.objects.filter(external_id__in=["N-3", "N-4", "N-5", "N-6"]).exists()
    assert not theirs.orders.exists()
    for customer in (mine, other):
        assert_totals_match_orders(customer)
    # Equal to what the one-order service computes for the same input.
    assert as_alice.post("/orders", item("S-1", other.pk, lines=[
        {"product_sku": "A", "quantity": "2.5"}, {"product_external_id": "PB", "quantity": 7, "unit_price": "0.30"}])
    ).json()["cost_of_goods"] == "19.09"


def test_sending_the_same_batch_twice_changes_nothing(as_alice, world):
    mine, other, _ = world
    items = [item(f"R-{n}", "M-1" if n % 2 else other.pk, qty=n + 1) for n in range(50)]
    first = as_alice.post("/ingest/orders", {"items": items}).json()
    assert first["created"] == 50
    mine.refresh_from_db()
    before = (mine.revenue_total, mine.order_count)
    again = as_alice.post("/ingest/orders", {"items": items}, ).json()
    assert again["created"] == 0 and again["duplicates"] == 50
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    mine.refresh_from_db()
    assert (mine.revenue_total, mine.order_count) == before
    assert_totals_match_orders(mine)


def test_problems_only_answer(as_alice, world):
    response = as_alice.client.post(
        "/api/v1/ingest/orders?results=problems",
        data={"items": [item("P-1", "M-1"), item("P-2", "NOBODY")]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {as_alice.token}"},
    ).json()
    assert response["created"] == 1 and [r["index"] for r in response["results"]] == [1]


def test_ingested_orders_are_on_the_timeline_at_once(as_alice, world):
    mine = world[0]
    as_alice.post("/ingest/orders", {"items": [item("TL-1", "M-1", at="2030-01-01T00:00:00+00:00")]})
    timeline = as_alice.get(f"/customers/{mine.pk}/timeline").json()
    assert timeline["items"][0]["title"].endswith("TL-1")


def test_events_batch(as_alice, alice, world):
    mine, other, _ = world
    items = [
        {"type": "cost_event", "external_id": "CE-1", "customer_external_id": "M-1", "kind": "return",
         "amount": "12.40", "occurred_at": "2025-05-02T08:00:00+08:00"},
        {"type": "interaction", "external_id": "IN-1", "customer_id": other.pk, "channel": "complaint",
         "subject": "Late delivery", "handled_by": "alice", "occurred_at": "2025-05-02T09:00:00+08:00"},
        {"type": "cost_event", "customer_external_id": "M-1", "kind": "ticket", "amount": "2.60",
         "occurred_at": "2025-05-03T08:00:00+08:00"},
        {"type": "survey", "customer_id": mine.pk},
        {"type": "interaction", "customer_id": mine.pk, "channel": "fax", "subject": "x"},
        {"type": "cost_event", "external_id": "CE-1", "customer_external_id": "M-1", "kind": "return",
         "amount": "12.40", "occurred_at": "2025-05-02T08:00:00+08:00"},
        {"type": "interaction", "customer_external_id": "T-1", "channel": "call", "subject": "Bob's"},
    ]
    body = as_alice.post("/ingest/events", {"items": items}).json()
    assert [r["status"] for r in body["results"]] == ["created", "created", "created", "error", "error", "duplicate", "error"]
    assert body["results"][4]["code"] == "invalid" and "channel" in body["results"][4]["message"]
    mine.refresh_from_db()
    assert mine.cost_to_serve_total == Decimal("15.00")
    assert_totals_match_orders(mine)
    interaction = Interaction.objects.get(external_id="IN-1")
    assert interaction.handled_by == alice and interaction.channel == "complaint"


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{oops", 400, "malformed_json"),
        ('{"items": "many"}', 422, "invalid"),
        ('{"items": []}', 422, "invalid"),
        ('{"items": [], "extra": 1}', 422, "invalid"),
        ("[]", 422, "invalid"),
    ],
)
def test_bad_batch_bodies(as_alice, world, raw, status, code):
    response = as_alice.post("/ingest/orders", raw=raw)
    assert response.status_code == status and response.json()["code"] == code


def test_batch_limits_and_roles(as_alice, as_nora, world, settings):
    settings.PATRON_API_MAX_BATCH_ITEMS = 3
    too_many = as_alice.post("/ingest/orders", {"items": [item(f"L-{n}", "M-1") for n in range(4)]})
    assert too_many.status_code == 413 and too_many.json()["code"] == "too_many_items"
    settings.PATRON_API_MAX_BATCH_BYTES = 100
    assert as_alice.post("/ingest/orders", {"items": [item("L-9", "M-1")] * 2}).status_code == 413
    settings.PATRON_API_MAX_BATCH_BYTES = 10**6
    refused = as_nora.post("/ingest/orders", {"items": [item("L-1", "M-1")]})
    assert refused.status_code == 403
    assert not Order.objects.filter(external_id__startswith="L-").exists()
    assert Customer.objects.get(external_id="M-1").order_count == 1


def test_the_collector_pause_nests_and_restores_the_previous_state():
    import gc

    from patron.ingest.batch import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # still inside the outer batch
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # someone else's choice is kept
    finally:
        gc.enable()
