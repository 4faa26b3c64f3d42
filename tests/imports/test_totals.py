"""customer_totals_refresh recomputes exactly what the per-order services maintain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from patron.commerce.bulk import customer_totals_refresh
from patron.commerce.models import Order
from patron.commerce.services import cost_event_create
from patron.customers.models import Customer
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db

TOTALS = ("revenue_total", "cogs_total", "cost_to_serve_total", "profit_total", "order_count", "first_order_at", "last_order_at")


def snapshot(customer):
    customer.refresh_from_db()
    return tuple(getattr(customer, f) for f in TOTALS)


def test_refresh_matches_the_running_totals_and_repairs_drift():
    a, b, empty = make_customer(), make_customer(), make_customer()
    product = make_product(price=Decimal("19.99"), cost=Decimal("7.33"))
    for days in (3, 9, 1):
        make_order(a, product=product, quantity=3, at=timezone.now() - timezone.timedelta(days=days))
    make_order(b, product=product)
    cost_event_create(customer=a, kind="ticket", amount=Decimal("12.10"), occurred_at=timezone.now())
    before = snapshot(a), snapshot(b), snapshot(empty)
    Customer.objects.update(revenue_total=999, profit_total=-5, order_count=42, first_order_at=None)
    assert customer_totals_refresh([a.pk, b.pk, empty.pk]) == 3
    assert (snapshot(a), snapshot(b), snapshot(empty)) == before
    assert snapshot(a)[:5] == (Decimal("179.91"), Decimal("65.97"), Decimal("12.10"), Decimal("101.84"), 3)
    assert snapshot(empty)[4:] == (0, None, None)


def test_refresh_after_deleting_an_order():
    a = make_customer()
    make_order(a, product=make_product(price=10, cost=4))
    keep = make_order(a, product=make_product(price=20, cost=5))
    Order.objects.exclude(pk=keep.pk).delete()
    customer_totals_refresh([a.pk])
    assert snapshot(a)[:5] == (Decimal("20.00"), Decimal("5.00"), Decimal("0"), Decimal("15.00"), 1)


def test_totals_that_cancel_out_are_exactly_zero():
    """0.30 − 0.10 − 0.20 is not zero in floating point; the stored profit must be."""
    customer = make_customer()
    make_order(customer, product=make_product(price=Decimal("0.30"), cost=Decimal("0.10")))
    cost_event_create(customer=customer, kind="ticket", amount=Decimal("0.20"), occurred_at=timezone.now())
    customer_totals_refresh([customer.pk])
    customer.refresh_from_db()
    assert customer.profit_total == 0 and str(customer.profit_total) == "0.00"
    assert not Customer.objects.filter(pk=customer.pk, profit_total__lt=0).exists()
    assert not Customer.objects.filter(pk=customer.pk, profit_total__gt=0).exists()


def test_refresh_of_many_customers_and_of_none():
    customers = [make_customer() for _ in range(3)]
    product = make_product(price=Decimal("10.01"), cost=Decimal("3.33"))
    for c in customers:
        make_order(c, product=product, quantity=7)
    Customer.objects.update(revenue_total=0, order_count=0)
    assert customer_totals_refresh([]) == 0
    assert customer_totals_refresh([c.pk for c in customers] * 2) == 3
    assert set(Customer.objects.values_list("revenue_total", "order_count")) == {(Decimal("70.07"), 1)}
