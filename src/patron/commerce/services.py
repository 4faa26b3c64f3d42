"""Writes of products, orders and cost events.

Each write updates the customer's running totals in the same transaction, so the customer's
profit and order figures are current the moment the order is visible. Totals are in the base
currency: an order or cost event in another currency is converted at the rate of its date
(``commerce.currency``) and refused when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min
from django.utils.translation import gettext as _

from patron.commerce.bulk import Totals, customer_totals_refresh, customers_add_totals
from patron.commerce.currency import CENT, RateBook, cross, rate_day, rate_for, to_base
from patron.commerce.models import CostEvent, Order, OrderLine, Product
from patron.commerce.schemas import order_data
from patron.commerce.signals import customers_changed
from patron.core import events
from patron.core.audit import audit_record, diff, snapshot
from patron.core.errors import DuplicateExternalIdError
from patron.core.models import Branch, base_currency
from patron.customers.models import Customer


@dataclass(frozen=True)
class LineInput:
    product: Product
    quantity: Decimal | int
    unit_price: Decimal | None = None  # defaults to the product's list price
    unit_cost: Decimal | None = None  # defaults to the product's unit cost


def product_create(
    *,
    sku: str,
    name: str,
    list_price: Decimal | int,
    unit_cost: Decimal | int,
    category: str = "",
    external_id: str | None = None,
    currency: str | None = None,
) -> Product:
    """A product; its list price and unit cost are in ``currency`` (default: the base currency)."""
    if external_id and Product.objects.filter(external_id=external_id).exists():
        raise DuplicateExternalIdError(str(Product._meta.verbose_name), external_id)
    product = Product(
        sku=sku,
        name=name,
        category=category,
        list_price=Decimal(list_price),
        unit_cost=Decimal(unit_cost),
        external_id=external_id or None,
        currency=currency or base_currency(),
    )
    product.full_clean()
    try:
        with transaction.atomic():  # a savepoint: a caller's transaction survives the refusal
            product.save()
    except IntegrityError:
        # Another request saved the same SKU or external id between the checks and this INSERT:
        # its row is visible now, so the checks give the error they give one after the other.
        if external_id and Product.objects.filter(external_id=external_id).exists():
            raise DuplicateExternalIdError(str(Product._meta.verbose_name), external_id) from None
        product.full_clean()
        raise
    return product


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValidationError(_("Times must carry a time zone."), code="naive_datetime")
    return moment


def build_lines(
    lines: Sequence[LineInput], *, currency: str, day: date, book: RateBook | None = None
) -> tuple[list[OrderLine], Decimal, Decimal]:
    """Validated, priced lines (not saved) and the order's revenue and cost of goods, in the
    order's ``currency``. A price or cost taken from a product priced in another currency is
    converted at the rates of ``day``."""
    if not lines:
        raise ValidationError(_("An order needs at least one line."), code="no_lines")
    built: list[OrderLine] = []
    for number, line in enumerate(lines, start=1):
        quantity = Decimal(line.quantity)
        if quantity <= 0:
            raise ValidationError(_("Line %(n)s: the quantity must be positive.") % {"n": number}, code="quantity")
        price = line.product.list_price if line.unit_price is None else Decimal(line.unit_price)
        cost = line.product.unit_cost if line.unit_cost is None else Decimal(line.unit_cost)
        if line.product.currency != currency and (line.unit_price is None or line.unit_cost is None):
            book = book or RateBook()
            rate_from, rate_to = book.rate(line.product.currency, day), book.rate(currency, day)
            if line.unit_price is None:
                price = cross(price, rate_from, rate_to)
            if line.unit_cost is None:
                cost = cross(cost, rate_from, rate_to)
        if price < 0 or cost < 0:
            raise ValidationError(_("Line %(n)s: prices and costs cannot be negative.") % {"n": number}, code="price")
        built.append(
            OrderLine(
                line_no=number,
                product=line.product,
                quantity=quantity,
                unit_price=price,
                unit_cost=cost,
                amount=(quantity * price).quantize(CENT),
            )
        )
    revenue = sum((b.amount for b in built), Decimal(0))
    cogs = sum(((b.quantity * b.unit_cost).quantize(CENT) for b in built), Decimal(0))
    return built, revenue, cogs


def _save_new(obj: Order | CostEvent, external_id: str | None) -> None:
    """INSERT ``obj``. Two requests with the same external id at once (a client retrying) both pass
    the check for an existing one; the unique index stops the second, which gets the same
    duplicate error as when they come one after the other (a 409 from the API, not a 500)."""
    try:
        obj.save()
    except IntegrityError as exc:
        if not external_id:
            raise
        raise DuplicateExternalIdError(str(type(obj)._meta.verbose_name), external_id) from exc


@transaction.atomic
def order_create(
    *,
    customer: Customer,
    channel: str,
    ordered_at: datetime,
    lines: Sequence[LineInput],
    external_id: str | None = None,
    branch: Branch | None = None,
    currency: str | None = None,
) -> Order:
    if external_id and Order.objects.filter(external_id=external_id).exists():
        raise DuplicateExternalIdError(str(Order._meta.verbose_name), external_id)
    currency = currency or customer.currency
    ordered_at = _aware(ordered_at)
    book = RateBook([(currency, rate_day(ordered_at))])
    built, revenue, cogs = build_lines(lines, currency=currency, day=rate_day(ordered_at), book=book)
    rate = book.rate(currency, rate_day(ordered_at))
    base_revenue, base_cogs = to_base(revenue, rate, currency), to_base(cogs, rate, currency)
    order = Order(
        customer=customer,
        channel=channel,
        ordered_at=ordered_at,
        external_id=external_id or None,
        branch=branch,
        currency=currency,
        revenue=revenue,
        cost_of_goods=cogs,
        exchange_rate=rate,
        base_revenue=base_revenue,
        base_cost_of_goods=base_cogs,
    )
    order.full_clean(exclude=["customer", "branch"])
    _save_new(order, external_id)
    for b in built:
        b.order = order
    OrderLine.objects.bulk_create(built)
    totals = Totals()
    totals.add_order(base_revenue, base_cogs, order.ordered_at)
    customers_add_totals({customer.pk: totals})
    audit_record("order.create", obj=order, customer_id=customer.pk,
                 changes={"base_revenue": [None, base_revenue], "lines": [None, len(built)]})
    customers_changed.send(sender=Order, customer_ids=[customer.pk])
    # Subscribers (outbound webhooks) hear of the order once it is committed.
    events.publish("order.created", order_event_payload(order, built, customer=customer))
    return order


@transaction.atomic
def cost_event_create(
    *,
    customer: Customer,
    kind: str,
    amount: Decimal | int,
    occurred_at: datetime,
    external_id: str | None = None,
    note: str = "",
    currency: str | None = None,
) -> CostEvent:
    if external_id and CostEvent.objects.filter(external_id=external_id).exists():
        raise DuplicateExternalIdError(str(CostEvent._meta.verbose_name), external_id)
    amount = Decimal(amount)
    if amount < 0:
        raise ValidationError(_("A cost-to-serve amount cannot be negative."), code="negative_cost")
    currency = currency or customer.currency
    occurred_at = _aware(occurred_at)
    rate = rate_for(currency, occurred_at)
    base_amount = to_base(amount, rate, currency)
    event = CostEvent(
        customer=customer,
        kind=kind,
        amount=amount,
        occurred_at=occurred_at,
        external_id=external_id or None,
        note=note,
        currency=currency,
        exchange_rate=rate,
        base_amount=base_amount,
    )
    event.full_clean(exclude=["customer"])
    _save_new(event, external_id)
    customers_add_totals({customer.pk: Totals(serve=base_amount)})
    audit_record("costevent.create", obj=event, customer_id=customer.pk,
                 changes={"kind": [None, event.kind], "base_amount": [None, base_amount]})
    customers_changed.send(sender=CostEvent, customer_ids=[customer.pk])
    return event




def order_event_payload(order: Order, lines: Sequence[OrderLine], *, customer: Customer) -> dict[str, Any]:
    """The ``order.created`` webhook's data: the order as ``GET /api/v1/orders/{id}`` shows it."""
    skus = {line.product_id: line.product.sku for line in lines}
    branch_code = order.branch.code if order.branch_id and order.branch else None
    return order_data(order, lines, customer_external_id=customer.external_id, branch_code=branch_code, skus=skus)


def _only(changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, code="read_only"
        )


def _check_new_external_id(instance: Product | Order | CostEvent, changes: dict[str, Any]) -> None:
    """A changed external id must stay unique; an empty one clears it."""
    if changes.get("external_id") == "":
        changes["external_id"] = None
    new = changes.get("external_id")
    model = type(instance)
    if new and new != instance.external_id and model._default_manager.filter(external_id=new).exists():
        raise DuplicateExternalIdError(str(model._meta.verbose_name), new)


PRODUCT_UPDATABLE = frozenset(
    {"sku", "name", "category", "list_price", "unit_cost", "currency", "is_active", "external_id"}
)


@transaction.atomic
def product_update(*, product: Product, changes: Mapping[str, Any]) -> Product:
    """Change a product. Past order lines keep the prices and costs they were sold at."""
    changes = dict(changes)
    _only(changes, PRODUCT_UPDATABLE)
    _check_new_external_id(product, changes)
    for name, value in changes.items():
        setattr(product, name, value)
    product.full_clean()
    if changes:
        product.save(update_fields=[*changes, "updated_at"])
    return product


def _refresh_order_span(customer_id: int) -> None:
    span = Order.objects.filter(customer_id=customer_id, exchange_rate__isnull=False).aggregate(
        first=Min("ordered_at"), last=Max("ordered_at")
    )
    Customer.objects.filter(pk=customer_id).update(first_order_at=span["first"], last_order_at=span["last"])


ORDER_UPDATABLE = frozenset({"external_id", "channel", "ordered_at", "branch", "currency"})


@transaction.atomic
def order_update(
    *, order: Order, changes: Mapping[str, Any], lines: Sequence[LineInput] | None = None
) -> Order:
    """Change an order and, if ``lines`` is given, replace its lines; the customer's totals follow.

    A new currency, time or set of lines converts the order again at the rate of its (new)
    date, and is refused when there is none.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    changes = dict(changes)
    _only(changes, ORDER_UPDATABLE)
    _check_new_external_id(order, changes)
    before = snapshot(order, list(changes))
    if "ordered_at" in changes:
        changes["ordered_at"] = _aware(changes["ordered_at"])
    old_at, old_rate = order.ordered_at, order.exchange_rate
    old_base = (order.base_revenue, order.base_cost_of_goods)
    for name, value in changes.items():
        setattr(order, name, value)
    fields = list(changes)
    built: list[OrderLine] = []
    if lines is not None or {"currency", "ordered_at"} & set(changes):
        day = rate_day(order.ordered_at)
        book = RateBook([(order.currency, day)])
        if lines is not None:
            built, order.revenue, order.cost_of_goods = build_lines(lines, currency=order.currency, day=day, book=book)
            fields += ["revenue", "cost_of_goods"]
        order.exchange_rate = book.rate(order.currency, day)
        order.base_revenue = to_base(order.revenue, order.exchange_rate, order.currency)
        order.base_cost_of_goods = to_base(order.cost_of_goods, order.exchange_rate, order.currency)
        fields += ["exchange_rate", "base_revenue", "base_cost_of_goods"]
    order.full_clean(exclude=["customer", "branch"])
    if fields:
        order.save(update_fields=[*fields, "updated_at"])
    if lines is not None:
        OrderLine.objects.filter(order=order).delete()
        for b in built:
            b.order = order
        OrderLine.objects.bulk_create(built)
    if old_rate is None and order.exchange_rate is not None:
        # It starts counting: its count and dates as well as its money.
        customer_totals_refresh([order.customer_id])
    else:
        revenue_delta = order.base_revenue - old_base[0]
        cogs_delta = order.base_cost_of_goods - old_base[1]
        if revenue_delta or cogs_delta:
            Customer.objects.filter(pk=order.customer_id).update(
                revenue_total=F("revenue_total") + revenue_delta,
                cogs_total=F("cogs_total") + cogs_delta,
                profit_total=F("profit_total") + revenue_delta - cogs_delta,
            )
        if order.ordered_at != old_at:
            _refresh_order_span(order.customer_id)
    customers_changed.send(sender=Order, customer_ids=[order.customer_id])
    changed = diff(before, order)
    if lines is not None:
        changed["lines"] = [None, len(built)]
    if changed:
        audit_record("order.update", obj=order, customer_id=order.customer_id, changes=changed)
    return order


COST_EVENT_UPDATABLE = frozenset({"external_id", "kind", "amount", "currency", "occurred_at", "note"})


@transaction.atomic
def cost_event_update(*, event: CostEvent, changes: Mapping[str, Any]) -> CostEvent:
    """Change a cost-to-serve event; a new amount, currency or time converts it again (refused
    without a rate) and moves the customer's cost to serve and profit."""
    event = CostEvent.objects.select_for_update().get(pk=event.pk)
    changes = dict(changes)
    _only(changes, COST_EVENT_UPDATABLE)
    _check_new_external_id(event, changes)
    before = snapshot(event, list(changes))
    if "occurred_at" in changes:
        changes["occurred_at"] = _aware(changes["occurred_at"])
    if "amount" in changes:
        changes["amount"] = Decimal(changes["amount"])
        if changes["amount"] < 0:
            raise ValidationError(_("A cost-to-serve amount cannot be negative."), code="negative_cost")
    old_base = event.base_amount
    for name, value in changes.items():
        setattr(event, name, value)
    if {"amount", "currency", "occurred_at"} & set(changes):
        event.exchange_rate = rate_for(event.currency, event.occurred_at)
        event.base_amount = to_base(event.amount, event.exchange_rate, event.currency)
        changes.update(exchange_rate=event.exchange_rate, base_amount=event.base_amount)
    event.full_clean(exclude=["customer"])
    if changes:
        event.save(update_fields=[*changes, "updated_at"])
    delta = event.base_amount - old_base
    if delta:
        customers_add_totals({event.customer_id: Totals(serve=delta)})
        customers_changed.send(sender=CostEvent, customer_ids=[event.customer_id])
    changed = diff(before, event)
    if changed:
        audit_record("costevent.update", obj=event, customer_id=event.customer_id, changes=changed)
    return event
