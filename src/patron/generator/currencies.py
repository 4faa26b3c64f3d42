"""Generated money in a foreign currency, so the conversion path runs on generated data too.

By default every generated customer buys in the base currency. With ``Population.foreign_share``
above 0, that share of customers (chosen by a hash of seed and customer index, so the same
customers whatever the chunk size) is billed in ``foreign_currency``: their orders, lines and
cost events are written in it, converted exactly as ``commerce.currency`` converts (rate of the
local date, half up to the cent), and their running totals are the sums of the converted
amounts. The simulation's money is in the base currency; a foreign price is the base price ÷
the day's rate, rounded to the cent, so converted totals differ from the simulated ones by
rounding only.

Daily rates the database lacks for the days in use are written first (a smooth deterministic
curve around ``foreign_rate``, four decimals, source "generated"); rates already there (loaded
by a person) are used as they are.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings

from patron.commerce.currency import RateBook
from patron.commerce.models import ExchangeRate
from patron.generator import simulate

SCALE = 10**10  # rates have ten decimal places
GENERATED = "generated"


def foreign_customers(customer_index: np.ndarray, seed: int, share: float) -> np.ndarray:
    """Which customers buy in the foreign currency: splitmix64 of (seed, index) below ``share``."""
    if share <= 0:
        return np.zeros(len(customer_index), dtype=bool)
    with np.errstate(over="ignore"):
        z = customer_index.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53) < share


def generated_rate(day: date, around: float) -> Decimal:
    """A deterministic daily rate: ±3% over a year and ±0.5% over a month around ``around``."""
    t = day.toordinal()
    value = around * (1 + 0.03 * math.sin(2 * math.pi * t / 365.25) + 0.005 * math.sin(2 * math.pi * t / 29.5))
    return Decimal(f"{value:.4f}")


def local_days(moments: np.ndarray) -> np.ndarray:
    """datetime64 UTC → the local calendar day (``PATRON_TIME_ZONE``) as datetime64[D]."""
    stamps = pd.DatetimeIndex(pd.to_datetime(moments, utc=True)).tz_convert(settings.TIME_ZONE)
    return stamps.tz_localize(None).to_numpy().astype("datetime64[D]")


def rates_for_days(currency: str, days: np.ndarray, around: float) -> dict[np.datetime64, int]:
    """Each day's rate as an integer of ``SCALE`` units, writing the generated rates missing."""
    wanted = sorted({d.item() for d in np.unique(days)})
    if not wanted:
        return {}
    have = set(
        ExchangeRate.objects.filter(currency=currency, date__gte=wanted[0], date__lte=wanted[-1]).values_list(
            "date", flat=True
        )
    )
    missing = [d for d in wanted if d not in have]
    ExchangeRate.objects.bulk_create(
        [ExchangeRate(currency=currency, date=d, rate=generated_rate(d, around), source=GENERATED) for d in missing],
        ignore_conflicts=True,
        batch_size=2000,
    )
    book = RateBook([(currency, wanted[0]), (currency, wanted[-1])])
    return {np.datetime64(d, "D"): int(book.rate(currency, d) * SCALE) for d in wanted}


def _divide(cents: list[int], rates: list[int]) -> list[int]:
    """base cents ÷ rate, half up, in cents (exact integer arithmetic)."""
    return [(2 * c * SCALE + r) // (2 * r) for c, r in zip(cents, rates, strict=True)]


def _multiply(cents: list[int], rates: list[int]) -> list[int]:
    """cents × rate, half up to the cent: what ``commerce.currency.to_base`` computes."""
    return [(2 * c * r + SCALE) // (2 * SCALE) for c, r in zip(cents, rates, strict=True)]


def convert_chunk(chunk: simulate.Chunk, params: simulate.Population, seed: int, base: str) -> None:
    """Give the chunk's frames their currency columns, in place.

    Adds ``currency`` and ``rate`` (an int of SCALE units) to customers' orders and cost events,
    ``base_revenue_cents`` / ``base_cogs_cents`` / ``base_amount_cents`` beside the original
    amounts, and moves the customers' totals onto the converted amounts.
    """
    cust, orders, lines, events = chunk.customers, chunk.orders, chunk.lines, chunk.cost_events
    foreign_c = foreign_customers(cust["customer_index"].to_numpy(), seed, params.foreign_share)
    currency = params.foreign_currency if foreign_c.any() else base
    foreign_ids = set(cust["customer_index"].to_numpy()[foreign_c].tolist())
    cust["currency"] = np.where(foreign_c, currency, base)
    one = SCALE
    orders["currency"] = base
    orders["rate"] = one
    orders["base_revenue_cents"] = orders["revenue_cents"]
    orders["base_cogs_cents"] = orders["cogs_cents"]
    events["currency"] = base
    events["rate"] = one
    events["base_amount_cents"] = events["amount_cents"]
    if not foreign_ids:
        return
    f_orders = orders["customer_index"].isin(foreign_ids).to_numpy()
    f_events = events["customer_index"].isin(foreign_ids).to_numpy()
    day_rate = rates_for_days(
        currency,
        np.concatenate([local_days(orders["ordered_at"].to_numpy()[f_orders]),
                        local_days(events["occurred_at"].to_numpy()[f_events])]),
        params.foreign_rate,
    )

    # Orders: each foreign line priced in the foreign currency, the order's sums from them.
    order_rate = np.full(len(orders), one, dtype=object)
    order_rate[f_orders] = [day_rate[d] for d in local_days(orders["ordered_at"].to_numpy()[f_orders])]
    f_lines = f_orders[lines["order_index"].to_numpy()]
    line_rates = order_rate[lines["order_index"].to_numpy()[f_lines]].tolist()
    qty = lines["quantity"].to_numpy()[f_lines].astype(np.int64)
    price = np.array(_divide(lines["unit_price_cents"].to_numpy()[f_lines].tolist(), line_rates), dtype=np.int64)
    cost = np.array(_divide(lines["unit_cost_cents"].to_numpy()[f_lines].tolist(), line_rates), dtype=np.int64)
    for column, values in (("unit_price_cents", price), ("unit_cost_cents", cost), ("amount_cents", qty * price)):
        updated = lines[column].to_numpy().copy()
        updated[f_lines] = values
        lines[column] = updated
    per_order = lines.assign(cogs=lines["quantity"].to_numpy().astype(np.int64) * lines["unit_cost_cents"].to_numpy())
    sums = per_order.groupby("order_index")[["amount_cents", "cogs"]].sum()
    revenue = orders["revenue_cents"].to_numpy().copy()
    cogs = orders["cogs_cents"].to_numpy().copy()
    index = orders["order_index"].to_numpy()[f_orders]
    revenue[f_orders] = sums["amount_cents"].reindex(index).to_numpy()
    cogs[f_orders] = sums["cogs"].reindex(index).to_numpy()
    rates = order_rate[f_orders].tolist()
    base_revenue = orders["revenue_cents"].to_numpy().copy()
    base_cogs = orders["cogs_cents"].to_numpy().copy()
    base_revenue[f_orders] = _multiply(revenue[f_orders].tolist(), rates)
    base_cogs[f_orders] = _multiply(cogs[f_orders].tolist(), rates)
    orders["revenue_cents"], orders["cogs_cents"] = revenue, cogs
    orders["base_revenue_cents"], orders["base_cogs_cents"] = base_revenue, base_cogs
    orders["rate"] = order_rate
    orders.loc[f_orders, "currency"] = currency

    # Cost events: the amount in the foreign currency and its conversion.
    event_rate = np.full(len(events), one, dtype=object)
    event_rate[f_events] = [day_rate[d] for d in local_days(events["occurred_at"].to_numpy()[f_events])]
    amount = events["amount_cents"].to_numpy().copy()
    base_amount = amount.copy()
    amount[f_events] = _divide(amount[f_events].tolist(), event_rate[f_events].tolist())
    base_amount[f_events] = _multiply(amount[f_events].tolist(), event_rate[f_events].tolist())
    events["amount_cents"], events["base_amount_cents"], events["rate"] = amount, base_amount, event_rate
    events.loc[f_events, "currency"] = currency

    # Totals: the converted sums, as the services would have accumulated them.
    by_customer = pd.Index(cust["customer_index"].to_numpy())
    revenue_t = orders.groupby("customer_index")["base_revenue_cents"].sum().reindex(by_customer, fill_value=0)
    cogs_t = orders.groupby("customer_index")["base_cogs_cents"].sum().reindex(by_customer, fill_value=0)
    cts_t = events.groupby("customer_index")["base_amount_cents"].sum().reindex(by_customer, fill_value=0)
    cust["revenue_cents"] = revenue_t.to_numpy()
    cust["cogs_cents"] = cogs_t.to_numpy()
    cust["cost_to_serve_cents"] = cts_t.to_numpy()
    cust["profit_cents"] = cust["revenue_cents"] - cust["cogs_cents"] - cust["cost_to_serve_cents"]


def rate_values(rates: pd.Series) -> list[Decimal | int]:
    """Integer SCALE units → the values written to ``exchange_rate`` (1 for the base currency)."""
    return [1 if r == SCALE else Decimal(int(r)).scaleb(-10) for r in rates.tolist()]


__all__ = ["convert_chunk", "foreign_customers", "generated_rate", "rate_values"]
