"""Money in several currencies: converted into the base currency at the rate of its date, or refused.

The first test is the reported bug: a USD 100 order was added to a CNY customer's revenue as 100.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import Count, Max, Min, Sum
from django.test import override_settings

from patron.commerce import currency
from patron.commerce.bulk import customer_totals_refresh
from patron.commerce.currency import (
    MissingRateError,
    RateBook,
    RateInput,
    convert_pending,
    rates_save,
)
from patron.commerce.models import CostEvent, ExchangeRate, Ledger, Order
from patron.commerce.services import (
    LineInput,
    cost_event_create,
    cost_event_update,
    order_create,
    order_update,
)
from patron.customers.models import Customer
from tests.factories import make_customer, make_product

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def rate(code: str, day: str, value: str) -> ExchangeRate:
    return ExchangeRate.objects.create(currency=code, date=date.fromisoformat(day), rate=Decimal(value))


def totals(customer: Customer) -> tuple:
    customer.refresh_from_db()
    return (customer.revenue_total, customer.cogs_total, customer.cost_to_serve_total, customer.profit_total,
            customer.order_count)


def recomputed(customer: Customer) -> tuple:
    """The totals recomputed from the customer's converted orders and events."""
    o = Order.objects.filter(customer=customer, exchange_rate__isnull=False).aggregate(
        r=Sum("base_revenue"), c=Sum("base_cost_of_goods"), n=Count("id"), first=Min("ordered_at"), last=Max("ordered_at")
    )
    e = CostEvent.objects.filter(customer=customer).aggregate(s=Sum("base_amount"))["s"] or Decimal(0)
    r, c = o["r"] or Decimal(0), o["c"] or Decimal(0)
    return (r, c, e, r - c - e, o["n"])


def test_a_usd_order_is_converted_before_it_is_added_to_a_cny_customer():
    customer = make_customer(currency="CNY")
    product = make_product(price=100, cost=60, currency="USD")
    rate("USD", "2025-03-05", "7.1234")
    order = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                         lines=[LineInput(product, 1)], currency="USD")
    order.refresh_from_db()
    # The original is kept on the order; the totals have CNY.
    assert (order.currency, order.revenue, order.cost_of_goods) == ("USD", Decimal("100.00"), Decimal("60.00"))
    assert order.exchange_rate == Decimal("7.1234")
    assert (order.base_revenue, order.base_cost_of_goods) == (Decimal("712.34"), Decimal("427.40"))
    assert totals(customer) == (Decimal("712.34"), Decimal("427.40"), Decimal("0"), Decimal("284.94"), 1)
    assert totals(customer) == recomputed(customer)


def test_an_order_without_a_rate_for_its_day_is_refused_and_changes_nothing():
    customer = make_customer(currency="CNY")
    product = make_product(price=100, cost=60)
    with pytest.raises(MissingRateError) as caught:
        order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                     lines=[LineInput(product, 1)], currency="USD")
    message = " ".join(caught.value.messages)
    assert "USD" in message and "2025-03-05" in message and "CNY" in message
    assert caught.value.code == "missing_rate"
    assert not Order.objects.exists()
    assert totals(customer) == (0, 0, 0, 0, 0)


def test_rate_rule_exact_day_else_latest_within_seven_days_never_a_later_one():
    rate("USD", "2025-03-03", "7.10")  # Monday
    rate("USD", "2025-03-07", "7.20")  # Friday
    rate("USD", "2025-03-20", "7.30")
    book = RateBook([("USD", date(2025, 3, 1)), ("USD", date(2025, 3, 19))])
    assert book.find("USD", date(2025, 3, 3)) == Decimal("7.10")  # its own day
    assert book.find("USD", date(2025, 3, 9)) == Decimal("7.20")  # Sunday: Friday's
    assert book.find("USD", date(2025, 3, 14)) == Decimal("7.20")  # 7 days old: still used
    assert book.find("USD", date(2025, 3, 15)) is None  # 8 days old: refused
    assert book.find("USD", date(2025, 3, 2)) is None  # only a later rate: never used
    assert book.find("CNY", date(1999, 1, 1)) == 1  # the base currency needs no rate
    assert book.find("EUR", date(2025, 3, 3)) is None


@override_settings(PATRON_RATE_MAX_AGE_DAYS=0)
def test_a_tolerance_of_zero_days_asks_for_the_exact_day():
    rate("USD", "2025-03-07", "7.20")
    assert RateBook().find("USD", date(2025, 3, 7)) == Decimal("7.20")
    assert RateBook().find("USD", date(2025, 3, 8)) is None


def test_the_day_is_the_local_date_of_the_order():
    rate("USD", "2025-03-05", "7.00")
    rate("USD", "2025-03-06", "8.00")
    customer = make_customer()
    product = make_product(price=10, cost=0, currency="USD")
    # 17:30 UTC on the 5th is 01:30 on the 6th in Shanghai: the 6th's rate.
    late = datetime(2025, 3, 5, 17, 30, tzinfo=ZoneInfo("UTC"))
    order = order_create(customer=customer, channel="web", ordered_at=late, lines=[LineInput(product, 1)], currency="USD")
    assert order.exchange_rate == Decimal("8.00") and order.base_revenue == Decimal("80.00")


def test_rounding_is_half_up_to_the_cent():
    rate("JPY", "2025-03-05", "0.0485")
    customer = make_customer()
    product = make_product(price=Decimal("123.50"), cost=0, currency="JPY")
    order = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                         lines=[LineInput(product, 1)], currency="JPY")
    assert order.base_revenue == Decimal("5.99")  # 5.98975 → 5.99


def test_a_product_priced_in_another_currency_is_converted_into_the_orders():
    rate("USD", "2025-03-05", "7.00")
    rate("EUR", "2025-03-05", "8.00")
    customer = make_customer()
    usd_product = make_product(price=100, cost=40, currency="USD")
    order = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                         lines=[LineInput(usd_product, 2)], currency="EUR")
    line = order.lines.get()
    # 100 USD = 700 CNY = 87.50 EUR; the line is in the order's currency.
    assert (line.unit_price, line.unit_cost, line.amount) == (Decimal("87.50"), Decimal("35.00"), Decimal("175.00"))
    assert order.base_revenue == Decimal("1400.00")
    # A CNY order of the same product: its price in CNY.
    cny = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"), lines=[LineInput(usd_product, 1)])
    assert (cny.currency, cny.revenue, cny.base_revenue, cny.exchange_rate) == ("CNY", Decimal("700.00"), Decimal("700.00"), 1)
    # An explicit price is the order's own: nothing converted on the line.
    explicit = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                            lines=[LineInput(usd_product, 1, unit_price=Decimal("9.99"), unit_cost=Decimal("1"))],
                            currency="EUR")
    assert explicit.revenue == Decimal("9.99") and explicit.base_revenue == Decimal("79.92")


def test_cost_events_are_converted_and_refused_alike():
    customer = make_customer()
    rate("USD", "2025-03-05", "7.00")
    event = cost_event_create(customer=customer, kind="ticket", amount=Decimal("10"), occurred_at=at("2025-03-05"),
                              currency="USD")
    assert (event.amount, event.currency, event.exchange_rate, event.base_amount) == (
        Decimal("10"), "USD", Decimal("7.00"), Decimal("70.00"))
    assert totals(customer) == (0, 0, Decimal("70.00"), Decimal("-70.00"), 0)
    with pytest.raises(MissingRateError):
        cost_event_create(customer=customer, kind="ticket", amount=Decimal("10"), occurred_at=at("2025-04-05"),
                          currency="USD")
    assert CostEvent.objects.count() == 1
    # A new day converts again; a day without a rate is refused and the event stays as it was.
    rate("USD", "2025-03-10", "8.00")
    cost_event_update(event=event, changes={"occurred_at": at("2025-03-10")})
    assert totals(customer)[2] == Decimal("80.00")
    with pytest.raises(MissingRateError):
        cost_event_update(event=event, changes={"occurred_at": at("2025-05-10")})
    event.refresh_from_db()
    assert event.base_amount == Decimal("80.00") and totals(customer) == recomputed(customer)


def test_customer_currency_is_the_default_of_their_orders():
    rate("USD", "2025-03-05", "7.00")
    customer = make_customer(currency="USD")
    product = make_product(price=10, cost=5, currency="USD")
    order = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"), lines=[LineInput(product, 3)])
    assert (order.currency, order.revenue, order.base_revenue) == ("USD", Decimal("30.00"), Decimal("210.00"))
    assert totals(customer)[0] == Decimal("210.00")


def test_order_update_converts_again_or_refuses():
    rate("USD", "2025-03-05", "7.00")
    rate("USD", "2025-03-20", "7.50")
    customer = make_customer()
    product = make_product(price=100, cost=50)
    order = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"), lines=[LineInput(product, 1)])
    assert totals(customer)[0] == Decimal("100.00")
    order_update(order=order, changes={"currency": "USD"})
    assert totals(customer)[0] == Decimal("700.00")
    order_update(order=order, changes={"ordered_at": at("2025-03-21")})
    assert totals(customer)[0] == Decimal("750.00")
    with pytest.raises(MissingRateError):
        order_update(order=order, changes={"ordered_at": at("2025-06-01")},
                     lines=[LineInput(product, 2, unit_price=Decimal("1"))])
    order.refresh_from_db()
    assert (order.ordered_at, order.revenue, order.base_revenue) == (at("2025-03-21"), Decimal("100.00"), Decimal("750.00"))
    # New lines: the explicit price is in USD; the CNY product's cost, 50, is 6.67 USD at 7.5.
    order_update(order=order, changes={}, lines=[LineInput(product, 2, unit_price=Decimal("10"))])
    assert totals(customer) == recomputed(customer) == (Decimal("150.00"), Decimal("100.05"), 0, Decimal("49.95"), 1)


def test_totals_equal_a_recomputation_from_the_orders_after_every_path_of_the_service():
    for code, value in (("USD", "7.1"), ("EUR", "7.7"), ("JPY", "0.048")):
        for d in range(0, 30, 3):
            rate(code, (date(2025, 3, 1) + timedelta(days=d)).isoformat(), value)
    customers = [make_customer(currency=c) for c in ("CNY", "USD", "EUR")]
    products = [make_product(price=Decimal("19.99"), cost=Decimal("7.33"), currency=c) for c in ("CNY", "USD", "JPY")]
    for i in range(24):
        customer = customers[i % 3]
        moment = at((date(2025, 3, 1) + timedelta(days=i)).isoformat(), hour=i % 24)
        order_create(customer=customer, channel="web", ordered_at=moment,
                     lines=[LineInput(products[i % 3], i % 4 + 1), LineInput(products[(i + 1) % 3], 1)],
                     currency=[None, "JPY", "EUR", "USD"][i % 4])
        cost_event_create(customer=customer, kind="ticket", amount=Decimal("3.33"), occurred_at=moment,
                          currency=[None, "USD"][i % 2])
    before = [totals(c) for c in customers]
    assert before == [recomputed(c) for c in customers]
    assert len({o.currency for o in Order.objects.all()}) == 4
    Customer.objects.update(revenue_total=0, cogs_total=0, profit_total=0, cost_to_serve_total=0, order_count=0)
    customer_totals_refresh([c.pk for c in customers])
    assert [totals(c) for c in customers] == before


def test_rates_are_idempotent_on_currency_and_date_and_checked():
    first = rates_save(rates=[RateInput("USD", date(2025, 3, 5), Decimal("7.1")),
                              RateInput("EUR", date(2025, 3, 5), Decimal("7.8"))])
    assert [r.status for r in first] == ["created", "created"]
    again = rates_save(rates=[RateInput("USD", date(2025, 3, 5), Decimal("7.1000"))])
    assert [r.status for r in again] == ["unchanged"]
    changed = rates_save(rates=[RateInput("USD", date(2025, 3, 5), Decimal("7.2"))])
    assert [r.status for r in changed] == ["updated"]
    assert ExchangeRate.objects.get(currency="USD").rate == Decimal("7.2")
    for bad, code in (
        (RateInput("CNY", date(2025, 3, 5), Decimal("1")), "base_currency"),
        (RateInput("USD", date(2025, 3, 6), Decimal("0")), "rate"),
        (RateInput("USD", date(2025, 3, 6), Decimal("-1")), "rate"),
        (RateInput("usd", date(2025, 3, 6), Decimal("1")), "currency"),
        (RateInput("USD", date(2025, 3, 6), Decimal("0.00000000001")), "rate"),
    ):
        with pytest.raises(ValidationError) as caught:
            rates_save(rates=[RateInput("GBP", date(2025, 3, 6), Decimal("9")), bad])
        assert caught.value.code == code
    assert not ExchangeRate.objects.filter(currency="GBP").exists()  # all or nothing
    with pytest.raises(ValidationError):
        rates_save(rates=[RateInput("GBP", date(2025, 3, 6), Decimal("9")), RateInput("GBP", date(2025, 3, 6), Decimal("9"))])


def test_records_waiting_for_a_rate_count_in_nothing_until_converted():
    """What the migration leaves for orders in another currency without a rate (see the
    migration test): no rate, base amounts 0, out of every total; loading rates converts them."""
    customer = make_customer()
    product = make_product(price=10, cost=4)
    kept = order_create(customer=customer, channel="web", ordered_at=at("2025-03-01"), lines=[LineInput(product, 1)])
    rate("USD", "2025-03-05", "7.00")
    waiting = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                           lines=[LineInput(make_product(price=10, cost=4, currency="USD"), 10)], currency="USD")
    Order.objects.filter(pk=waiting.pk).update(exchange_rate=None, base_revenue=0, base_cost_of_goods=0)
    ExchangeRate.objects.all().delete()
    customer_totals_refresh([customer.pk])
    assert totals(customer) == (Decimal("10.00"), Decimal("4.00"), 0, Decimal("6.00"), 1)
    customer.refresh_from_db()
    assert customer.last_order_at == kept.ordered_at  # the waiting order's date counts neither
    assert currency.pending().orders == 1
    assert convert_pending() == (0, 1)  # still no rate
    rates_save(rates=[RateInput("USD", date(2025, 3, 4), Decimal("7.5"))])  # converts at once
    waiting.refresh_from_db()
    assert (waiting.exchange_rate, waiting.base_revenue) == (Decimal("7.5"), Decimal("750.00"))
    assert totals(customer) == recomputed(customer) == (Decimal("760.00"), Decimal("304.00"), 0, Decimal("456.00"), 2)
    assert currency.pending().orders == 0


def test_convert_all_recomputes_from_corrected_rates():
    rate("USD", "2025-03-05", "7.00")
    customer = make_customer()
    order = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                         lines=[LineInput(make_product(price=10, cost=0, currency="USD"), 1)], currency="USD")
    ExchangeRate.objects.filter(currency="USD").update(rate=Decimal("7.25"))
    assert convert_pending() == (0, 0)  # converted records keep their rate...
    assert convert_pending(everything=True) == (1, 0)  # ...until asked to recompute
    order.refresh_from_db()
    assert order.base_revenue == Decimal("72.50") and totals(customer)[0] == Decimal("72.50")


def test_the_database_refuses_base_amounts_without_a_rate():
    from django.db import IntegrityError, transaction

    customer = make_customer()
    order = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                         lines=[LineInput(make_product(price=10, cost=0), 1)])
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(exchange_rate=None)  # base_revenue stays 10
    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRate.objects.create(currency="USD", date=date(2025, 1, 1), rate=Decimal("-1"))


def test_a_changed_base_currency_is_refused_while_money_is_stored():
    currency.forget_base_check()  # the ledger row is written by the process's first check
    make_customer()
    order_create(customer=make_customer(), channel="web", ordered_at=at("2025-03-05"),
                 lines=[LineInput(make_product(price=10, cost=0), 1)])
    assert Ledger.objects.get().base_currency == "CNY"
    try:
        with override_settings(PATRON_BASE_CURRENCY="USD"):
            currency.forget_base_check()
            with pytest.raises(ImproperlyConfigured, match="keeps its totals in CNY"):
                RateBook()
            from patron.commerce.apps import base_currency_check

            assert [m.id for m in base_currency_check(None, databases=["default"])] == ["patron.E010"]
    finally:
        currency.forget_base_check()


def test_an_empty_database_follows_a_new_base_currency():
    try:
        with override_settings(PATRON_BASE_CURRENCY="USD"):
            currency.forget_base_check()
            customer = make_customer()
            assert customer.currency == "USD"
            order = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                                 lines=[LineInput(make_product(price=10, cost=0), 1)])
            assert order.exchange_rate == 1 and Ledger.objects.get().base_currency == "USD"
            with pytest.raises(MissingRateError):
                order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"),
                             lines=[LineInput(make_product(price=10, cost=0), 1)], currency="CNY")
    finally:
        Ledger.objects.update(base_currency="CNY")
        currency.forget_base_check()


def test_the_analytics_extract_reads_base_money_and_leaves_out_what_waits():
    from patron.insights.extract import costs_frame, orders_frame

    rate("USD", "2025-03-05", "7")
    customer = make_customer()
    usd = make_product(price=10, cost=4, currency="USD")
    converted = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"), lines=[LineInput(usd, 1)],
                             currency="USD")
    waiting = order_create(customer=customer, channel="web", ordered_at=at("2025-03-05"), lines=[LineInput(usd, 3)],
                           currency="USD")
    Order.objects.filter(pk=waiting.pk).update(exchange_rate=None, base_revenue=0, base_cost_of_goods=0)
    cost_event_create(customer=customer, kind="ticket", amount=Decimal("2"), occurred_at=at("2025-03-05"), currency="USD")
    for ids in (None, [customer.pk]):
        orders = orders_frame(ids)
        assert orders["order_id"].tolist() == [converted.pk]
        assert (orders["revenue"].tolist(), orders["cogs"].tolist()) == ([70.0], [28.0])
        assert costs_frame(ids)["amount"].tolist() == [14.0]
