"""The columnar path for clean order batches writes exactly what the row path writes."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from patron.commerce.models import ExchangeRate, Order, OrderLine
from patron.core.columns import COLUMNS
from patron.customers.models import Customer
from patron.imports import fastpath
from patron.imports.kinds.orders import OrderImporter
from tests.factories import make_branch, make_customer, make_product
from tests.imports.helpers import counts, run, write_csv

pytestmark = pytest.mark.django_db
HEADER = list(COLUMNS["orders"].columns)


def rows(n_orders, seed=3, numbered=True):
    rng = random.Random(seed)
    out = []
    for o in range(n_orders):
        customer = f"C-{rng.randrange(6)}"
        at = f"2024-0{1 + o % 9}-{1 + o % 28:02d}T{o % 24:02d}:15:00+08:00" if o % 3 else f"2024-03-{1 + o % 28:02d} 09:00"
        channel = rng.choice(["web", "store", "phone"])
        branch = "N1" if o % 4 == 0 else ""
        currency = "" if o % 5 else "USD"
        for line in range(1, rng.randint(1, 4) + 1):
            sku = rng.choice(["A", "B", "C"])
            qty = rng.choice(["1", "2", "1.5", "0.333"])
            price = rng.choice(["", "19.99", "0.05", "1234.56"])
            cost = rng.choice(["", "7.33"])
            out.append([f"O-{o:04d}", customer, "", channel, branch, at, currency, line if numbered else "", sku, qty, price, cost])
    return out


def load_rates():
    """Rates for the USD and EUR orders of ``rows``: daily, but every other Monday has none, so
    the rule "latest rate at most 7 days before" is used too."""
    start = date(2023, 12, 25)
    ExchangeRate.objects.bulk_create(
        ExchangeRate(currency=cur, date=start + timedelta(days=d), rate=Decimal(rate) + Decimal(d) / 10000)
        for cur, rate in (("USD", "7.1"), ("EUR", "7.8"))
        for d in range(300)
        if d % 14
    )


@pytest.fixture
def world(db):
    make_branch("N1", "North One", region_code="N", region_name="North")
    load_rates()
    for i in range(6):
        make_customer(f"Customer {i}", external_id=f"C-{i}", currency="EUR" if i == 2 else "CNY")
    for sku, price, cost in (("A", "100.00", "60.00"), ("B", "19.99", "7.33"), ("C", "0.10", "0.07")):
        make_product(price=Decimal(price), cost=Decimal(cost), sku=sku)


def snapshot():
    orders = sorted(Order.objects.values_list("external_id", "customer__external_id", "channel", "branch__code", "ordered_at", "currency", "revenue", "cost_of_goods", "exchange_rate", "base_revenue", "base_cost_of_goods"))
    lines = sorted(OrderLine.objects.values_list("order__external_id", "line_no", "product__sku", "quantity", "unit_price", "unit_cost", "amount"))
    totals = sorted(Customer.objects.values_list("external_id", "revenue_total", "cogs_total", "profit_total", "order_count", "first_order_at", "last_order_at"))
    return orders, lines, totals


def import_both_ways(tmp_path, monkeypatch, data, **kwargs):
    path = write_csv(tmp_path / "orders.csv", HEADER, data)
    calls = {"fast": 0}
    original = fastpath.orders_fast_batch

    def counting(*args):
        result = original(*args)
        calls["fast"] += result is not None
        return result

    monkeypatch.setattr(fastpath, "orders_fast_batch", counting)
    fast = run(path, "orders", **kwargs)
    fast_state = snapshot()
    Order.objects.all().delete()
    Customer.objects.update(revenue_total=0, cogs_total=0, profit_total=0, order_count=0, first_order_at=None, last_order_at=None)
    monkeypatch.setattr(OrderImporter, "fast_path", lambda self, *a: None)
    slow = run(path, "orders", **kwargs)
    return fast, slow, fast_state, snapshot(), calls["fast"]


@pytest.mark.parametrize("numbered", [True, False])
def test_fast_and_row_paths_write_the_same(tmp_path, monkeypatch, world, numbered):
    fast, slow, fast_state, slow_state, fast_batches = import_both_ways(tmp_path, monkeypatch, rows(60, numbered=numbered), batch_size=25)
    assert fast_batches == fast.batches > 1  # every batch took the columnar path
    assert counts(fast) == counts(slow) == (len(fast_state[1]), 0, 0, 0)
    assert fast_state == slow_state


def test_a_batch_with_a_bad_row_falls_back_and_reports_it(tmp_path, monkeypatch, world):
    data = rows(30)
    data[7][8] = "NO-SUCH-SKU"
    fast, slow, fast_state, slow_state, fast_batches = import_both_ways(tmp_path, monkeypatch, data, batch_size=20)
    assert fast.errors == slow.errors and any("NO-SUCH-SKU" in e for _line, e in fast.errors)
    assert fast_state == slow_state
    assert 0 < fast_batches < fast.batches


def test_lines_of_an_order_in_a_later_batch_continue_its_numbering(tmp_path, world):
    data = [
        ["O-1", "C-1", "", "web", "", "2024-03-05T10:00:00+08:00", "", "", "A", "1", "", ""],
        ["O-1", "C-1", "", "web", "", "2024-03-05T10:00:00+08:00", "", "", "B", "1", "", ""],
        ["O-2", "C-1", "", "web", "", "2024-03-06T10:00:00+08:00", "", "", "A", "1", "", ""],
        ["O-1", "C-1", "", "web", "", "2024-03-05T10:00:00+08:00", "", "", "C", "2", "", ""],  # not adjacent
    ]
    path = write_csv(tmp_path / "o.csv", HEADER, data)
    result = run(path, "orders", batch_size=2)
    assert counts(result) == (4, 0, 0, 0), result.errors
    assert list(OrderLine.objects.filter(order__external_id="O-1").order_by("line_no").values_list("line_no", "product__sku")) == [
        (1, "A"), (2, "B"), (3, "C")]
    o1 = Order.objects.get(external_id="O-1")
    assert o1.revenue == Decimal("100.00") + Decimal("19.99") + Decimal("0.20")
    # Running it again: every row unchanged, nothing appended.
    assert counts(run(path, "orders", batch_size=2)) == (0, 0, 4, 0)
    assert OrderLine.objects.count() == 4


def test_a_repeated_line_number_in_a_later_batch_is_rejected(tmp_path, world):
    data = [
        ["O-1", "C-1", "", "web", "", "2024-03-05T10:00:00+08:00", "", "1", "A", "1", "", ""],
        ["O-1", "C-1", "", "web", "", "2024-03-05T10:00:00+08:00", "", "2", "B", "1", "", ""],
        ["O-2", "C-1", "", "web", "", "2024-03-06T10:00:00+08:00", "", "1", "A", "1", "", ""],
        ["O-1", "C-1", "", "web", "", "2024-03-05T10:00:00+08:00", "", "2", "C", "2", "", ""],
    ]
    result = run(write_csv(tmp_path / "o.csv", HEADER, data), "orders", batch_size=2)
    assert counts(result) == (3, 0, 0, 1)
    assert "Line 2 of this order already appears on line 2" in result.errors[0][1]
