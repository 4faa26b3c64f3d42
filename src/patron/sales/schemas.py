"""API shapes of leads and opportunities (names unique across the API's document)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Field
from pydantic import StringConstraints, WithJsonSchema, model_validator

from patron.core.apikit import (
    Currency,
    Day,
    ExternalId,
    Id,
    InputSchema,
    Money,
    Name200,
    OutputSchema,
    Str40,
    Str150,
    Str254,
    Str300,
)
from patron.core.choices import SalesChannel
from patron.sales.models import Lead, Opportunity, StageChange

# Inline in the OpenAPI document (Django names several enums "Status" and "Source").
LeadStatus = Annotated[Lead.Status, WithJsonSchema({"type": "string", "enum": Lead.Status.values})]
LeadSource = Annotated[Lead.Source, WithJsonSchema({"type": "string", "enum": Lead.Source.values})]
LeadChannel = Annotated[SalesChannel, WithJsonSchema({"type": "string", "enum": SalesChannel.values})]
StageKey = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(max_length=300, strip_whitespace=True)]


class LeadOut(OutputSchema):
    id: int
    external_id: str | None
    name: str
    company: str
    email: str
    phone: str
    source: str
    channel: str
    owner: str | None = Field(description="Username.")
    branch: str | None = Field(description="Branch code.")
    region: str | None = Field(description="Region code.")
    status: str
    disqualify_reason: str
    converted_customer_id: int | None
    converted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class LeadIn(InputSchema):
    name: Name200
    company: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] = ""
    email: Str254 = ""
    phone: Str40 = ""
    source: LeadSource = Lead.Source.OTHER
    channel: LeadChannel | None = None
    owner: Str150 | None = Field(None, description="Username; defaults to you.")
    branch: Str40 | None = Field(None, description="Branch code.")
    region: Str40 | None = Field(None, description="Region code; defaults to the branch's.")
    external_id: ExternalId | None = None


class LeadPatch(InputSchema):
    """Change a lead; `"status": "disqualified"` with `disqualify_reason` disqualifies it
    (converting is `POST /leads/{id}/convert`)."""

    name: Name200 | None = None
    company: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] | None = None
    email: Str254 | None = None
    phone: Str40 | None = None
    source: LeadSource | None = None
    channel: LeadChannel | None = None
    owner: Str150 | None = None
    branch: Str40 | None = None
    region: Str40 | None = None
    external_id: ExternalId | None = None
    status: Literal["disqualified"] | None = None
    disqualify_reason: Reason | None = None


class LeadConversionOut(OutputSchema):
    lead_id: int
    customer_id: int
    opportunity_ids: list[int] = Field(description="The lead's open opportunities, moved to the customer.")


class OpportunityOut(OutputSchema):
    id: int
    external_id: str | None
    name: str
    customer_id: int | None
    lead_id: int | None
    amount: Decimal
    currency: str
    expected_close: date | None
    pipeline_id: int
    stage: str = Field(description="The stage's key.")
    stage_name: str
    outcome: str = Field(description="open, won or lost: the outcome of the stage.")
    owner: str | None = Field(description="Username.")
    next_step: str
    won_reason: str
    lost_reason: str
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class OpportunityIn(InputSchema):
    """An opportunity with a customer (`customer_id`) or a lead (`lead_id`): exactly one."""

    name: Name200
    customer_id: Id | None = None
    lead_id: Id | None = None
    amount: Money = Decimal(0)
    currency: Currency | None = Field(None, description="Default: the base currency.")
    expected_close: Day | None = None
    stage: StageKey | None = Field(None, description="A stage key of the default pipeline; default: its first stage.")
    owner: Str150 | None = Field(None, description="Username; defaults to the customer's or lead's owner.")
    next_step: Str300 = ""
    won_reason: Reason = ""
    lost_reason: Reason = ""
    external_id: ExternalId | None = None

    @model_validator(mode="after")
    def _one_party(self) -> OpportunityIn:
        if (self.customer_id is None) == (self.lead_id is None):
            raise ValueError(_("name exactly one of customer_id, lead_id"))
        return self


class OpportunityPatch(InputSchema):
    """Change an opportunity; `"stage": "propose"` moves it (recorded with who and when). A won or
    lost stage needs `won_reason` or `lost_reason`."""

    name: Name200 | None = None
    amount: Money | None = None
    currency: Currency | None = None
    expected_close: Day | None = None
    stage: StageKey | None = None
    owner: Str150 | None = None
    next_step: Str300 | None = None
    won_reason: Reason | None = None
    lost_reason: Reason | None = None
    external_id: ExternalId | None = None


class StageChangeOut(OutputSchema):
    from_stage: str | None = Field(description="The stage's key; null for the first.")
    to_stage: str
    changed_by: str | None = Field(description="Username.")
    changed_at: datetime


def lead_data(lead: Lead) -> dict[str, Any]:
    """A lead as the API returns it (owner, branch and region loaded with select_related)."""
    return {
        "id": lead.pk,
        "external_id": lead.external_id,
        "name": lead.name,
        "company": lead.company,
        "email": lead.email,
        "phone": lead.phone,
        "source": lead.source,
        "channel": lead.channel,
        "owner": lead.owner.username if lead.owner else None,
        "branch": lead.branch.code if lead.branch else None,
        "region": lead.region.code if lead.region else None,
        "status": lead.status,
        "disqualify_reason": lead.disqualify_reason,
        "converted_customer_id": lead.converted_customer_id,
        "converted_at": lead.converted_at,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
    }


def opportunity_data(item: Opportunity) -> dict[str, Any]:
    """An opportunity as the API returns it (stage and owner loaded with select_related)."""
    return {
        "id": item.pk,
        "external_id": item.external_id,
        "name": item.name,
        "customer_id": item.customer_id,
        "lead_id": item.lead_id,
        "amount": item.amount,
        "currency": item.currency,
        "expected_close": item.expected_close,
        "pipeline_id": item.pipeline_id,
        "stage": item.stage.key,
        "stage_name": item.stage.label,
        "outcome": item.stage.outcome,
        "owner": item.owner.username if item.owner else None,
        "next_step": item.next_step,
        "won_reason": item.won_reason,
        "lost_reason": item.lost_reason,
        "closed_at": item.closed_at,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def stage_change_data(change: StageChange) -> dict[str, Any]:
    return {
        "from_stage": change.from_stage.key if change.from_stage else None,
        "to_stage": change.to_stage.key,
        "changed_by": change.changed_by.username if change.changed_by else None,
        "changed_at": change.changed_at,
    }
