"""Writes of interactions and tasks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core.audit import audit_record, diff, snapshot
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
    audit_record("interaction.create", obj=interaction, customer_id=interaction.customer_id,
                 changes={"channel": [None, interaction.channel]})
    return interaction


@transaction.atomic
def task_create(
    *,
    customer: Customer,
    title: str,
    assignee: User | None = None,
    due_at: datetime | None = None,
    notes: str = "",
    priority: str = Task.Priority.NORMAL,
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
        priority=priority or Task.Priority.NORMAL,
        external_id=external_id or None,
    )
    task.full_clean(exclude=["customer", "assignee"])
    task.save()
    audit_record("task.create", obj=task, customer_id=task.customer_id, changes={"due_at": [None, task.due_at]})
    return task


def task_complete(*, task: Task) -> Task:
    task.status = Task.Status.DONE
    task.completed_at = timezone.now()
    task.save(update_fields=["status", "completed_at", "updated_at"])
    audit_record("task.complete", obj=task, customer_id=task.customer_id, changes={"status": [None, task.status]})
    return task


def _only(changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, code="read_only"
        )


def _check_new_external_id(instance: Interaction | Task, changes: dict[str, Any]) -> None:
    if changes.get("external_id") == "":
        changes["external_id"] = None
    new = changes.get("external_id")
    model = type(instance)
    if new and new != instance.external_id and model._default_manager.filter(external_id=new).exists():
        raise DuplicateExternalIdError(str(model._meta.verbose_name), new)


INTERACTION_UPDATABLE = frozenset(
    {"external_id", "channel", "direction", "subject", "body", "occurred_at", "handled_by", "contact"}
)


@transaction.atomic
def interaction_update(*, interaction: Interaction, changes: Mapping[str, Any]) -> Interaction:
    changes = dict(changes)
    _only(changes, INTERACTION_UPDATABLE)
    _check_new_external_id(interaction, changes)
    before = snapshot(interaction, list(changes))
    contact = changes.get("contact")
    if contact is not None and contact.customer_id != interaction.customer_id:
        raise ValidationError(_("That contact belongs to another customer."), code="contact_customer")
    if changes.get("occurred_at") is not None and changes["occurred_at"].tzinfo is None:
        raise ValidationError(_("Times must carry a time zone."), code="naive_datetime")
    for name, value in changes.items():
        setattr(interaction, name, value)
    interaction.full_clean(exclude=["customer", "contact", "handled_by"])
    if changes:
        interaction.save(update_fields=[*changes, "updated_at"])
    if changed := diff(before, interaction):
        audit_record("interaction.update", obj=interaction, customer_id=interaction.customer_id, changes=changed)
    return interaction


TASK_UPDATABLE = frozenset({"external_id", "title", "notes", "assignee", "due_at", "status", "priority"})


@transaction.atomic
def task_update(*, task: Task, changes: Mapping[str, Any]) -> Task:
    """Change a task; moving it to done records when, reopening it clears that."""
    changes = dict(changes)
    _only(changes, TASK_UPDATABLE)
    _check_new_external_id(task, changes)
    before = snapshot(task, list(changes))
    if changes.get("due_at") is not None and changes["due_at"].tzinfo is None:
        raise ValidationError(_("Times must carry a time zone."), code="naive_datetime")
    status = changes.get("status")
    if status is not None and status != task.status:
        changes["completed_at"] = timezone.now() if status == Task.Status.DONE else None
    for name, value in changes.items():
        setattr(task, name, value)
    task.full_clean(exclude=["customer", "assignee"])
    if changes:
        task.save(update_fields=[*changes, "updated_at"])
    if changed := diff(before, task):
        audit_record("task.update", obj=task, customer_id=task.customer_id, changes=changed)
    return task
