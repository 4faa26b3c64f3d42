"""Orders and cost events written in bulk, and what they add to their customers' totals.

This module owns "write these orders (or cost events) and keep their customers' totals" for
every path that writes them many at a time; each path picks the function that fits its data:

- new orders only, totals added as deltas: ``orders_add`` (the batch API); new cost events
  likewise: ``cost_events_add``;
- new and changed orders or cost events (imports, merges, rate fills): ``orders_insert`` and
  ``orders_update`` (or the importer's own rows), then ``customers_recount``, which recomputes the
  touched customers' totals from their records, so a re-import or a moved order can never leave
  a total off;
- a columnar producer (the generator): ``orders_insert_columns`` and
  ``cost_events_insert_columns``, then ``customer_totals_refresh``.

All write through ``core.bulk`` (ids allocated up front, one executemany or COPY per table);
``customers_changed`` tells listeners (insights rescoring) which customers moved. Single records
(``commerce.services``) add to their totals with ``customers_add_totals`` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
from django.db import connection

from patron.commerce.models import CostEvent, Order, OrderLine
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
# What an import may change on an existing order or line: values in this order, then the id.
ORDER_UPDATE_COLUMNS = tuple(c for c in ORDER_COLUMNS if c not in ("id", "external_id", "created_at"))
LINE_UPDATE_COLUMNS = ("product_id", "quantity", "unit_price", "unit_cost", "amount")


def orders_insert(orders: Sequence[Sequence[Any]], lines: Sequence[Sequence[Any]] | pa.Table) -> None:
    """Insert new orders (values in ``ORDER_COLUMNS`` order, ids from ``core.bulk.allocate_ids``)
    and their lines (``LINE_COLUMNS``; on PostgreSQL also an Arrow table, copied as one block);
    inside the batch's transaction. The totals are the caller's next step (``customers_recount``)."""
    bulk.insert(Order, ORDER_COLUMNS, orders)
    if isinstance(lines, pa.Table):
        bulk.copy_table(OrderLine, LINE_COLUMNS, lines)
    else:
        bulk.insert(OrderLine, LINE_COLUMNS, lines)


def orders_update(orders: Sequence[Sequence[Any]], lines: Sequence[Sequence[Any]]) -> None:
    """Update existing orders (``ORDER_UPDATE_COLUMNS``, then the id) and lines
    (``LINE_UPDATE_COLUMNS``, then the id). The totals are the caller's next step (``customers_recount``)."""
    bulk.update(Order, ORDER_UPDATE_COLUMNS, orders)
    bulk.update(OrderLine, LINE_UPDATE_COLUMNS, lines)


def orders_insert_columns(orders: Mapping[str, Sequence[Any]], lines: Mapping[str, Sequence[Any]]) -> None:
    """Insert new orders and their lines given column by column (``core.bulk.insert_columns``:
    values as the driver binds them). The totals are the caller's next step (``customer_totals_refresh``)."""
    bulk.insert_columns(Order, orders, _length(orders))
    bulk.insert_columns(OrderLine, lines, _length(lines))


def cost_events_insert_columns(events: Mapping[str, Sequence[Any]]) -> None:
    """Insert new cost events given column by column, as ``orders_insert_columns`` does orders."""
    bulk.insert_columns(CostEvent, events, _length(events))


def _length(columns: Mapping[str, Sequence[Any]]) -> int:
    return len(next(iter(columns.values()))) if columns else 0


def customers_recount(customer_ids: Iterable[int], *, sender: type) -> list[int]:
    """After a bulk write that added, changed or moved orders or cost events: recompute these
    customers' totals from their records and tell listeners which customers moved."""
    changed = sorted({int(pk) for pk in customer_ids})
    if changed:
        customer_totals_refresh(changed)
        customers_changed.send(sender=sender, customer_ids=changed)
    return changed


def cost_events_add(events: Sequence[CostEvent]) -> list[CostEvent]:
    """Write these new cost events, add their base amounts to their customers' cost to serve
    and tell listeners which customers moved; returns the saved events (with ids)."""
    created = CostEvent.objects.bulk_create(list(events), batch_size=2000)
    totals: dict[int, Totals] = {}
    for event in created:
        totals.setdefault(event.customer_id, Totals()).serve += event.base_amount
    customers_add_totals(totals)
    if totals:
        customers_changed.send(sender=CostEvent, customer_ids=sorted(totals))
    return created


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


def customer_totals_refresh(customer_ids: Iterable[int]) -> int:
    """Recompute the running totals of these customers from their orders and cost events.

    The bulk writers (imports, merges) call this at the end of each batch instead of adding
    deltas, so re-imports, updates and moved records can never leave a total off. One set-based
    UPDATE per chunk of customers aggregates and writes in the database, with no round trip.
    Sums are of the base-currency amounts; orders waiting for a rate (no ``exchange_rate``) count
    in nothing, not even the order count. Returns the number of customers refreshed.
    """
    qn = connection.ops.quote_name

    def column(model: type, name: str) -> str:
        return qn(model._meta.get_field(name).column)  # type: ignore[attr-defined]

    # Table and column names come from the models; values go as parameters.
    orders_t, events_t = qn(Order._meta.db_table), qn(CostEvent._meta.db_table)
    o_customer, o_at, o_rate = column(Order, "customer"), column(Order, "ordered_at"), column(Order, "exchange_rate")
    # Events waiting for a rate have a base amount of 0: they add nothing.
    e_customer, e_amount = column(CostEvent, "customer"), column(CostEvent, "base_amount")
    c = {name: column(Customer, name) for name in _TOTAL_FIELDS}
    customers_t = qn(Customer._meta.db_table)
    revenue, cogs = column(Order, "base_revenue"), column(Order, "base_cost_of_goods")
    if connection.vendor == "postgresql":
        # Numeric sums: exact as they are.
        wanted, target = "unnest(%s::bigint[])", "ids.id"
        sums = f"SUM({revenue}) AS revenue, SUM({cogs}) AS cogs"
        serve = f"SUM({e_amount}) AS amount"
        profit = "COALESCE(o.revenue, 0) - COALESCE(o.cogs, 0) - COALESCE(e.amount, 0)"
        ids_from = f"{wanted} AS ids(id)"
        filter_ = "= ANY(%s)"
    else:
        # SQLite keeps these decimals as REAL: each sum is rounded to the cent (exact, since the
        # true sums are whole cents, far from half a cent away) and "+ 0.0" turns -0.0 into 0.0,
        # so the stored values are the ones Decimal arithmetic would store.
        wanted, target = "(SELECT value FROM json_each(%s))", "ids.value"
        sums = f"ROUND(SUM({revenue}), 2) + 0.0 AS revenue, ROUND(SUM({cogs}), 2) + 0.0 AS cogs"
        serve = f"ROUND(SUM({e_amount}), 2) + 0.0 AS amount"
        profit = "ROUND(COALESCE(o.revenue, 0) - COALESCE(o.cogs, 0) - COALESCE(e.amount, 0), 2) + 0.0"
        ids_from = f"{wanted} AS ids"
        filter_ = f"IN {wanted}"
    sql = (
        f"UPDATE {customers_t} SET {c['revenue_total']} = COALESCE(o.revenue, 0), "  # noqa: S608
        f"{c['cogs_total']} = COALESCE(o.cogs, 0), {c['cost_to_serve_total']} = COALESCE(e.amount, 0), "
        f"{c['profit_total']} = {profit}, {c['order_count']} = COALESCE(o.n, 0), "
        f"{c['first_order_at']} = o.first, {c['last_order_at']} = o.last "
        f"FROM {ids_from} "
        f"LEFT JOIN (SELECT {o_customer} AS id, {sums}, COUNT(*) AS n, MIN({o_at}) AS first, MAX({o_at}) AS last "
        f"FROM {orders_t} WHERE {o_customer} {filter_} AND {o_rate} IS NOT NULL GROUP BY 1) AS o ON o.id = {target} "
        f"LEFT JOIN (SELECT {e_customer} AS id, {serve} FROM {events_t} WHERE {e_customer} {filter_} GROUP BY 1) AS e "
        f"ON e.id = {target} WHERE {customers_t}.id = {target}"
    )
    ids = sorted({int(pk) for pk in customer_ids})
    for start in range(0, len(ids), 20000):
        chunk = ids[start : start + 20000]
        param: list[int] | str = chunk if connection.vendor == "postgresql" else json.dumps(chunk)
        with connection.cursor() as cursor:
            cursor.execute(sql, [param, param, param])
    return len(ids)


_TOTAL_FIELDS = (
    "revenue_total",
    "cogs_total",
    "cost_to_serve_total",
    "profit_total",
    "order_count",
    "first_order_at",
    "last_order_at",
)
