"""``kill -9`` a ``patron import`` midway, run the same import again: every row of the file is
there once, the customers' totals equal a recomputation from their orders."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from decimal import Decimal

import pytest

from tests.faults.conftest import kill, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 300
ORDERS = 20_000
BATCH = 500  # rows per transaction: many commits, so the kill lands between and within them
PRICES = {"TEA": Decimal("12.50"), "CUP": Decimal("3.20"), "POT": Decimal("48.00")}


def write_files(folder):
    rng = random.Random(13)
    with open(folder / "customers.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["external_id", "name"])
        out.writerows([f"C-{i}", f"Customer {i}"] for i in range(CUSTOMERS))
    expected: dict[str, Decimal] = defaultdict(Decimal)
    cogs: dict[str, Decimal] = defaultdict(Decimal)
    orders_of: dict[str, int] = defaultdict(int)
    lines = 0
    with open(folder / "orders.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["external_id", "customer_external_id", "channel", "ordered_at", "line_no", "product_sku", "quantity", "unit_price"])
        for o in range(ORDERS):
            customer = f"C-{rng.randrange(CUSTOMERS)}"
            at = f"2025-{1 + o % 12:02d}-{1 + o % 28:02d}T10:{o % 60:02d}:00+08:00"
            orders_of[customer] += 1
            for line in range(1, rng.randint(1, 3) + 1):
                sku = rng.choice(sorted(PRICES))
                quantity = rng.randint(1, 4)
                out.writerow([f"O-{o}", customer, "web", at, line, sku, quantity, PRICES[sku]])
                expected[customer] += PRICES[sku] * quantity
                cogs[customer] += PRICES[sku] / 2 * quantity  # the product's unit cost
                lines += 1
    return lines, expected, cogs, orders_of


PRODUCTS = """
from decimal import Decimal
from patron.commerce.services import product_create
for sku, price in {prices}.items():
    product_create(sku=sku, name=sku.title(), list_price=Decimal(price), unit_cost=Decimal(price) / 2)
"""


def test_a_killed_import_run_again_leaves_every_row_once(faultdb, tmp_path):
    lines, revenue, cogs, order_counts = write_files(tmp_path)
    faultdb.shell(PRODUCTS.format(prices={k: str(v) for k, v in PRICES.items()}))
    customers = faultdb.run("import", "customers", str(tmp_path / "customers.csv"))
    assert customers.returncode == 0, customers.stderr

    orders = str(tmp_path / "orders.csv")
    first = faultdb.start("import", "orders", orders, "--batch-size", str(BATCH), name="import1")
    # Midway: some batches committed, not all (the count is read from outside, as anyone would).
    landed = wait_for(
        lambda: (n := faultdb.value("SELECT count(*) FROM commerce_order")) >= BATCH and n,
        "the first batches of the import", every=0.02,
    )
    kill(first)
    after_kill = faultdb.value("SELECT count(*) FROM commerce_order")
    assert landed <= after_kill < ORDERS, "the kill did not land midway"

    again = faultdb.run("import", "orders", orders, "--batch-size", str(BATCH))
    assert again.returncode == 0, again.stderr
    assert "rejected: 0." in again.stdout

    assert faultdb.value("SELECT count(*) FROM commerce_order") == ORDERS
    assert faultdb.value("SELECT count(*) FROM commerce_orderline") == lines
    assert faultdb.sql("SELECT external_id FROM commerce_order GROUP BY external_id HAVING count(*) > 1") == []
    assert faultdb.sql("SELECT order_id, line_no FROM commerce_orderline GROUP BY order_id, line_no HAVING count(*) > 1") == []
    # Each order's revenue is the sum of its lines; each customer's totals the sum of its orders,
    # and both what the file says.
    assert faultdb.sql(
        "SELECT o.id FROM commerce_order o JOIN commerce_orderline l ON l.order_id = o.id "
        "GROUP BY o.id, o.revenue HAVING abs(o.revenue - sum(l.amount)) > 0.001"
    ) == []
    stored = {
        ext: (Decimal(str(total)), Decimal(str(cost)), count)
        for ext, total, cost, count in faultdb.sql(
            "SELECT external_id, revenue_total, cogs_total, order_count FROM customers_customer"
        )
    }
    assert stored == {
        f"C-{i}": (revenue[f"C-{i}"], cogs[f"C-{i}"], order_counts[f"C-{i}"]) for i in range(CUSTOMERS)
    }
