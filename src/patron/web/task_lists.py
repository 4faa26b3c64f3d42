"""The task list (page, filters, CSV), on the list machinery of web.lists.

The filter rules are ``engagement.selectors.filter_tasks``, shared with ``GET /tasks``.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from patron.core.models import User
from patron.core.roles import user_of
from patron.customers.selectors import changes_customers
from patron.engagement.models import Task
from patron.engagement.selectors import TASK_SORTS, TaskFilter, filter_tasks, visible_tasks
from patron.ingest.export import csv_response
from patron.web.lists import (
    Column,
    ListSpec,
    UserChoiceField,
    any_choice,
    date_field,
    people,
    register,
    render_list,
)

TASKS = register(
    ListSpec(
        name="tasks",
        url_name="task-list",
        title=gettext_lazy("Tasks"),
        template="web/lists/tasks.html",
        columns=(
            Column(gettext_lazy("Task"), "title"),
            Column(gettext_lazy("Customer"), "customer"),
            Column(gettext_lazy("Assignee")),
            Column(gettext_lazy("Due"), "due_at"),
            Column(gettext_lazy("Status"), "status"),
            Column(gettext_lazy("Created"), "created_at"),
        ),
        sorts=TASK_SORTS,
        default_sort="due_at",
    )
)


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False, choices=any_choice(Task.Status.choices)
    )
    assignee = UserChoiceField(
        label=gettext_lazy("Assignee"), required=False, queryset=User.objects.none()
    )
    due_from = date_field(gettext_lazy("Due from"))
    due_to = date_field(gettext_lazy("Due to"))
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = people()


@login_required
def task_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = user_of(request)
    now = timezone.now()

    def build(cleaned: dict[str, Any], sort: str) -> QuerySet[Task]:
        f = TaskFilter(
            status=cleaned.get("status") or "",
            assignee_id=cleaned["assignee"].pk if cleaned.get("assignee") else None,
            due_from=cleaned.get("due_from"),
            due_to=cleaned.get("due_to"),
            overdue_at=now if cleaned.get("overdue") else None,
            sort=sort,
        )
        return filter_tasks(visible_tasks(user).select_related("customer", "assignee"), f)

    return render_list(
        request,
        TASKS,
        TaskFilterForm(request.GET),
        build,
        lambda records: csv_response("tasks", records, "tasks.csv"),
        extra=lambda: {"now": now, "can_change": changes_customers(user)},
    )
