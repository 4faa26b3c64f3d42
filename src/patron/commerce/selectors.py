"""Reads of orders. Visibility comes from ``customers.selectors``: a user sees the orders of
the customers they see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import F, QuerySet

from patron.commerce.models import Order
from patron.core.dates import day_after, day_start
from patron.core.models import User
from patron.core.ordering import ordered
from patron.customers.selectors import of_visible_customers


def visible_orders(user: User) -> QuerySet[Order]:
    return of_visible_customers(Order.objects.all(), user)


# Sort keys of the order list -> ordering; the list adds "id" to make the order total.
ORDER_SORTS = {
    "-ordered_at": (F("ordered_at").desc(),),
    "ordered_at": (F("ordered_at").asc(),),
    # In the base currency, so orders in different currencies compare (and the index serves it).
    "-revenue": (F("base_revenue").desc(),),
    "revenue": (F("base_revenue").asc(),),
    "customer": (F("customer__name").asc(),),
    "-customer": (F("customer__name").desc(),),
    "channel": (F("channel").asc(), F("ordered_at").desc()),
    "-channel": (F("channel").desc(), F("ordered_at").desc()),
    "external_id": (F("external_id").asc(nulls_last=True),),
    "-external_id": (F("external_id").desc(nulls_last=True),),
}


@dataclass(frozen=True)
class OrderFilter:
    ordered_from: date | None = None
    ordered_to: date | None = None
    channel: str = ""
    branch_id: int | None = None
    owner_id: int | None = None  # the customer's owner
    # Filters the API offers (GET /orders): None is no filter.
    customer_id: int | None = None
    external_id: str | None = None
    ordered_after: datetime | None = None  # at or after this instant
    ordered_before: datetime | None = None  # before this instant
    sort: str = "-ordered_at"


def filter_orders(orders: QuerySet[Order], f: OrderFilter) -> QuerySet[Order]:
    """Apply a list filter and sort to orders that already went through ``visible_orders``.

    The one set of filter rules of the order list page and of ``GET /orders``.
    """
    if f.ordered_from:
        orders = orders.filter(ordered_at__gte=day_start(f.ordered_from))
    if f.ordered_to:
        orders = orders.filter(ordered_at__lt=day_after(f.ordered_to))
    if f.channel:
        orders = orders.filter(channel=f.channel)
    if f.branch_id:
        orders = orders.filter(branch_id=f.branch_id)
    if f.owner_id:
        orders = orders.filter(customer__owner_id=f.owner_id)
    if f.customer_id is not None:
        orders = orders.filter(customer_id=f.customer_id)
    if f.external_id:
        orders = orders.filter(external_id=f.external_id)
    if f.ordered_after:
        orders = orders.filter(ordered_at__gte=f.ordered_after)
    if f.ordered_before:
        orders = orders.filter(ordered_at__lt=f.ordered_before)
    return ordered(orders, ORDER_SORTS, f.sort, "-ordered_at")
