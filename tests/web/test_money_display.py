"""Pages show money in the base currency, with an order's original amount where it differs."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from patron.commerce.bulk import customer_totals_refresh
from patron.commerce.models import ExchangeRate, Order
from patron.commerce.services import (
    LineInput,
    cost_event_create,
    order_create,
)
from patron.web import dashboard_charts
from tests.commerce.test_currency import at
from tests.factories import make_customer, make_product

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def book(alice):
    ExchangeRate.objects.create(currency="USD", date=date(2025, 3, 5), rate=Decimal("7"))
    customer = make_customer("Globex", owner=alice, currency="USD")
    usd = make_product(price=100, cost=60, currency="USD")
    order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"), lines=[LineInput(usd, 1)],
                 external_id="USD-1")
    cost_event_create(customer=customer, kind="ticket", amount=Decimal("5"), occurred_at=at("2025-03-05"))
    waiting = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05", 15),
                           lines=[LineInput(usd, 2)], external_id="USD-2")
    # Waiting for a rate, as the migration leaves an order in another currency it cannot convert.
    Order.objects.filter(pk=waiting.pk).update(exchange_rate=None, base_revenue=0, base_cost_of_goods=0)
    customer_totals_refresh([customer.pk])
    return customer


def test_the_360_page_shows_base_money_and_the_original_amounts(client, alice, book):
    client.force_login(alice)
    page = text(client.get(reverse("customer-detail", args=[book.pk])))
    # Profit to date in CNY, although the customer is billed in USD: 700 − 420 − 35.
    assert "245.00 CNY" in page and "245.00 USD" not in page
    assert "700.00 CNY (100.00 USD)" in page  # the order, its original beside it
    assert "-35.00 CNY (-5.00 USD)" in page  # the cost event
    assert "(200.00 USD · no exchange rate yet: not in the totals)" in page


def test_the_order_list_shows_base_revenue_and_the_original(client, alice, book):
    client.force_login(alice)
    page = text(client.get(reverse("order-list")))
    assert "700.00 CNY 100.00 USD" in page
    assert "— 200.00 USD · no exchange rate yet" in page


def test_customer_list_profit_is_in_the_base_currency(client, alice, book):
    client.force_login(alice)
    page = text(client.get(reverse("customer-list")))
    assert "245.00 CNY" in page


def test_money_axes_of_the_charts_name_the_base_currency():
    chart = dashboard_charts.profit_histogram({"profit_hist": [1, 2]}, [0, 10, 20])
    assert chart is not None and chart["xAxis"]["name"].endswith("(CNY)")
