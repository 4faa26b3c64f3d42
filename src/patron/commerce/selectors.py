"""Reads of orders. Visibility comes from ``customers.selectors``: a user sees the orders of
the customers they see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import F, Q, QuerySet

from patron.commerce.models import CostEvent, Order, Product
from patron.core.dates import day_after, day_start
from patron.core.models import User
from patron.core.ordering import both_ways, ordered
from patron.customers.selectors import of_visible_customers


def visible_orders(user: User) -> QuerySet[Order]:
    return of_visible_customers(Order.objects.all(), user)


# Sort keys of the order, product and cost lists, their pages' and the API's (``core.ordering``).
# Money sorts by the base-currency amount, so records in different currencies compare (and the
# index serves it).
ORDER_SORTS = {
    **both_ways("ordered_at"),
    **both_ways("revenue", "base_revenue"),
    **both_ways("customer", "customer__name"),
    **both_ways("channel", "channel", F("ordered_at").desc()),
    **both_ways("external_id", nulls_last=True),
    **both_ways("created_at"),
    **both_ways("id"),
}
PRODUCT_SORTS = {**both_ways("name"), **both_ways("sku"), **both_ways("list_price"), **both_ways("updated_at"), **both_ways("id")}
COST_SORTS = {**both_ways("occurred_at"), **both_ways("amount", "base_amount"), **both_ways("created_at"), **both_ways("id")}


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


@dataclass(frozen=True)
class ProductFilter:
    """The product list's filter (``GET /products``; no page lists products): None is no filter."""

    contains: str | None = None  # name or SKU contains this
    category: str | None = None
    sku: str | None = None
    external_id: str | None = None
    active: bool | None = None


def filter_products(products: QuerySet[Product], f: ProductFilter) -> QuerySet[Product]:
    if f.contains:
        products = products.filter(Q(name__icontains=f.contains) | Q(sku__icontains=f.contains))
    if f.category:
        products = products.filter(category=f.category)
    if f.sku:
        products = products.filter(sku=f.sku)
    if f.external_id:
        products = products.filter(external_id=f.external_id)
    if f.active is not None:
        products = products.filter(is_active=f.active)
    return products


def visible_cost_events(user: User) -> QuerySet[CostEvent]:
    return of_visible_customers(CostEvent.objects.all(), user)


@dataclass(frozen=True)
class CostEventFilter:
    """The cost events' filter (``GET /cost-events``; no page lists them): None is no filter."""

    customer_id: int | None = None
    kind: str | None = None
    external_id: str | None = None
    occurred_after: datetime | None = None  # at or after this instant
    occurred_before: datetime | None = None  # before this instant


def filter_cost_events(events: QuerySet[CostEvent], f: CostEventFilter) -> QuerySet[CostEvent]:
    """Apply the filter to cost events that already went through ``visible_cost_events``."""
    if f.customer_id is not None:
        events = events.filter(customer_id=f.customer_id)
    if f.kind:
        events = events.filter(kind=f.kind)
    if f.external_id:
        events = events.filter(external_id=f.external_id)
    if f.occurred_after:
        events = events.filter(occurred_at__gte=f.occurred_after)
    if f.occurred_before:
        events = events.filter(occurred_at__lt=f.occurred_before)
    return events
