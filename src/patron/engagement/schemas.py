"""API shapes of interactions and tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field
from pydantic import WithJsonSchema, model_validator

from patron.core.apikit import (
    ExternalId,
    Id,
    InputSchema,
    LongText,
    Moment,
    Name200,
    OutputSchema,
    Str150,
)
from patron.core.choices import ContactChannel
from patron.engagement.models import Interaction, Task

# Inline in the OpenAPI document (Django names several enums "Status").
TaskStatus = Annotated[Task.Status, WithJsonSchema({"type": "string", "enum": Task.Status.values})]
TaskPriority = Annotated[Task.Priority, WithJsonSchema({"type": "string", "enum": Task.Priority.values})]
Direction = Annotated[
    Interaction.Direction, WithJsonSchema({"type": "string", "enum": Interaction.Direction.values})
]


class InteractionOut(OutputSchema):
    id: int
    external_id: str | None
    customer_id: int
    contact_id: int | None
    channel: str
    direction: str
    subject: str
    body: str
    occurred_at: datetime
    handled_by: str | None = Field(description="Username of the user who handled it.")
    created_at: datetime


class InteractionIn(InputSchema):
    """An interaction; name the customer by customer_id or customer_external_id."""

    customer_id: Id | None = None
    customer_external_id: ExternalId | None = None
    external_id: ExternalId | None = None
    channel: ContactChannel
    direction: Direction = Interaction.Direction.INBOUND
    subject: Name200
    body: LongText = ""
    occurred_at: Moment | None = Field(None, description="Defaults to now.")
    handled_by: Str150 | None = Field(None, description="Username.")
    contact_id: Id | None = None
    contact_external_id: ExternalId | None = None

    @model_validator(mode="after")
    def _references(self) -> InteractionIn:
        if (self.customer_id is None) == (self.customer_external_id is None):
            raise ValueError(_("name the customer by exactly one of customer_id, customer_external_id"))
        if self.contact_id is not None and self.contact_external_id is not None:
            raise ValueError(_("name the contact by contact_id or contact_external_id, not both"))
        return self


class InteractionPatch(InputSchema):
    external_id: ExternalId | None = None
    channel: ContactChannel | None = None
    direction: Direction | None = None
    subject: Name200 | None = None
    body: LongText | None = None
    occurred_at: Moment | None = None
    handled_by: Str150 | None = None


class TaskOut(OutputSchema):
    id: int
    external_id: str | None
    customer_id: int
    title: str
    notes: str
    assignee: str | None = Field(description="Username.")
    due_at: datetime | None
    status: str
    priority: str
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TaskIn(InputSchema):
    customer_id: Id | None = None
    customer_external_id: ExternalId | None = None
    external_id: ExternalId | None = None
    title: Name200
    notes: LongText = ""
    assignee: Str150 | None = Field(None, description="Username; defaults to the customer's owner.")
    due_at: Moment | None = None
    priority: TaskPriority = Task.Priority.NORMAL

    @model_validator(mode="after")
    def _one_customer_reference(self) -> TaskIn:
        if (self.customer_id is None) == (self.customer_external_id is None):
            raise ValueError(_("name the customer by exactly one of customer_id, customer_external_id"))
        return self


class TaskPatch(InputSchema):
    external_id: ExternalId | None = None
    title: Name200 | None = None
    notes: LongText | None = None
    assignee: Str150 | None = None
    due_at: Moment | None = None
    status: TaskStatus | None = None
    priority: TaskPriority | None = None


def interaction_data(item: Interaction) -> dict[str, Any]:
    """An interaction as the API returns it (``handled_by`` loaded with select_related)."""
    return {
        "id": item.pk,
        "external_id": item.external_id,
        "customer_id": item.customer_id,
        "contact_id": item.contact_id,
        "channel": item.channel,
        "direction": item.direction,
        "subject": item.subject,
        "body": item.body,
        "occurred_at": item.occurred_at,
        "handled_by": item.handled_by.username if item.handled_by else None,
        "created_at": item.created_at,
    }


def task_data(task: Task) -> dict[str, Any]:
    return {
        "id": task.pk,
        "external_id": task.external_id,
        "customer_id": task.customer_id,
        "title": task.title,
        "notes": task.notes,
        "assignee": task.assignee.username if task.assignee else None,
        "due_at": task.due_at,
        "status": task.status,
        "priority": task.priority,
        "completed_at": task.completed_at,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }
