"""Orders created by an import send ``order.created`` like orders created through the API."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.commerce.models import Order
from patron.commerce.services import order_event_payload
from patron.commerce.signals import customers_changed
from patron.core.columns import COLUMNS
from patron.imports.kinds.orders import OrderImporter
from patron.ingest.delivery import verify_signature
from patron.ingest.models import WebhookDelivery
from patron.ingest.webhooks import webhook_create
from tests.factories import make_branch, make_customer, make_product
from tests.imports.helpers import counts, run, write_csv
from tests.imports.test_fastpath import load_rates, rows
from tests.ingest.test_webhooks import Receiver, run_worker

HEADER = list(COLUMNS["orders"].columns)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def world(db):
    make_branch("N1", "North One", region_code="N", region_name="North")
    load_rates()
    for i in range(6):
        make_customer(f"Customer {i}", external_id=f"C-{i}", currency="EUR" if i == 2 else "CNY")
    for sku, price, cost in (("A", "100.00", "60.00"), ("B", "19.99", "7.33"), ("C", "0.10", "0.07")):
        make_product(price=Decimal(price), cost=Decimal(cost), sku=sku)


def row_path_only(monkeypatch):
    monkeypatch.setattr(OrderImporter, "fast_path", lambda self, *a: None)


def delivered_orders(receiver, secret):
    """external id -> the order's data, from what the receiver got (each one checked signed)."""
    out = {}
    for request in receiver.requests:
        headers = request["headers"]
        assert verify_signature(secret, request["body"], headers["X-Patron-Timestamp"], headers["X-Patron-Signature"])
        body = json.loads(request["body"])
        assert body["event"] == headers["X-Patron-Event"] == "order.created"
        assert body["data"]["external_id"] not in out  # one event per order
        out[body["data"]["external_id"]] = body["data"]
    return out


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["columnar", "row"])
def test_imported_orders_reach_a_receiver_once_and_a_reimport_sends_nothing(
    tmp_path, monkeypatch, world, receiver, path
):
    if path == "row":
        row_path_only(monkeypatch)
    hook = webhook_create(name="ERP", url=receiver.url, events=["order.created"])
    data = rows(12)
    csv_path = write_csv(tmp_path / "orders.csv", HEADER, data)
    result = run(csv_path, "orders", batch_size=10)
    assert result.batches > 1 and result.rejected == 0
    assert receiver.requests == []  # sent by the worker, not by the import
    run_worker()
    sent = delivered_orders(receiver, hook.secret)
    assert set(sent) == {f"O-{o:04d}" for o in range(12)} == set(Order.objects.values_list("external_id", flat=True))
    # The same data as order_create's webhook sends for an order made through the API.
    for order in Order.objects.select_related("customer", "branch"):
        lines = list(order.lines.select_related("product").order_by("line_no"))
        assert sent[order.external_id] == order_event_payload(order, lines, customer=order.customer)
    first = [r for r in data if r[0] == "O-0001"]
    assert [line["product_sku"] for line in sent["O-0001"]["lines"]] == [r[8] for r in first]
    assert sent["O-0001"]["customer_external_id"] == first[0][1]
    assert WebhookDelivery.objects.filter(status="delivered").count() == 12

    again = run(csv_path, "orders", batch_size=10)
    assert counts(again) == (0, 0, len(data), 0)
    assert WebhookDelivery.objects.count() == 12
    run_worker()
    assert len(receiver.requests) == 12


@pytest.mark.django_db
def test_rejected_orders_and_dry_runs_send_nothing(tmp_path, world):
    webhook_create(name="ERP", url="http://127.0.0.1:9/hook", events=["order.created"])
    data = rows(6)
    bad = next(i for i, r in enumerate(data) if r[0] == "O-0003")
    data[bad][8] = "NO-SUCH-SKU"
    csv_path = write_csv(tmp_path / "orders.csv", HEADER, data)
    assert run(csv_path, "orders", dry_run=True).created > 0
    assert not WebhookDelivery.objects.exists()
    result = run(csv_path, "orders")
    assert result.rejected == sum(r[0] == "O-0003" for r in data)
    events = WebhookDelivery.objects.filter(event="order.created")
    assert sorted(d.payload["data"]["external_id"] for d in events) == ["O-0000", "O-0001", "O-0002", "O-0004", "O-0005"]


@pytest.mark.django_db
def test_lines_added_to_an_existing_order_are_not_a_new_order(tmp_path, world):
    webhook_create(name="ERP", url="http://127.0.0.1:9/hook", events=["order.created"])
    first = [["X-1", "C-1", "", "web", "", "2024-05-01 10:00", "", "1", "A", "1", "", ""]]
    run(write_csv(tmp_path / "a.csv", HEADER, first), "orders")
    more = [*first, ["X-1", "C-1", "", "web", "", "2024-05-01 10:00", "", "2", "B", "3", "", ""]]
    result = run(write_csv(tmp_path / "b.csv", HEADER, more), "orders")
    assert counts(result) == (1, 0, 1, 0)
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["columnar", "row"])
def test_one_outbox_insert_per_batch(tmp_path, monkeypatch, world, path):
    if path == "row":
        row_path_only(monkeypatch)
    webhook_create(name="ERP", url="http://127.0.0.1:9/hook", events=["order.created"])
    webhook_create(name="BI", url="http://127.0.0.1:9/bi", events=["order.created", "response.received"])
    csv_path = write_csv(tmp_path / "orders.csv", HEADER, rows(40))
    with CaptureQueriesContext(connection) as queries:
        result = run(csv_path, "orders", batch_size=30)
    assert result.batches >= 3
    assert WebhookDelivery.objects.count() == 2 * 40
    if connection.vendor == "sqlite":  # PostgreSQL's COPY does not pass through Django's query log
        table = WebhookDelivery._meta.db_table
        inserts = [q for q in queries.captured_queries if f'INSERT INTO "{table}"' in q["sql"]]
        assert len(inserts) == result.batches


@pytest.mark.django_db
def test_a_killed_run_and_its_rerun_send_each_order_once(tmp_path, world):
    webhook_create(name="ERP", url="http://127.0.0.1:9/hook", events=["order.created"])
    csv_path = write_csv(tmp_path / "orders.csv", HEADER, rows(30))
    calls = {"n": 0}

    def dying(sender, customer_ids, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    customers_changed.connect(dying, dispatch_uid="test-kill-webhooks")
    try:
        with pytest.raises(KeyboardInterrupt):
            run(csv_path, "orders", batch_size=10)
    finally:
        customers_changed.disconnect(dispatch_uid="test-kill-webhooks")
    landed = set(Order.objects.values_list("external_id", flat=True))
    assert 0 < len(landed) < 30
    assert {d.payload["data"]["external_id"] for d in WebhookDelivery.objects.all()} == landed
    run(csv_path, "orders", batch_size=10)
    sent = [d.payload["data"]["external_id"] for d in WebhookDelivery.objects.all()]
    assert sorted(sent) == sorted(f"O-{o:04d}" for o in range(30))
