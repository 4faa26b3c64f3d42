"""Imports of money in another currency, and the rates kind: a row without a rate is a row error."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from patron.commerce.models import CostEvent, ExchangeRate, Order
from patron.core.columns import COLUMNS
from patron.customers.models import Customer
from patron.imports import fastpath
from patron.imports.kinds.rates import RateImporter
from tests.factories import make_customer, make_product, make_user
from tests.imports.helpers import counts, read_errors, run, write_csv, write_xlsx

pytestmark = pytest.mark.django_db
ORDERS = list(COLUMNS["orders"].columns)


@pytest.fixture
def world(db):
    make_customer("Acme", external_id="C-1")
    make_customer("Globex", external_id="C-2", currency="USD")
    make_product(sku="A", price=Decimal("10"), cost=Decimal("4"), currency="USD")
    ExchangeRate.objects.create(currency="USD", date=date(2025, 3, 3), rate=Decimal("7.2"))


def order_row(ext, customer, at, *, currency="", sku="A", qty="1", price=""):
    values = {"external_id": ext, "customer_external_id": customer, "channel": "web", "ordered_at": at,
              "currency": currency, "product_sku": sku, "quantity": qty, "unit_price": price}
    return [values.get(c, "") for c in ORDERS]


def test_order_rows_without_a_rate_are_row_errors_and_good_rows_land(tmp_path, world):
    path = write_csv(tmp_path / "orders.csv", ORDERS, [
        order_row("O-1", "C-2", "2025-03-05T10:00:00+08:00"),  # the customer's USD; Monday's rate
        order_row("O-2", "C-2", "2025-03-20T10:00:00+08:00"),  # 17 days after the only rate
        order_row("O-3", "C-1", "2025-03-05T10:00:00+08:00", currency="CNY", price="3"),
        order_row("O-4", "C-1", "2025-03-05T10:00:00+08:00", currency="EUR", price="3"),
    ])
    result = run(path, "orders")
    assert counts(result) == (2, 0, 0, 2)
    errors = {e["line"]: e["error"] for e in read_errors(result.error_file)}
    assert "USD" in errors["3"] and "2025-03-20" in errors["3"]
    assert "EUR" in errors["5"] and "2025-03-05" in errors["5"]
    o1 = Order.objects.get(external_id="O-1")
    assert (o1.currency, o1.revenue, o1.exchange_rate, o1.base_revenue, o1.base_cost_of_goods) == (
        "USD", Decimal("10.00"), Decimal("7.2"), Decimal("72.00"), Decimal("28.80"))
    globex = Customer.objects.get(external_id="C-2")
    assert (globex.revenue_total, globex.order_count) == (Decimal("72.00"), 1)
    assert Customer.objects.get(external_id="C-1").revenue_total == Decimal("3.00")
    # Once a rate is loaded, the same file lands the rest and leaves the others unchanged.
    ExchangeRate.objects.create(currency="USD", date=date(2025, 3, 19), rate=Decimal("7.3"))
    ExchangeRate.objects.create(currency="EUR", date=date(2025, 3, 5), rate=Decimal("7.9"))
    assert counts(run(path, "orders")) == (2, 0, 2, 0)
    globex.refresh_from_db()
    assert (globex.revenue_total, globex.order_count) == (Decimal("145.00"), 2)


def test_the_columnar_path_converts_and_falls_back_when_a_rate_is_missing(tmp_path, world, monkeypatch):
    calls = {"fast": 0}
    original = fastpath.orders_fast_batch

    def counting(*args):
        result = original(*args)
        calls["fast"] += result is not None
        return result

    monkeypatch.setattr(fastpath, "orders_fast_batch", counting)
    clean = write_csv(tmp_path / "clean.csv", ORDERS, [
        order_row(f"F-{i}", "C-2", "2025-03-05T10:00:00+08:00", qty=str(i + 1)) for i in range(4)
    ])
    assert counts(run(clean, "orders")) == (4, 0, 0, 0) and calls["fast"] == 1
    assert sorted(Order.objects.values_list("base_revenue", flat=True)) == [Decimal(72 * n) for n in (1, 2, 3, 4)]
    gap = write_csv(tmp_path / "gap.csv", ORDERS, [
        order_row("G-1", "C-2", "2025-03-05T10:00:00+08:00"),
        order_row("G-2", "C-2", "2025-04-05T10:00:00+08:00"),
    ])
    result = run(gap, "orders")
    assert counts(result) == (1, 0, 0, 1) and calls["fast"] == 1  # the row path took this batch
    assert "2025-04-05" in result.errors[0][1]
    globex = Customer.objects.get(external_id="C-2")
    assert globex.revenue_total == Decimal(72 * 11) and globex.order_count == 5


def test_an_order_waiting_for_a_rate_is_converted_by_a_reimport(tmp_path, world):
    path = write_csv(tmp_path / "orders.csv", ORDERS, [order_row("O-1", "C-2", "2025-03-05T10:00:00+08:00")])
    run(path, "orders")
    Order.objects.update(exchange_rate=None, base_revenue=0, base_cost_of_goods=0)  # as the migration leaves it
    assert counts(run(path, "orders")) == (0, 1, 0, 0)
    assert Order.objects.get().base_revenue == Decimal("72.00")


def test_cost_events_in_another_currency(tmp_path, world):
    header = ["external_id", "customer_external_id", "kind", "amount", "currency", "occurred_at"]
    path = write_csv(tmp_path / "events.csv", header, [
        ["E-1", "C-1", "ticket", "$10", "", "2025-03-05T10:00:00+08:00"],  # the symbol names USD
        ["E-2", "C-2", "ticket", "10", "", "2025-03-05T10:00:00+08:00"],  # the customer's USD
        ["E-3", "C-1", "ticket", "10", "USD", "2025-05-05T10:00:00+08:00"],  # no rate
        ["E-4", "C-1", "ticket", "10", "", "2025-05-05T10:00:00+08:00"],  # CNY
    ])
    result = run(path, "cost_events")
    assert counts(result) == (3, 0, 0, 1)
    assert "USD" in result.errors[0][1] and "2025-05-05" in result.errors[0][1]
    assert sorted(CostEvent.objects.values_list("external_id", "currency", "base_amount")) == [
        ("E-1", "USD", Decimal("72.00")), ("E-2", "USD", Decimal("72.00")), ("E-4", "CNY", Decimal("10.00"))]
    assert Customer.objects.get(external_id="C-1").cost_to_serve_total == Decimal("82.00")
    assert counts(run(path, "cost_events")) == (0, 0, 3, 1)
    # A file without a currency column updates an event in its own currency.
    update = write_csv(tmp_path / "update.csv", ["external_id", "customer_external_id", "kind", "amount", "occurred_at"],
                       [["E-2", "C-2", "ticket", "20", "2025-03-05T10:00:00+08:00"]])
    assert counts(run(update, "cost_events")) == (0, 1, 0, 0)
    assert CostEvent.objects.get(external_id="E-2").base_amount == Decimal("144.00")
    assert Customer.objects.get(external_id="C-2").cost_to_serve_total == Decimal("144.00")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_rates_kind(tmp_path, world, fmt):
    # An order that waits for a EUR rate is converted by the import that brings it.
    from patron.commerce.services import LineInput, order_create
    from tests.commerce.test_currency import at

    ExchangeRate.objects.create(currency="EUR", date=date(2025, 3, 5), rate=Decimal("8"))
    waiting = order_create(customer=Customer.objects.get(external_id="C-1"), channel="web", ordered_at=at("2025-03-05"),
                           lines=[LineInput(make_product(price=5, cost=0, currency="EUR"), 1)], currency="EUR")
    Order.objects.filter(pk=waiting.pk).update(exchange_rate=None, base_revenue=0, base_cost_of_goods=0)
    ExchangeRate.objects.filter(currency="EUR").delete()
    header = list(COLUMNS["rates"].columns)
    rows = [
        ["USD", "2025-03-03", "7.2", ""],  # unchanged
        ["USD", "2025-03-04", "7.25", "PBOC"],
        ["EUR", "2025-03-05", "7.9", ""],
        ["CNY", "2025-03-05", "1", ""],  # the base currency
        ["GBP", "2025-03-05", "0", ""],
        ["USD", "2025-03-04", "7.3", ""],  # the same day twice
        ["JPY", "2025-03-05", "0.04812345678", ""],  # eleven places
    ]
    write = write_csv if fmt == "csv" else write_xlsx
    path = write(tmp_path / f"rates.{fmt}", header, rows)
    result = run(path, "rates")
    assert counts(result) == (2, 0, 1, 4), result.errors
    lines = [line for line, _message in result.errors]
    assert lines == [5, 6, 7, 8]
    assert ExchangeRate.objects.get(currency="USD", date=date(2025, 3, 4)).source == "PBOC"
    waiting.refresh_from_db()
    assert waiting.base_revenue == Decimal("39.50")
    rows[1][2] = "7.26"
    assert counts(run(write(tmp_path / f"again.{fmt}", header, rows[:3]), "rates")) == (0, 1, 2, 0)


def test_only_administrators_import_rates(db):
    assert RateImporter.permitted(make_user("root", "admin"))
    assert not RateImporter.permitted(make_user("alice", "rep"))
    assert not RateImporter.permitted(make_user("mia", "manager"))


def test_the_order_created_payload_of_imported_orders_carries_base_amounts_in_bounded_queries(tmp_path, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from patron.imports.events import orders_created
    from patron.ingest.models import WebhookDelivery
    from patron.ingest.webhooks import webhook_create

    webhook_create(name="ERP", url="http://127.0.0.1:9/hook", events=["order.created"])
    path = write_csv(tmp_path / "orders.csv", ORDERS, [
        order_row(f"O-{i}", "C-2", "2025-03-05T10:00:00+08:00") for i in range(6)
    ])
    assert counts(run(path, "orders")) == (6, 0, 0, 0)
    data = WebhookDelivery.objects.first().payload["data"]
    assert (data["currency"], data["revenue"], data["base_currency"], data["exchange_rate"], data["base_revenue"]) == (
        "USD", "10.00", "CNY", "7.2", "72.00")
    ids = sorted(Order.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as two:
        orders_created(ids[:2])
    with CaptureQueriesContext(connection) as six:
        orders_created(ids)
    assert len(six) == len(two)


def test_the_order_list_sorts_by_base_revenue(client, tmp_path, world, alice):
    from django.urls import reverse

    from patron.commerce.services import LineInput, order_create
    from tests.commerce.test_currency import at

    Customer.objects.update(owner=alice)
    acme, globex = Customer.objects.get(external_id="C-1"), Customer.objects.get(external_id="C-2")
    # 20 USD is 144 CNY: more than the 100 CNY order although 20 < 100.
    order_create(customer=globex, channel="web", ordered_at=at("2025-03-05"),
                 lines=[LineInput(make_product(price=20, cost=0, currency="USD"), 1)], external_id="USD")
    order_create(customer=acme, channel="web", ordered_at=at("2025-03-05"),
                 lines=[LineInput(make_product(price=100, cost=0), 1)], external_id="CNY")
    client.force_login(alice)
    for sort, expected in (("-revenue", ["USD", "CNY"]), ("revenue", ["CNY", "USD"])):
        rows = client.get(reverse("order-list"), {"sort": sort}).context["rows"]
        assert [o.external_id for o in rows] == expected
