"""Reads of tasks. Visibility comes from ``customers.selectors``: a user sees the tasks of the
customers they see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Case, F, QuerySet, Value, When

from patron.core.dates import day_after, day_start
from patron.core.models import User
from patron.core.ordering import both_ways, ordered
from patron.customers.selectors import of_visible_customers
from patron.engagement.models import Interaction, Task


def visible_tasks(user: User) -> QuerySet[Task]:
    return of_visible_customers(Task.objects.all(), user)


PRIORITY_RANK = Case(
    When(priority=Task.Priority.HIGH, then=Value(0)), When(priority=Task.Priority.NORMAL, then=Value(1)), default=Value(2)
)
# Sort keys of the task and interaction lists, their pages' and the API's (``core.ordering``).
TASK_SORTS = {
    **both_ways("due_at", nulls_last=True),
    **both_ways("created_at"),
    **both_ways("updated_at"),
    **both_ways("title"),
    **both_ways("customer", "customer__name"),
    **both_ways("status", "status", F("due_at").asc(nulls_last=True)),
    **both_ways("priority", PRIORITY_RANK, F("due_at").asc(nulls_last=True)),  # "priority": high first
    **both_ways("id"),
}
INTERACTION_SORTS = {**both_ways("occurred_at"), **both_ways("created_at"), **both_ways("id")}


@dataclass(frozen=True)
class TaskFilter:
    status: str = ""
    assignee_id: int | None = None
    due_from: date | None = None
    due_to: date | None = None
    overdue_at: datetime | None = None  # only open tasks due before this instant
    # Filters the API offers (GET /tasks): None is no filter.
    customer_id: int | None = None
    assignee_username: str | None = None
    external_id: str | None = None
    due_before: datetime | None = None  # due before this instant, whatever the status
    sort: str = "due_at"


def filter_tasks(tasks: QuerySet[Task], f: TaskFilter) -> QuerySet[Task]:
    """Apply a list filter and sort to tasks that already went through ``visible_tasks``.

    The one set of filter rules of the task list page and of ``GET /tasks``.
    """
    if f.status:
        tasks = tasks.filter(status=f.status)
    if f.assignee_id:
        tasks = tasks.filter(assignee_id=f.assignee_id)
    if f.due_from:
        tasks = tasks.filter(due_at__gte=day_start(f.due_from))
    if f.due_to:
        tasks = tasks.filter(due_at__lt=day_after(f.due_to))
    if f.overdue_at is not None:
        tasks = tasks.filter(status=Task.Status.OPEN, due_at__lt=f.overdue_at)
    if f.customer_id is not None:
        tasks = tasks.filter(customer_id=f.customer_id)
    if f.assignee_username:
        tasks = tasks.filter(assignee__username=f.assignee_username)
    if f.external_id:
        tasks = tasks.filter(external_id=f.external_id)
    if f.due_before:
        tasks = tasks.filter(due_at__lt=f.due_before)
    return ordered(tasks, TASK_SORTS, f.sort, "due_at")


def visible_interactions(user: User) -> QuerySet[Interaction]:
    return of_visible_customers(Interaction.objects.all(), user)


@dataclass(frozen=True)
class InteractionFilter:
    """The interactions' filter (``GET /interactions``; no page lists them): None is no filter."""

    customer_id: int | None = None
    channel: str | None = None
    direction: str | None = None
    handled_by_username: str | None = None
    external_id: str | None = None
    occurred_after: datetime | None = None  # at or after this instant
    occurred_before: datetime | None = None  # before this instant


def filter_interactions(items: QuerySet[Interaction], f: InteractionFilter) -> QuerySet[Interaction]:
    """Apply the filter to interactions that already went through ``visible_interactions``."""
    if f.customer_id is not None:
        items = items.filter(customer_id=f.customer_id)
    if f.channel:
        items = items.filter(channel=f.channel)
    if f.direction:
        items = items.filter(direction=f.direction)
    if f.handled_by_username:
        items = items.filter(handled_by__username=f.handled_by_username)
    if f.external_id:
        items = items.filter(external_id=f.external_id)
    if f.occurred_after:
        items = items.filter(occurred_at__gte=f.occurred_after)
    if f.occurred_before:
        items = items.filter(occurred_at__lt=f.occurred_before)
    return items
