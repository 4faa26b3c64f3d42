"""Exchange rates and the conversion of money into the base currency.

The rule (docs/configuration.md, "Money and currencies"):

- The base currency is ``PATRON_BASE_CURRENCY`` (default CNY). Every total, score, list and
  chart is in it.
- An order or cost event dated D in currency C (D is the local date of ``ordered_at`` /
  ``occurred_at`` in ``PATRON_TIME_ZONE``) is converted with C's rate on D or, when D has none,
  the latest rate before D that is at most ``PATRON_RATE_MAX_AGE_DAYS`` days older (default 7:
  weekends and week-long public holidays, when central banks publish nothing). A later rate is
  never used. With no such rate the write is refused (``MissingRateError``): nothing is summed
  in the wrong currency.
- The base currency's own rate is 1. A rate is base units per one unit of C
  (USD → CNY 7.1234).
- Base amount = amount × rate, rounded half up to the cent. An order converts its sums
  (revenue, cost of goods), not each line; the rate used is stored on the order.
- A line that takes its price or cost from a product priced in another currency than the order
  converts it at the order's date through the base currency (product rate / order rate).
- Rates are fixed when a record is written: a corrected rate changes later writes, and
  ``patron rates convert --all`` recomputes the stored base amounts from the current rates.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.commerce.bulk import customers_recount
from patron.commerce.models import CostEvent, ExchangeRate, Ledger, Order
from patron.core.models import base_currency

CENT = Decimal("0.01")
ONE = Decimal(1)
# Money columns hold 14 digits before the point.
MONEY_LIMIT = Decimal("1e14")
RATE_LIMIT = Decimal("1e10")
# Products of a 16-digit amount and a 20-digit rate, computed exactly before rounding.
_EXACT = Context(prec=60)

__all__ = [
    "MissingRateError",
    "RateBook",
    "base_currency",
    "check_base_currency",
    "rate_day",
    "to_base",
]


class MissingRateError(ValidationError):
    """No usable rate for ``currency`` on ``day``: the record is refused, never summed."""

    def __init__(self, currency: str, day: date) -> None:
        self.currency = currency
        self.day = day
        super().__init__(
            _(
                "No exchange rate from %(currency)s to %(base)s for %(date)s (nor in the %(days)s days before); "
                "add one (Exchange rates in the admin, POST /api/v1/rates or an import of rates) and try again."
            )
            % {
                "currency": currency,
                "base": base_currency(),
                "date": day.isoformat(),
                "days": settings.PATRON_RATE_MAX_AGE_DAYS,
            },
            code="missing_rate",
        )


class AmountTooLargeError(ValidationError):
    def __init__(self, amount: Decimal, currency: str) -> None:
        super().__init__(
            _("%(amount)s %(currency)s is too large once converted to %(base)s.")
            % {"amount": amount, "currency": currency, "base": base_currency()},
            code="too_large",
        )


def rate_day(moment: datetime) -> date:
    """The day whose rate converts money dated ``moment``: its local date."""
    return timezone.localdate(moment)


def to_base(amount: Decimal, rate: Decimal, currency: str = "") -> Decimal:
    """``amount`` × ``rate``, rounded half up to the cent; refused if it no longer fits."""
    if rate == ONE:
        return amount
    value = _EXACT.multiply(amount, rate).quantize(CENT, rounding=ROUND_HALF_UP, context=_EXACT)
    if abs(value) >= MONEY_LIMIT:
        raise AmountTooLargeError(amount, currency)
    return value


def cross(amount: Decimal, rate_from: Decimal, rate_to: Decimal) -> Decimal:
    """An amount in one currency in another, through the base: × rate_from ÷ rate_to, to the cent."""
    if rate_from == rate_to:
        return amount
    value = _EXACT.divide(_EXACT.multiply(amount, rate_from), rate_to)
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=_EXACT)


# ---------------------------------------------------------------- the base currency's guard

_checked: str | None = None


def check_base_currency() -> str:
    """The base currency, after making sure the database's base amounts are in it.

    The first call in a process reads (or writes) the ledger row. If ``PATRON_BASE_CURRENCY``
    changed while the database holds orders, cost events or rates, it raises
    ImproperlyConfigured: converting into a new base would add amounts of two currencies.
    """
    global _checked
    base = base_currency()
    if _checked == base:
        return base
    problem = base_currency_problem()
    if problem:
        raise ImproperlyConfigured(problem)
    if not Ledger.objects.filter(pk=1, base_currency=base).exists():
        Ledger.objects.get_or_create(pk=1, defaults={"base_currency": base})
        Ledger.objects.filter(pk=1).update(base_currency=base)  # an empty database follows the setting
    _checked = base
    return base


def base_currency_problem() -> str | None:
    """Why the database's money cannot be read in ``PATRON_BASE_CURRENCY``, or None (reads only)."""
    base = base_currency()
    kept = Ledger.objects.filter(pk=1).values_list("base_currency", flat=True).first()
    if kept is None or kept == base:
        return None
    if Order.objects.exists() or CostEvent.objects.exists() or ExchangeRate.objects.exists():
        return (
            f"PATRON_BASE_CURRENCY is {base}, but this database keeps its totals in {kept}. "
            f"Set PATRON_BASE_CURRENCY={kept}; the base currency of a database that holds money cannot be changed."
        )
    return None  # nothing in the old currency yet: the ledger follows the setting


def forget_base_check() -> None:
    """Tests that change the base currency or empty the ledger call this."""
    global _checked
    _checked = None


# ---------------------------------------------------------------- rates in bulk


class RateBook:
    """The rates a batch of records needs, loaded once (one query per currency and span).

    ``RateBook(pairs)`` with the (currency, day) pairs the batch will ask for; ``rate`` answers
    any pair (loading more if asked outside them) and raises MissingRateError when none fits.
    Amounts in the base currency need no query.
    """

    def __init__(self, wanted: Iterable[tuple[str, date]] = ()) -> None:
        self.base = check_base_currency()
        self.max_age = timedelta(days=settings.PATRON_RATE_MAX_AGE_DAYS)
        self._days: dict[str, list[date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        self._spans: dict[str, list[tuple[date, date]]] = {}
        spans: dict[str, tuple[date, date]] = {}
        for currency, day in wanted:
            if currency == self.base:
                continue
            lo, hi = spans.get(currency, (day, day))
            spans[currency] = (min(lo, day), max(hi, day))
        for currency, (lo, hi) in spans.items():
            self._load(currency, lo, hi)

    def _load(self, currency: str, lo: date, hi: date) -> None:
        start = lo - self.max_age
        rows = ExchangeRate.objects.filter(currency=currency, date__gte=start, date__lte=hi).values_list("date", "rate")
        merged = dict(zip(self._days.get(currency, []), self._rates.get(currency, []), strict=True))
        merged.update(rows)
        days = sorted(merged)
        self._days[currency] = days
        self._rates[currency] = [merged[d] for d in days]
        self._spans.setdefault(currency, []).append((lo, hi))

    def find(self, currency: str, day: date) -> Decimal | None:
        """The rate for ``currency`` on ``day`` under the rule above, or None."""
        if currency == self.base:
            return ONE
        if not any(lo <= day <= hi for lo, hi in self._spans.get(currency, ())):
            self._load(currency, day, day)
        days = self._days[currency]
        i = bisect.bisect_right(days, day) - 1
        if i < 0 or day - days[i] > self.max_age:
            return None
        return self._rates[currency][i]

    def rate(self, currency: str, day: date) -> Decimal:
        found = self.find(currency, day)
        if found is None:
            raise MissingRateError(currency, day)
        return found


def rate_for(currency: str, moment: datetime) -> Decimal:
    """The rate converting money in ``currency`` dated ``moment``; raises MissingRateError."""
    if currency == check_base_currency():
        return ONE
    day = rate_day(moment)
    return RateBook([(currency, day)]).rate(currency, day)


# ---------------------------------------------------------------- writing rates


@dataclass(frozen=True)
class RateInput:
    currency: str
    date: date
    rate: Decimal
    source: str = ""


@dataclass(frozen=True)
class RateResult:
    rate: ExchangeRate
    status: str  # "created", "updated" or "unchanged"


def check_rate(item: RateInput, base: str) -> None:
    """Refuse a rate that cannot be stored or used (ValidationError)."""
    if len(item.currency) != 3 or not item.currency.isascii() or not item.currency.isupper():
        raise ValidationError(
            _("%(value)s is not a three-letter currency code such as USD.") % {"value": item.currency}, code="currency"
        )
    if item.currency == base:
        raise ValidationError(
            _("%(currency)s is the base currency; its rate is always 1.") % {"currency": base}, code="base_currency"
        )
    if not item.rate.is_finite() or item.rate <= 0 or item.rate >= RATE_LIMIT:
        raise ValidationError(
            _("The rate must be a positive number below 10,000,000,000, not %(rate)s.") % {"rate": item.rate},
            code="rate",
        )
    if item.rate.quantize(Decimal("1e-10"), context=_EXACT) == 0:
        raise ValidationError(_("The rate %(rate)s rounds to 0 at ten decimal places.") % {"rate": item.rate}, code="rate")


@transaction.atomic
def rates_save(*, rates: Sequence[RateInput], convert: bool = True) -> list[RateResult]:
    """Create or update rates, idempotent on (currency, date); one result per input, in order.

    Checks every input first, so a bad one changes nothing. Afterwards, orders and cost events
    that were waiting for a rate of these currencies (``exchange_rate`` empty) are converted.
    """
    base = check_base_currency()
    seen: dict[tuple[str, date], int] = {}
    for number, item in enumerate(rates, start=1):
        check_rate(item, base)
        key = (item.currency, item.date)
        if key in seen:
            raise ValidationError(
                _("Rate %(n)s repeats %(currency)s on %(date)s (already rate %(first)s).")
                % {"n": number, "currency": item.currency, "date": item.date.isoformat(), "first": seen[key]},
                code="duplicate_rate",
            )
        seen[key] = number
    existing: dict[tuple[str, date], ExchangeRate] = {}
    for currency in {r.currency for r in rates}:
        days = [r.date for r in rates if r.currency == currency]
        for found in ExchangeRate.objects.filter(currency=currency, date__in=days):
            existing[(found.currency, found.date)] = found
    results: list[RateResult] = []
    for item in rates:
        value = item.rate.quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP, context=_EXACT)
        old = existing.get((item.currency, item.date))
        if old is None:
            created = ExchangeRate.objects.create(currency=item.currency, date=item.date, rate=value, source=item.source)
            results.append(RateResult(created, "created"))
        elif old.rate != value or old.source != item.source:
            old.rate, old.source = value, item.source
            old.save(update_fields=["rate", "source", "updated_at"])
            results.append(RateResult(old, "updated"))
        else:
            results.append(RateResult(old, "unchanged"))
    if convert and rates:
        convert_pending(currencies={r.currency for r in rates})
    return results


# ---------------------------------------------------------------- records waiting for a rate


@dataclass(frozen=True)
class Pending:
    """Records in another currency that count in no total because no rate fits their date."""

    orders: int
    cost_events: int
    # (currency, first day, last day, number of records) per currency still waiting.
    by_currency: list[tuple[str, date, date, int]]


def pending() -> Pending:
    """What still waits for a rate (reads the small partial indexes of unconverted records)."""
    spans: dict[str, list[date | int]] = {}
    counts = {"orders": 0, "cost_events": 0}
    for label, model, when in (("orders", Order, "ordered_at"), ("cost_events", CostEvent, "occurred_at")):
        for currency, moment in model._default_manager.filter(exchange_rate__isnull=True).values_list("currency", when):
            counts[label] += 1
            day = rate_day(moment)
            span = spans.setdefault(currency, [day, day, 0])
            span[0] = min(span[0], day)  # type: ignore[type-var]
            span[1] = max(span[1], day)  # type: ignore[type-var]
            span[2] += 1  # type: ignore[operator]
    rows = [(c, s[0], s[1], s[2]) for c, s in sorted(spans.items())]
    return Pending(counts["orders"], counts["cost_events"], rows)  # type: ignore[arg-type]


_CHUNK = 5000


def convert_pending(*, currencies: Iterable[str] | None = None, everything: bool = False) -> tuple[int, int]:
    """Convert the orders and cost events that wait for a rate (or, with ``everything``, every
    record, from the current rates) and refresh their customers' totals, one transaction per
    chunk. Returns (converted, still waiting); records whose rate is still missing stay as they
    are."""
    converted = waiting = 0
    for model, when in ((Order, "ordered_at"), (CostEvent, "occurred_at")):
        qs = model._default_manager.all()
        if not everything:
            qs = qs.filter(exchange_rate__isnull=True)
        if currencies is not None:
            qs = qs.filter(currency__in=sorted(set(currencies)))
        last = 0
        while True:
            rows = list(qs.filter(pk__gt=last).order_by("pk").values_list(*_convert_columns(model, when))[:_CHUNK])
            if not rows:
                break
            last = rows[-1][0]
            done, missing = _convert_rows(model, rows)
            converted += done
            waiting += missing
    return converted, waiting


def _convert_columns(model: type[Order] | type[CostEvent], when: str) -> tuple[str, ...]:
    money = ("revenue", "cost_of_goods") if model is Order else ("amount",)
    return ("pk", "customer_id", "currency", when, "exchange_rate", *money)


@transaction.atomic
def _convert_rows(model: type[Order] | type[CostEvent], rows: list[tuple[Any, ...]]) -> tuple[int, int]:
    book = RateBook([(r[2], rate_day(r[3])) for r in rows])
    objs: list[Any] = []
    touched: set[int] = set()
    waiting = 0
    for pk, customer_id, currency, moment, old_rate, *amounts in rows:
        rate = book.find(currency, rate_day(moment))
        if rate is None:
            waiting += old_rate is None
            continue
        if rate == old_rate:
            continue
        base = [to_base(a, rate, currency) for a in amounts]
        if model is Order:
            objs.append(Order(pk=pk, exchange_rate=rate, base_revenue=base[0], base_cost_of_goods=base[1]))
        else:
            objs.append(CostEvent(pk=pk, exchange_rate=rate, base_amount=base[0]))
        touched.add(customer_id)
    fields = ["exchange_rate", "base_revenue", "base_cost_of_goods"] if model is Order else ["exchange_rate", "base_amount"]
    if objs:
        model._default_manager.bulk_update(objs, fields, batch_size=500)
        customers_recount(touched, sender=model)
    return len(objs), waiting
