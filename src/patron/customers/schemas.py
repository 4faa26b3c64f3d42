"""API shapes of customers and contacts: what the REST API reads and writes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field
from pydantic import WithJsonSchema

from patron.core.apikit import (
    Currency,
    Day,
    ExternalId,
    Id,
    InputSchema,
    Money,
    Name50,
    Name200,
    OutputSchema,
    Str20,
    Str40,
    Str100,
    Str150,
    Str254,
    Str300,
)
from patron.core.choices import SalesChannel
from patron.customers.models import Contact, Customer

Tags = list[Name50]

# Enums named inline in the OpenAPI document: Django names several of them "Kind" or "Status",
# which would otherwise share one (wrong) component.
CustomerKind = Annotated[Customer.Kind, WithJsonSchema({"type": "string", "enum": Customer.Kind.values})]
CustomerStage = Annotated[Customer.Stage, WithJsonSchema({"type": "string", "enum": Customer.Stage.values})]


class CustomerOut(OutputSchema):
    id: int
    external_id: str | None
    kind: str
    name: str
    email: str
    phone: str
    city: str
    address: str
    owner: str | None = Field(description="Username of the owner.")
    branch: str | None = Field(description="Branch code.")
    region: str | None = Field(description="Region code.")
    stage: str
    acquired_on: date | None
    acquisition_channel: str
    acquisition_cost: Decimal
    currency: str
    is_key_account: bool
    consent_email: bool
    consent_survey: bool
    tags: list[str]
    revenue_total: Decimal
    cogs_total: Decimal
    cost_to_serve_total: Decimal
    profit_total: Decimal
    order_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    created_at: datetime
    updated_at: datetime
    possible_duplicates: list[int] = Field(
        description="Ids of the customers (that you may see) flagged as possible duplicates of this one, not yet "
        "merged or dismissed: they share its email, phone number or name. Review them on the Possible duplicates page."
    )


class CustomerIn(InputSchema):
    name: Name200
    external_id: ExternalId | None = None
    kind: CustomerKind = Customer.Kind.PERSON
    email: Str254 = ""
    phone: Str40 = ""
    city: Str100 = ""
    address: Str300 = ""
    owner: Str150 | None = Field(
        None, description="Username of the owner; defaults to the user making the request."
    )
    branch: Str20 | None = Field(None, description="Branch code.")
    region: Str20 | None = Field(None, description="Region code; defaults to the branch's region.")
    stage: CustomerStage = Customer.Stage.ACTIVE
    acquired_on: Day | None = None
    acquisition_channel: SalesChannel | None = None
    acquisition_cost: Money = Decimal(0)
    currency: Currency | None = Field(
        None, description="The customer's billing currency, the default of their orders; default: the base currency."
    )
    is_key_account: bool = False
    consent_email: bool = False
    consent_survey: bool = False
    tags: Tags = Field(default_factory=list, max_length=50)


class CustomerPatch(InputSchema):
    name: Name200 | None = None
    external_id: ExternalId | None = None
    kind: CustomerKind | None = None
    email: Str254 | None = None
    phone: Str40 | None = None
    city: Str100 | None = None
    address: Str300 | None = None
    owner: Str150 | None = None
    branch: Str20 | None = None
    region: Str20 | None = None
    stage: CustomerStage | None = None
    acquired_on: Day | None = None
    acquisition_channel: SalesChannel | None = None
    acquisition_cost: Money | None = None
    currency: Currency | None = None
    is_key_account: bool | None = None
    consent_email: bool | None = None
    consent_survey: bool | None = None
    tags: Tags | None = Field(None, max_length=50)


class ContactOut(OutputSchema):
    id: int
    external_id: str | None
    customer_id: int
    name: str
    title: str
    email: str
    phone: str
    is_primary: bool
    consent_email: bool
    consent_survey: bool
    created_at: datetime
    updated_at: datetime


class ContactIn(InputSchema):
    customer_id: Id | None = None
    customer_external_id: ExternalId | None = None
    name: Name200
    external_id: ExternalId | None = None
    title: Str100 = ""
    email: Str254 = ""
    phone: Str40 = ""
    is_primary: bool = False
    consent_email: bool = False
    consent_survey: bool = False


class ContactPatch(InputSchema):
    name: Name200 | None = None
    external_id: ExternalId | None = None
    title: Str100 | None = None
    email: Str254 | None = None
    phone: Str40 | None = None
    is_primary: bool | None = None
    consent_email: bool | None = None
    consent_survey: bool | None = None


def customer_data(customer: Customer, tags: list[str], possible_duplicates: list[int] | None = None) -> dict[str, Any]:
    """A customer as the API returns it (``owner``/``branch``/``region`` loaded with select_related)."""
    return {
        "id": customer.pk,
        "external_id": customer.external_id,
        "kind": customer.kind,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "city": customer.city,
        "address": customer.address,
        "owner": customer.owner.username if customer.owner else None,
        "branch": customer.branch.code if customer.branch else None,
        "region": customer.region.code if customer.region else None,
        "stage": customer.stage,
        "acquired_on": customer.acquired_on,
        "acquisition_channel": customer.acquisition_channel,
        "acquisition_cost": customer.acquisition_cost,
        "currency": customer.currency,
        "is_key_account": customer.is_key_account,
        "consent_email": customer.consent_email,
        "consent_survey": customer.consent_survey,
        "tags": tags,
        "revenue_total": customer.revenue_total,
        "cogs_total": customer.cogs_total,
        "cost_to_serve_total": customer.cost_to_serve_total,
        "profit_total": customer.profit_total,
        "order_count": customer.order_count,
        "first_order_at": customer.first_order_at,
        "last_order_at": customer.last_order_at,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "possible_duplicates": possible_duplicates or [],
    }


def contact_data(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "external_id": contact.external_id,
        "customer_id": contact.customer_id,
        "name": contact.name,
        "title": contact.title,
        "email": contact.email,
        "phone": contact.phone,
        "is_primary": contact.is_primary,
        "consent_email": contact.consent_email,
        "consent_survey": contact.consent_survey,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }
