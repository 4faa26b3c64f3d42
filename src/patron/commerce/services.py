"""Writes of products, orders and cost events.

Each write updates the customer's running totals in the same transaction, so the customer's
profit and order figures are current the moment the order is visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils.translation import gettext as _

from patron.commerce.models import CostEvent, Order, OrderLine, Product
from patron.core.errors import DuplicateExternalIdError
from patron.core.models import Branch
from patron.customers.models import Customer

CENT = Decimal("0.01")


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
    currency: str = "CNY",
) -> Product:
    if external_id and Product.objects.filter(external_id=external_id).exists():
        raise DuplicateExternalIdError(str(Product._meta.verbose_name), external_id)
    product = Product(
        sku=sku,
        name=name,
        category=category,
        list_price=Decimal(list_price),
        unit_cost=Decimal(unit_cost),
        external_id=external_id or None,
        currency=currency,
    )
    product.full_clean()
    product.save()
    return product


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValidationError(_("Times must carry a time zone."), code="naive_datetime")
    return moment


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
    if not lines:
        raise ValidationError(_("An order needs at least one line."), code="no_lines")
    built: list[OrderLine] = []
    for number, line in enumerate(lines, start=1):
        quantity = Decimal(line.quantity)
        if quantity <= 0:
            raise ValidationError(_("Line %(n)s: the quantity must be positive.") % {"n": number}, code="quantity")
        price = line.product.list_price if line.unit_price is None else Decimal(line.unit_price)
        cost = line.product.unit_cost if line.unit_cost is None else Decimal(line.unit_cost)
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
    order = Order(
        customer=customer,
        channel=channel,
        ordered_at=_aware(ordered_at),
        external_id=external_id or None,
        branch=branch,
        currency=currency or customer.currency,
        revenue=revenue,
        cost_of_goods=cogs,
    )
    order.full_clean(exclude=["customer", "branch"])
    order.save()
    for b in built:
        b.order = order
    OrderLine.objects.bulk_create(built)
    moment = Value(order.ordered_at, output_field=DateTimeField())
    Customer.objects.filter(pk=customer.pk).update(
        revenue_total=F("revenue_total") + revenue,
        cogs_total=F("cogs_total") + cogs,
        profit_total=F("profit_total") + revenue - cogs,
        order_count=F("order_count") + 1,
        first_order_at=Least(Coalesce(F("first_order_at"), moment), moment),
        last_order_at=Greatest(Coalesce(F("last_order_at"), moment), moment),
    )
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
    event = CostEvent(
        customer=customer,
        kind=kind,
        amount=amount,
        occurred_at=_aware(occurred_at),
        external_id=external_id or None,
        note=note,
        currency=currency or customer.currency,
    )
    event.full_clean(exclude=["customer"])
    event.save()
    Customer.objects.filter(pk=customer.pk).update(
        cost_to_serve_total=F("cost_to_serve_total") + amount,
        profit_total=F("profit_total") - amount,
    )
    return event


def customer_totals_refresh(customer_ids: Iterable[int]) -> int:
    """Recompute the running totals of these customers from their orders and cost events.

    The bulk writers (imports, merges) call this at the end of each batch instead of adding
    deltas, so re-imports, updates and moved records can never leave a total off. Sums are
    read through the ORM (Decimal, exact) and written back with one executemany per chunk.
    Returns the number of customers refreshed.
    """
    from django.db import connection
    from django.db.models import Count, Max, Min, Sum

    ids = sorted({int(pk) for pk in customer_ids})
    zero = Decimal(0)
    done = 0
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        orders = {
            row["customer_id"]: row
            for row in Order.objects.filter(customer_id__in=chunk)
            .order_by()
            .values("customer_id")
            .annotate(
                revenue=Sum("revenue"),
                cogs=Sum("cost_of_goods"),
                count=Count("id"),
                first=Min("ordered_at"),
                last=Max("ordered_at"),
            )
        }
        serve = dict(
            CostEvent.objects.filter(customer_id__in=chunk)
            .order_by()
            .values("customer_id")
            .annotate(total=Sum("amount"))
            .values_list("customer_id", "total")
        )
        rows = []
        for pk in chunk:
            o = orders.get(pk)
            revenue = (o["revenue"] if o else zero) or zero
            cogs = (o["cogs"] if o else zero) or zero
            cost = serve.get(pk) or zero
            values = [
                revenue.quantize(CENT),
                cogs.quantize(CENT),
                cost.quantize(CENT),
                (revenue - cogs - cost).quantize(CENT),
                o["count"] if o else 0,
                o["first"] if o else None,
                o["last"] if o else None,
            ]
            rows.append([*values, pk])
        fields = [Customer._meta.get_field(name) for name in _TOTAL_FIELDS]
        with connection.cursor() as cursor:
            prepared = [
                [f.get_db_prep_save(v, connection) for f, v in zip(fields, row[:-1], strict=True)] + [row[-1]]
                for row in rows
            ]
            assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
            cursor.executemany(
                f"UPDATE {connection.ops.quote_name(Customer._meta.db_table)} SET {assignments} WHERE id = %s",  # noqa: S608 - names from the model
                prepared,
            )
        done += len(chunk)
    return done


_TOTAL_FIELDS = (
    "revenue_total",
    "cogs_total",
    "cost_to_serve_total",
    "profit_total",
    "order_count",
    "first_order_at",
    "last_order_at",
)
