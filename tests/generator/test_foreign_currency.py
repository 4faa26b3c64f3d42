"""The generator: the base currency by default; a share of customers in a foreign currency on demand."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Sum

from patron.commerce.bulk import customer_totals_refresh
from patron.commerce.models import CostEvent, ExchangeRate, Order, OrderLine
from patron.commerce.services import CENT
from patron.customers.models import Customer
from patron.generator import currencies, simulate
from patron.generator.writer import GeneratorError, generate_dataset

pytestmark = pytest.mark.django_db
TOTALS = ("revenue_total", "cogs_total", "cost_to_serve_total", "profit_total", "order_count", "first_order_at",
          "last_order_at")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(simulate, "BLOCK_SIZE", 500)


def test_by_default_everything_is_in_the_base_currency(small_blocks):
    generate_dataset(300, 81)
    assert set(Order.objects.values_list("currency", "exchange_rate").distinct()) == {("CNY", Decimal(1))}
    assert set(CostEvent.objects.values_list("currency", flat=True).distinct()) == {"CNY"}
    assert not Order.objects.exclude(base_revenue=F("revenue")).exists()
    assert not Order.objects.exclude(base_cost_of_goods=F("cost_of_goods")).exists()
    assert not CostEvent.objects.exclude(base_amount=F("amount")).exists()
    assert not ExchangeRate.objects.exists()


def test_a_share_of_customers_buys_in_a_foreign_currency_converted_like_the_services(small_blocks):
    params = simulate.Population().replace(foreign_share=0.3, foreign_currency="USD", foreign_rate=7.1)
    generate_dataset(1_000, 82, chunk_size=500, params=params)
    foreign = Customer.objects.filter(currency="USD")
    assert 200 < foreign.count() < 400
    assert set(Order.objects.filter(customer__in=foreign).values_list("currency", flat=True).distinct()) == {"USD"}
    assert set(Order.objects.exclude(customer__in=foreign).values_list("currency", flat=True).distinct()) == {"CNY"}
    assert ExchangeRate.objects.filter(currency="USD", source="generated").count() > 300
    # Each foreign order: lines in USD adding up to the order, base amounts at the day's rate.
    rates = {(r.date): r.rate for r in ExchangeRate.objects.filter(currency="USD")}
    from patron.commerce.currency import rate_day

    for order in Order.objects.filter(currency="USD").prefetch_related("lines")[:300]:
        lines = list(order.lines.all())
        assert order.revenue == sum(line.amount for line in lines)
        assert order.cost_of_goods == sum((line.quantity * line.unit_cost).quantize(CENT) for line in lines)
        assert order.exchange_rate == rates[rate_day(order.ordered_at)]
        assert order.base_revenue == (order.revenue * order.exchange_rate).quantize(CENT, ROUND_HALF_UP)
        assert order.base_cost_of_goods == (order.cost_of_goods * order.exchange_rate).quantize(CENT, ROUND_HALF_UP)
    for event in CostEvent.objects.filter(currency="USD")[:300]:
        assert event.base_amount == (event.amount * event.exchange_rate).quantize(CENT, ROUND_HALF_UP)
    # USD prices are the simulated CNY ones divided by the rate: about 7 times smaller.
    usd_price = OrderLine.objects.filter(order__currency="USD").aggregate(s=Sum("unit_price"), n=Count("id"))
    cny_price = OrderLine.objects.filter(order__currency="CNY").aggregate(s=Sum("unit_price"), n=Count("id"))
    ratio = (cny_price["s"] / cny_price["n"]) / (usd_price["s"] / usd_price["n"])
    assert 5 < ratio < 10
    # The running totals are the base amounts' sums: a recomputation changes nothing.
    before = list(Customer.objects.order_by("pk").values_list(*TOTALS))
    customer_totals_refresh(Customer.objects.values_list("pk", flat=True))
    assert list(Customer.objects.order_by("pk").values_list(*TOTALS)) == before
    assert not Order.objects.filter(exchange_rate__isnull=True).exists()


def test_the_same_customers_are_foreign_whatever_the_chunk_size():
    index = np.arange(10_000)
    chosen = currencies.foreign_customers(index, 5, 0.2)
    assert chosen[:5000].tolist() == currencies.foreign_customers(index[:5000], 5, 0.2).tolist()
    assert 0.18 < chosen.mean() < 0.22
    assert not currencies.foreign_customers(index, 5, 0.0).any()
    assert chosen.tolist() != currencies.foreign_customers(index, 6, 0.2).tolist()


def test_rates_already_loaded_are_used_as_they_are(small_blocks):
    from datetime import date, timedelta

    start = date(2019, 1, 1)
    ExchangeRate.objects.bulk_create(
        ExchangeRate(currency="EUR", date=start + timedelta(days=d), rate=Decimal("8.5")) for d in range(3000)
    )
    generate_dataset(300, 83, params=simulate.Population().replace(foreign_share=0.5, foreign_currency="EUR"))
    assert set(Order.objects.filter(currency="EUR").values_list("exchange_rate", flat=True).distinct()) == {Decimal("8.5")}
    assert not ExchangeRate.objects.filter(source="generated").exists()


def test_a_foreign_currency_equal_to_the_base_is_refused():
    with pytest.raises(GeneratorError, match="base currency"):
        generate_dataset(10, 84, params=simulate.Population().replace(foreign_share=0.1, foreign_currency="CNY"))
    assert not Customer.objects.exists()


def test_command_options(small_blocks, capsys):
    call_command("generate", "--customers", "200", "--seed", "85", "--foreign-share", "0.5",
                 "--foreign-currency", "EUR", "--foreign-rate", "7.8", "--no-progress")
    assert Order.objects.filter(currency="EUR").exists()
    for option, value in (("--foreign-share", "1.5"), ("--foreign-share", "x"), ("--foreign-currency", "eur"),
                          ("--foreign-rate", "-1")):
        with pytest.raises(CommandError, match=option):
            call_command("generate", "--customers", "10", "--seed", "86", option, value)
