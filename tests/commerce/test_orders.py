"""Orders and cost events keep the customer's profit current in the same transaction."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patron.commerce.models import Order
from patron.commerce.services import LineInput, cost_event_create, order_create
from patron.core.errors import DuplicateExternalIdError
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


def test_profit_is_revenue_minus_goods_minus_cost_to_serve():
    customer = make_customer()
    widget = make_product(price=Decimal("120.00"), cost=Decimal("70.00"))
    gadget = make_product(price=Decimal("35.50"), cost=Decimal("10.25"))
    order_create(
        customer=customer,
        channel="store",
        ordered_at=timezone.now(),
        lines=[LineInput(widget, 2), LineInput(gadget, 3, unit_price=Decimal("30.00"))],
    )
    cost_event_create(customer=customer, kind="delivery", amount=Decimal("15.00"), occurred_at=timezone.now())
    customer.refresh_from_db()
    # revenue 2×120 + 3×30 = 330; goods 2×70 + 3×10.25 = 170.75; serve 15
    assert customer.revenue_total == Decimal("330.00")
    assert customer.cogs_total == Decimal("170.75")
    assert customer.cost_to_serve_total == Decimal("15.00")
    assert customer.profit_total == Decimal("144.25")
    assert customer.order_count == 1


def test_first_and_last_order_follow_the_order_dates():
    customer = make_customer()
    now = timezone.now()
    make_order(customer, at=now - timedelta(days=10))
    make_order(customer, at=now - timedelta(days=30))
    make_order(customer, at=now - timedelta(days=2))
    customer.refresh_from_db()
    assert abs(customer.first_order_at - (now - timedelta(days=30))) < timedelta(seconds=1)
    assert abs(customer.last_order_at - (now - timedelta(days=2))) < timedelta(seconds=1)
    assert customer.order_count == 3


def test_duplicate_order_external_id_changes_nothing():
    customer = make_customer()
    make_order(customer, external_id="ord-1")
    customer.refresh_from_db()
    before = customer.revenue_total
    with pytest.raises(DuplicateExternalIdError):
        make_order(customer, external_id="ord-1")
    customer.refresh_from_db()
    assert customer.revenue_total == before
    assert Order.objects.count() == 1


def test_a_concurrent_duplicate_external_id_is_the_same_duplicate_error():
    """Two requests with one external id at once both pass the existence check; the second's
    INSERT meets the unique index (here: the check sees nothing, as it would in the race)."""
    from unittest import mock

    customer = make_customer()
    make_order(customer, external_id="ord-1")
    customer.refresh_from_db()
    before = customer.revenue_total
    with mock.patch.object(Order.objects, "filter", return_value=Order.objects.none()), pytest.raises(DuplicateExternalIdError):
        make_order(customer, external_id="ord-1")
    customer.refresh_from_db()
    assert customer.revenue_total == before and Order.objects.count() == 1


@pytest.mark.parametrize("quantity", [0, -1])
def test_non_positive_quantity_is_refused(quantity):
    customer = make_customer()
    with pytest.raises(ValidationError):
        make_order(customer, quantity=quantity)
    assert not Order.objects.exists()


def test_order_without_lines_is_refused():
    with pytest.raises(ValidationError):
        order_create(customer=make_customer(), channel="web", ordered_at=timezone.now(), lines=[])


def test_unknown_channel_is_refused_and_totals_untouched():
    customer = make_customer()
    with pytest.raises(ValidationError):
        make_order(customer, channel="carrier-pigeon")
    customer.refresh_from_db()
    assert customer.order_count == 0 and customer.revenue_total == 0


def test_negative_cost_to_serve_is_refused():
    with pytest.raises(ValidationError):
        cost_event_create(customer=make_customer(), kind="return", amount=-5, occurred_at=timezone.now())


def test_naive_datetime_is_refused():
    from datetime import datetime

    with pytest.raises(ValidationError):
        make_order(make_customer(), at=datetime(2024, 1, 1, 12, 0))


def test_a_product_sku_taken_between_the_check_and_the_insert_is_the_usual_error(monkeypatch):
    from patron.commerce import services
    from patron.commerce.models import Product

    services.product_create(sku="RACE-1", name="First", list_price=1, unit_cost=1)
    # The second request's checks ran before the first one's INSERT committed: its first
    # full_clean sees nothing; the one after the refused INSERT is the real check.
    calls = {"n": 0}
    real_full_clean = Product.full_clean

    def full_clean_once_blind(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            return real_full_clean(self, *args, **kwargs)
        return None

    monkeypatch.setattr(Product, "full_clean", full_clean_once_blind)
    with pytest.raises(ValidationError) as refused:
        services.product_create(sku="RACE-1", name="Second", list_price=1, unit_cost=1)
    assert "sku" in refused.value.message_dict
    assert Product.objects.filter(sku="RACE-1").count() == 1
