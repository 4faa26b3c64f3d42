"""The ``order.created`` webhook for orders an import creates, as ``order_create`` sends it.

Called inside a batch's transaction with the ids of the orders that batch created: the
deliveries are written with the batch (one insert for all of them) and sent after it commits,
so a killed run sends nothing for the batch it lost, and a re-run, which finds those orders
unchanged, sends nothing twice. Lines added to an order that already existed are not a new
order and send nothing. With no one listening to ``order.created`` this costs nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from patron.commerce.models import Order, OrderLine
from patron.commerce.schemas import order_data
from patron.core import events

EVENT = "order.created"
_CHUNK = 900  # ids per IN list: SQLite's parameter limit


def orders_created(order_ids: Sequence[int]) -> None:
    """Publish ``order.created`` for each of these new orders (read back only if someone listens)."""
    if order_ids:
        events.publish_many(EVENT, _payloads(list(order_ids)))


def _payloads(order_ids: list[int]) -> Iterator[dict[str, Any]]:
    # Read back from the database: the payload is exactly what GET /api/v1/orders/{id} shows.
    for start in range(0, len(order_ids), _CHUNK):
        chunk = order_ids[start : start + _CHUNK]
        orders = (
            Order.objects.filter(pk__in=chunk)
            .select_related("customer", "branch")
            .only("id", "external_id", "customer_id", "customer__external_id", "channel", "branch__code",
                  "ordered_at", "currency", "revenue", "cost_of_goods", "exchange_rate", "base_revenue",
                  "base_cost_of_goods", "created_at")
            .order_by("pk")
        )
        lines: dict[int, list[OrderLine]] = defaultdict(list)
        skus: dict[int, str] = {}
        rows = (
            OrderLine.objects.filter(order_id__in=chunk)
            .order_by("order_id", "line_no")
            .values_list("order_id", "line_no", "product_id", "product__sku", "quantity", "unit_price", "unit_cost",
                         "amount")
        )
        for order_id, line_no, product_id, sku, quantity, price, cost, amount in rows:
            skus[product_id] = sku
            lines[order_id].append(
                OrderLine(line_no=line_no, product_id=product_id, quantity=quantity, unit_price=price, unit_cost=cost,
                          amount=amount)
            )
        for order in orders:
            yield order_data(
                order,
                lines[order.pk],
                customer_external_id=order.customer.external_id,
                branch_code=order.branch.code if order.branch_id and order.branch else None,
                skus=skus,
            )
