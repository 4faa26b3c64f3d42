"""The migration that adds base amounts handles the money already in a database honestly.

Before it, a USD order was added to its customer's totals as if it were CNY. After it: orders and
cost events in the base currency have rate 1 and equal base amounts; those in another currency
have no rate yet, count in no total (their customers' totals are recomputed without them) and
are converted once rates are loaded.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from patron.commerce import currency
from patron.commerce.currency import RateInput, rates_save
from patron.commerce.models import CostEvent, Ledger, Order
from patron.customers.models import Customer

BEFORE = [("commerce", "0003_list_sort_indexes")]
TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db(transaction=True)
def test_migration_on_existing_rows():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldCustomer = old.get_model("customers", "Customer")
    OldOrder = old.get_model("commerce", "Order")
    OldCostEvent = old.get_model("commerce", "CostEvent")
    first, second = datetime(2025, 3, 1, 10, tzinfo=TZ), datetime(2025, 3, 5, 10, tzinfo=TZ)
    # What the old code stored: the USD order's 100 added to a CNY customer's revenue as 100.
    mixed = OldCustomer.objects.create(
        name="Mixed", currency="CNY", revenue_total=Decimal("300.00"), cogs_total=Decimal("120.00"),
        cost_to_serve_total=Decimal("13.00"), profit_total=Decimal("167.00"), order_count=2,
        first_order_at=first, last_order_at=second,
    )
    plain = OldCustomer.objects.create(
        name="Plain", currency="CNY", revenue_total=Decimal("80.00"), cogs_total=Decimal("30.00"),
        profit_total=Decimal("50.00"), order_count=1, first_order_at=first, last_order_at=first,
    )
    OldOrder.objects.create(customer=mixed, channel="web", ordered_at=first, currency="CNY",
                            revenue=Decimal("200.00"), cost_of_goods=Decimal("80.00"))
    OldOrder.objects.create(customer=mixed, channel="web", ordered_at=second, currency="USD",
                            revenue=Decimal("100.00"), cost_of_goods=Decimal("40.00"))
    OldOrder.objects.create(customer=plain, channel="web", ordered_at=first, currency="CNY",
                            revenue=Decimal("80.00"), cost_of_goods=Decimal("30.00"))
    OldCostEvent.objects.create(customer=mixed, kind="ticket", amount=Decimal("10.00"), currency="CNY", occurred_at=first)
    OldCostEvent.objects.create(customer=mixed, kind="ticket", amount=Decimal("3.00"), currency="USD", occurred_at=second)

    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    currency.forget_base_check()

    assert Ledger.objects.get().base_currency == "CNY"
    cny, usd = Order.objects.get(currency="CNY", customer__name="Mixed"), Order.objects.get(currency="USD")
    assert (cny.exchange_rate, cny.base_revenue, cny.base_cost_of_goods) == (1, Decimal("200.00"), Decimal("80.00"))
    assert (usd.exchange_rate, usd.base_revenue, usd.base_cost_of_goods) == (None, 0, 0)
    assert (usd.revenue, usd.cost_of_goods) == (Decimal("100.00"), Decimal("40.00"))  # the original is kept
    assert CostEvent.objects.get(currency="USD").exchange_rate is None
    assert CostEvent.objects.get(currency="CNY").base_amount == Decimal("10.00")

    def totals(name):
        c = Customer.objects.get(name=name)
        return (c.revenue_total, c.cogs_total, c.cost_to_serve_total, c.profit_total, c.order_count,
                c.first_order_at, c.last_order_at)

    # The mixed customer's totals no longer hold the USD amounts; the plain one is untouched.
    assert totals("Mixed") == (Decimal("200.00"), Decimal("80.00"), Decimal("10.00"), Decimal("110.00"), 1, first, first)
    assert totals("Plain") == (Decimal("80.00"), Decimal("30.00"), Decimal("0.00"), Decimal("50.00"), 1, first, first)

    # `patron rates pending` lists what waits; loading a rate converts it and the totals follow.
    from io import StringIO

    out = StringIO()
    call_command("rates", "pending", stdout=out)
    assert "1 orders, 1 cost events" in out.getvalue() and "USD: 2 from 2025-03-05 to 2025-03-05" in out.getvalue()
    rates_save(rates=[RateInput("USD", date(2025, 3, 5), Decimal("7"))])
    assert totals("Mixed") == (Decimal("900.00"), Decimal("360.00"), Decimal("31.00"), Decimal("509.00"), 2, first, second)
    out = StringIO()
    call_command("rates", "convert", stdout=out)
    assert "Converted 0 records" in out.getvalue() and "Nothing waits for a rate" in out.getvalue()
