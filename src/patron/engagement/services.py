"""Writes of interactions and tasks."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core.errors import DuplicateExternalIdError
from patron.core.models import User
from patron.customers.models import Contact, Customer
from patron.engagement.models import Interaction, Task


@transaction.atomic
def interaction_create(
    *,
    customer: Customer,
    channel: str,
    subject: str,
    occurred_at: datetime | None = None,
    body: str = "",
    direction: str = Interaction.Direction.INBOUND,
    handled_by: User | None = None,
    contact: Contact | None = None,
    external_id: str | None = None,
) -> Interaction:
    if external_id and Interaction.objects.filter(external_id=external_id).exists():
        raise DuplicateExternalIdError(str(Interaction._meta.verbose_name), external_id)
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError(_("That contact belongs to another customer."), code="contact_customer")
    interaction = Interaction(
        customer=customer,
        channel=channel,
        subject=subject,
        body=body,
        direction=direction,
        occurred_at=occurred_at or timezone.now(),
        handled_by=handled_by,
        contact=contact,
        external_id=external_id or None,
    )
    interaction.full_clean(exclude=["customer", "contact", "handled_by"])
    interaction.save()
    return interaction


@transaction.atomic
def task_create(
    *,
    customer: Customer,
    title: str,
    assignee: User | None = None,
    due_at: datetime | None = None,
    notes: str = "",
    external_id: str | None = None,
) -> Task:
    if external_id and Task.objects.filter(external_id=external_id).exists():
        raise DuplicateExternalIdError(str(Task._meta.verbose_name), external_id)
    task = Task(
        customer=customer,
        title=title,
        assignee=assignee if assignee is not None else customer.owner,
        due_at=due_at,
        notes=notes,
        external_id=external_id or None,
    )
    task.full_clean(exclude=["customer", "assignee"])
    task.save()
    return task


def task_complete(*, task: Task) -> Task:
    task.status = Task.Status.DONE
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "completed_at", "updated_at"])
    return task
