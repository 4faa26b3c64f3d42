"""Orders and cost events written in bulk, and what they add to their customers' totals.

Every path that creates orders in bulk (the batch API, the order importers, the columnar import
path) writes them with ``orders_insert`` (through ``core.bulk``: ids allocated up front, one
executemany or COPY per table); every path that adds to a customer's running totals
(``order_create``, ``cost_event_create``, the batch API) does it with ``customers_add_totals``,
one set-based UPDATE per chunk of customers. Paths that also update or move records recompute
the totals instead (``commerce.services.customer_totals_refresh``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from patron.commerce.models import Order, OrderLine
from patron.commerce.signals import customers_changed
from patron.core import bulk
from patron.customers.models import Customer

# The columns of an order row and a line row, in the order the bulk writers give their values.
ORDER_COLUMNS = (
    "id",
    "external_id",
    "customer_id",
    "channel",
    "branch_id",
    "ordered_at",
    "currency",
    "revenue",
    "cost_of_goods",
    "exchange_rate",
    "base_revenue",
    "base_cost_of_goods",
    "created_at",
    "updated_at",
)
LINE_COLUMNS = ("order_id", "line_no", "product_id", "quantity", "unit_price", "unit_cost", "amount")


def orders_insert(orders: Sequence[Sequence[Any]], lines: Sequence[Sequence[Any]]) -> None:
    """Insert new orders (values in ``ORDER_COLUMNS`` order, ids from ``core.bulk.allocate_ids``)
    and their lines (``LINE_COLUMNS``); inside the batch's transaction."""
    bulk.insert(Order, ORDER_COLUMNS, orders)
    bulk.insert(OrderLine, LINE_COLUMNS, lines)


def orders_add(orders: Sequence[Sequence[Any]], lines: Sequence[Sequence[Any]]) -> list[int]:
    """Write these new orders and their lines, add their totals to their customers and tell
    listeners (insights rescoring) which customers moved; returns those customers' ids."""
    orders_insert(orders, lines)
    customer, at, rate, revenue, cogs = (
        ORDER_COLUMNS.index(name)
        for name in ("customer_id", "ordered_at", "exchange_rate", "base_revenue", "base_cost_of_goods")
    )
    totals: dict[int, Totals] = {}
    for row in orders:
        if row[rate] is not None:  # an order waiting for its rate counts in nothing yet
            totals.setdefault(row[customer], Totals()).add_order(row[revenue], row[cogs], row[at])
    customers_add_totals(totals)
    changed = sorted(totals)
    if changed:
        customers_changed.send(sender=Order, customer_ids=changed)
    return changed


@dataclass
class Totals:
    """What some orders and cost events add to one customer's running totals (base currency)."""


    revenue: Decimal = Decimal(0)
    cogs: Decimal = Decimal(0)
    serve: Decimal = Decimal(0)
    orders: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add_order(self, revenue: Decimal, cogs: Decimal, at: datetime) -> None:
        self.revenue += revenue
        self.cogs += cogs
        self.orders += 1
        self.first = at if self.first is None or at < self.first else self.first
        self.last = at if self.last is None or at > self.last else self.last


def customers_add_totals(totals: Mapping[int, Totals]) -> None:
    """Add per-customer deltas to the running totals: one UPDATE per chunk of customers.

    PostgreSQL gets the deltas as arrays (``unnest``: seven parameters, whatever the chunk's
    size); SQLite as a ``VALUES`` list.
    """
    if not totals:
        return
    table = connection.ops.quote_name(Customer._meta.db_table)
    postgres = connection.vendor == "postgresql"
    adapt_dt = connection.ops.adapt_datetimefield_value
    set_clause = (
        "revenue_total = revenue_total + v.revenue, "
        "cogs_total = cogs_total + v.cogs, "
        "cost_to_serve_total = cost_to_serve_total + v.serve, "
        "profit_total = profit_total + v.revenue - v.cogs - v.serve, "
        "order_count = order_count + v.n, "
        "first_order_at = CASE WHEN v.first_at IS NULL THEN first_order_at "
        "ELSE {least}(COALESCE(first_order_at, v.first_at), v.first_at) END, "
        "last_order_at = CASE WHEN v.last_at IS NULL THEN last_order_at "
        "ELSE {greatest}(COALESCE(last_order_at, v.last_at), v.last_at) END"
    )
    items = sorted(totals.items())  # a fixed order: concurrent batches lock customers alike
    size = 5000 if postgres else 1000
    for chunk in (items[start : start + size] for start in range(0, len(items), size)):
        with connection.cursor() as cursor:
            if postgres:
                columns = list(zip(*[(pk, t.revenue, t.cogs, t.serve, t.orders, t.first, t.last) for pk, t in chunk], strict=True))
                # Names come from the model; values are parameters.
                cursor.execute(
                    f"UPDATE {table} SET {set_clause.format(least='LEAST', greatest='GREATEST')} "  # noqa: S608
                    "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::numeric[]) AS revenue, "
                    "unnest(%s::numeric[]) AS cogs, unnest(%s::numeric[]) AS serve, unnest(%s::integer[]) AS n, "
                    "unnest(%s::timestamptz[]) AS first_at, unnest(%s::timestamptz[]) AS last_at) AS v "
                    f"WHERE {table}.id = v.id",
                    [list(c) for c in columns],
                )
            else:
                params: list[Any] = []
                for pk, t in chunk:
                    params += [pk, str(t.revenue), str(t.cogs), str(t.serve), t.orders, adapt_dt(t.first), adapt_dt(t.last)]
                values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"WITH v(id, revenue, cogs, serve, n, first_at, last_at) AS (VALUES {values}) "  # noqa: S608
                    f"UPDATE {table} SET {set_clause.format(least='MIN', greatest='MAX')} "
                    f"FROM v WHERE {table}.id = v.id",
                    params,
                )
