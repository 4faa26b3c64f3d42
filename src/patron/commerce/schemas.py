"""API shapes of products, orders (with lines), cost events and exchange rates.

``order_data`` is also the payload of the ``order.created`` webhook, so a subscriber receives
exactly what ``GET /api/v1/orders/{id}`` returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field
from pydantic import WithJsonSchema, model_validator

from patron.commerce.models import CostEvent, ExchangeRate, Order, OrderLine, Product
from patron.core.apikit import (
    Currency,
    ExternalId,
    Id,
    InputSchema,
    Moment,
    Money,
    Name60,
    Name200,
    OutputSchema,
    Quantity,
    Str20,
    Str100,
    Str300,
)
from patron.core.choices import SalesChannel
from patron.core.models import base_currency

# Inline in the OpenAPI document (Django names several enums "Kind").
CostEventKind = Annotated[CostEvent.Kind, WithJsonSchema({"type": "string", "enum": CostEvent.Kind.values})]


class ProductOut(OutputSchema):
    id: int
    external_id: str | None
    sku: str
    name: str
    category: str
    list_price: Decimal
    unit_cost: Decimal
    currency: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ProductIn(InputSchema):
    sku: Name60
    name: Name200
    list_price: Money
    unit_cost: Money
    category: Str100 = ""
    external_id: ExternalId | None = None
    currency: Currency | None = Field(None, description="Of the list price and unit cost; default: the base currency.")
    is_active: bool = True


class ProductPatch(InputSchema):
    sku: Name60 | None = None
    name: Name200 | None = None
    list_price: Money | None = None
    unit_cost: Money | None = None
    category: Str100 | None = None
    external_id: ExternalId | None = None
    currency: Currency | None = None
    is_active: bool | None = None


class LineIn(InputSchema):
    """One order line; name the product by exactly one of id, external id or SKU."""

    product_id: Id | None = None
    product_external_id: ExternalId | None = None
    product_sku: Name60 | None = None
    quantity: Quantity
    unit_price: Money | None = Field(None, description="Defaults to the product's list price.")
    unit_cost: Money | None = Field(None, description="Defaults to the product's unit cost.")

    @model_validator(mode="after")
    def _one_product_reference(self) -> LineIn:
        given = [r for r in (self.product_id, self.product_external_id, self.product_sku) if r is not None]
        if len(given) != 1:
            raise ValueError(_("name the product by exactly one of product_id, product_external_id, product_sku"))
        return self


class OrderIn(InputSchema):
    """An order with its lines; name the customer by customer_id or customer_external_id."""

    customer_id: Id | None = None
    customer_external_id: ExternalId | None = None
    external_id: ExternalId | None = Field(None, description="Your order number; a second order with it is refused.")
    channel: SalesChannel
    ordered_at: Moment
    branch: Str20 | None = Field(None, description="Branch code.")
    currency: Currency | None = Field(
        None,
        description="Defaults to the customer's currency. Another currency than the base needs an exchange rate "
        "for the order's date (POST /rates); without one the order is refused (422 missing_rate).",
    )
    lines: list[LineIn] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one_customer_reference(self) -> OrderIn:
        if (self.customer_id is None) == (self.customer_external_id is None):
            raise ValueError(_("name the customer by exactly one of customer_id, customer_external_id"))
        return self


class OrderPatch(InputSchema):
    external_id: ExternalId | None = None
    channel: SalesChannel | None = None
    ordered_at: Moment | None = None
    branch: Str20 | None = None
    currency: Currency | None = None
    lines: list[LineIn] | None = Field(None, min_length=1, max_length=1000, description="Replaces every line.")


class LineOut(OutputSchema):
    line_no: int
    product_id: int
    product_sku: str
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    amount: Decimal


class OrderOut(OutputSchema):
    id: int
    external_id: str | None
    customer_id: int
    customer_external_id: str | None
    channel: str
    branch: str | None
    ordered_at: datetime
    currency: str = Field(description="The order's own currency: revenue, cost_of_goods and the lines are in it.")
    revenue: Decimal
    cost_of_goods: Decimal
    base_currency: str = Field(description="The company's base currency (PATRON_BASE_CURRENCY).")
    exchange_rate: Decimal | None = Field(
        description="Base units per unit of currency, at the order's date; null: waiting for a rate (counts in no total)."
    )
    base_revenue: Decimal | None = Field(description="Revenue in the base currency, as every total counts it.")
    base_cost_of_goods: Decimal | None
    lines: list[LineOut]
    created_at: datetime


class CostEventOut(OutputSchema):
    id: int
    external_id: str | None
    customer_id: int
    kind: str
    amount: Decimal
    currency: str
    base_currency: str
    exchange_rate: Decimal | None
    base_amount: Decimal | None = Field(description="In the base currency; null: waiting for a rate.")
    occurred_at: datetime
    note: str
    created_at: datetime


class CostEventIn(InputSchema):
    customer_id: Id | None = None
    customer_external_id: ExternalId | None = None
    external_id: ExternalId | None = None
    kind: CostEventKind
    amount: Money
    occurred_at: Moment
    note: Str300 = ""
    currency: Currency | None = None

    @model_validator(mode="after")
    def _one_customer_reference(self) -> CostEventIn:
        if (self.customer_id is None) == (self.customer_external_id is None):
            raise ValueError(_("name the customer by exactly one of customer_id, customer_external_id"))
        return self


class CostEventPatch(InputSchema):
    external_id: ExternalId | None = None
    kind: CostEventKind | None = None
    amount: Money | None = None
    currency: Currency | None = None
    occurred_at: Moment | None = None
    note: Str300 | None = None


def product_data(product: Product) -> dict[str, Any]:
    return {
        "id": product.pk,
        "external_id": product.external_id,
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "list_price": product.list_price,
        "unit_cost": product.unit_cost,
        "currency": product.currency,
        "is_active": product.is_active,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def order_data(
    order: Order,
    lines: Iterable[OrderLine],
    *,
    customer_external_id: str | None,
    branch_code: str | None,
    skus: dict[int, str],
) -> dict[str, Any]:
    """An order as the API returns it and the ``order.created`` webhook sends it (JSON-ready)."""
    return {
        "id": order.pk,
        "external_id": order.external_id,
        "customer_id": order.customer_id,
        "customer_external_id": customer_external_id,
        "channel": order.channel,
        "branch": branch_code,
        "ordered_at": order.ordered_at.isoformat(),
        "currency": order.currency,
        "revenue": str(order.revenue),
        "cost_of_goods": str(order.cost_of_goods),
        "base_currency": base_currency(),
        "exchange_rate": _rate_text(order.exchange_rate),
        "base_revenue": str(order.base_revenue) if order.exchange_rate is not None else None,
        "base_cost_of_goods": str(order.base_cost_of_goods) if order.exchange_rate is not None else None,
        "lines": [
            {
                "line_no": line.line_no,
                "product_id": line.product_id,
                "product_sku": skus.get(line.product_id, ""),
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "unit_cost": str(line.unit_cost),
                "amount": str(line.amount),
            }
            for line in lines
        ],
        "created_at": order.created_at.isoformat() if order.created_at else None,
    }


def cost_event_data(event: CostEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "external_id": event.external_id,
        "customer_id": event.customer_id,
        "kind": event.kind,
        "amount": event.amount,
        "currency": event.currency,
        "base_currency": base_currency(),
        "exchange_rate": _rate_text(event.exchange_rate),
        "base_amount": event.base_amount if event.exchange_rate is not None else None,
        "occurred_at": event.occurred_at,
        "note": event.note,
        "created_at": event.created_at,
    }


def _rate_text(rate: Decimal | None) -> str | None:
    """A rate as text without trailing zeros (7.1, not 7.1000000000); 1 for the base currency."""
    if rate is None:
        return None
    text = format(rate, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---------------------------------------------------------------- exchange rates


class RateIn(InputSchema):
    """A rate to the base currency: base units for one unit of ``currency`` on ``date``."""

    currency: Currency
    date: date
    rate: Annotated[Decimal, Field(gt=0, lt=10**10, max_digits=20, decimal_places=10)]
    source: Str100 = ""


class RateOut(OutputSchema):
    currency: str
    date: date
    rate: Decimal
    source: str
    updated_at: datetime


class RateSaved(RateOut):
    status: str = Field(description="created, updated or unchanged.")


class RatesSaved(OutputSchema):
    base_currency: str
    items: list[RateSaved] = Field(description="One per rate sent, in order.")


def rate_data(rate: ExchangeRate) -> dict[str, Any]:
    return {
        "currency": rate.currency,
        "date": rate.date,
        "rate": Decimal(_rate_text(rate.rate) or "0"),
        "source": rate.source,
        "updated_at": rate.updated_at,
    }
