"""The timeline sources of the engagement records: interactions and tasks."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from patron.customers.timeline import TimelineEntry, TimelineSource, register
from patron.engagement.models import Interaction, Task


def _interactions(qs: QuerySet[Interaction]) -> Iterable[TimelineEntry]:
    for item in qs:
        yield TimelineEntry(
            kind="interaction",
            pk=item.pk,
            at=item.occurred_at,
            channel=item.channel,
            title=item.subject,
            detail=item.body,
            extra={
                "channel_label": item.get_channel_display(),
                "handled_by": str(item.handled_by) if item.handled_by else "",
                "direction": item.get_direction_display(),
            },
        )


def _tasks(qs: QuerySet[Task]) -> Iterable[TimelineEntry]:
    for task in qs:
        yield TimelineEntry(
            kind="task",
            pk=task.pk,
            at=task.created_at,
            channel="",
            title=task.title,
            detail=task.notes,
            extra={
                "status": task.status,
                "status_label": task.get_status_display(),
                "due_at": task.due_at,
                "assignee": str(task.assignee) if task.assignee else "",
            },
        )


def register_engagement_sources() -> None:
    register(TimelineSource("interaction", Interaction, "occurred_at", "channel", _interactions, ("handled_by",)))
    register(TimelineSource("task", Task, "created_at", None, _tasks, ("assignee",)))
