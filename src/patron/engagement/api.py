"""REST endpoints for interactions and tasks, scoped to the customers the user may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from patron.core.apikit import (
    ApiError,
    Changes,
    ErrorOut,
    ExternalId,
    Id,
    ListParams,
    Moment,
    Page,
    csv_list,
    forbidden,
    not_found,
    paginate,
    sorted_by,
)
from patron.core.choices import ContactChannel
from patron.core.models import User
from patron.core.roles import user_of
from patron.customers.apikit import editable_customer
from patron.customers.models import Contact, Customer
from patron.customers.selectors import (
    can_edit_customer,
    of_visible_customers,
)
from patron.engagement.models import Interaction, Task
from patron.engagement.schemas import (
    Direction,
    InteractionIn,
    InteractionOut,
    InteractionPatch,
    TaskIn,
    TaskOut,
    TaskPatch,
    TaskStatus,
    interaction_data,
    task_data,
)
from patron.engagement.selectors import (
    INTERACTION_SORTS,
    TASK_SORTS,
    InteractionFilter,
    TaskFilter,
    filter_interactions,
    filter_tasks,
    visible_interactions,
    visible_tasks,
)
from patron.engagement.services import (
    interaction_create,
    interaction_update,
    task_create,
    task_update,
)

router = Router()

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _user_named(username: str | None) -> User | None:
    if username is None:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ApiError(422, "unknown_user", _("There is no active user named %(name)s.") % {"name": username})
    return user



# ---------------------------------------------------------------- interactions



class InteractionFilters(Schema):
    customer_id: Id | None = None
    channel: ContactChannel | None = None
    direction: Direction | None = None
    handled_by: str | None = Field(None, max_length=150, description="Username.")
    external_id: ExternalId | None = None
    occurred_after: Moment | None = None
    occurred_before: Moment | None = None


@router.get(
    "/interactions", response={200: Page[InteractionOut], **ERRORS}, summary="List interactions", tags=["interactions"]
)
def list_interactions(request: HttpRequest, filters: Query[InteractionFilters], params: Query[ListParams]):
    # The filter rules are engagement.selectors.filter_interactions.
    f = InteractionFilter(
        customer_id=filters.customer_id,
        channel=filters.channel,
        direction=filters.direction,
        handled_by_username=filters.handled_by,
        external_id=filters.external_id,
        occurred_after=filters.occurred_after,
        occurred_before=filters.occurred_before,
    )
    qs = filter_interactions(visible_interactions(user_of(request)).select_related("handled_by"), f)
    qs = sorted_by(qs, params.sort, INTERACTION_SORTS, "-occurred_at")
    if params.format == "csv":
        return csv_list("interactions", qs)
    return paginate(request, qs, params, lambda rows: [interaction_data(i) for i in rows])


def _interaction(user: User, interaction_id: int) -> Interaction:
    qs = of_visible_customers(Interaction.objects.select_related("handled_by", "customer"), user)
    item = qs.filter(pk=interaction_id).first()
    if item is None:
        raise not_found(_("There is no interaction %(id)s.") % {"id": interaction_id})
    return item


@router.get(
    "/interactions/{interaction_id}",
    response={200: InteractionOut, **ERRORS},
    summary="Get an interaction",
    tags=["interactions"],
)
def get_interaction(request: HttpRequest, interaction_id: Id):
    return interaction_data(_interaction(user_of(request), interaction_id))


def _contact(customer: Customer, contact_id: int | None, contact_external_id: str | None) -> Contact | None:
    if contact_id is None and not contact_external_id:
        return None
    qs = Contact.objects.filter(customer=customer)
    contact = qs.filter(pk=contact_id).first() if contact_id is not None else qs.filter(external_id=contact_external_id).first()
    if contact is None:
        raise ApiError(422, "unknown_contact", _("That contact does not belong to this customer."))
    return contact


@router.post(
    "/interactions", response={201: InteractionOut, **ERRORS}, summary="Log an interaction", tags=["interactions"]
)
def create_interaction(request: HttpRequest, body: InteractionIn):
    """Log an interaction; `handled_by` defaults to you."""
    user = user_of(request)
    customer = editable_customer(user, customer_id=body.customer_id, customer_external_id=body.customer_external_id)
    item = interaction_create(
        customer=customer,
        channel=body.channel,
        subject=body.subject,
        occurred_at=body.occurred_at,
        body=body.body,
        direction=body.direction,
        handled_by=_user_named(body.handled_by) if body.handled_by else user,
        contact=_contact(customer, body.contact_id, body.contact_external_id),
        external_id=body.external_id,
    )
    return Status(201, interaction_data(_interaction(user, item.pk)))


@router.patch(
    "/interactions/{interaction_id}",
    response={200: InteractionOut, **ERRORS},
    summary="Change an interaction",
    tags=["interactions"],
)
def update_interaction(request: HttpRequest, interaction_id: Id, body: InteractionPatch):
    user = user_of(request)
    item = _interaction(user, interaction_id)
    if not can_edit_customer(user, item.customer):
        raise forbidden(_("You can read this customer but not change it."))
    changes = Changes.of(body).values
    for name in ("channel", "direction", "subject", "occurred_at"):
        if name in changes and changes[name] is None:
            raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": name})
    if "body" in changes and changes["body"] is None:
        changes["body"] = ""
    if "handled_by" in changes:
        changes["handled_by"] = _user_named(changes["handled_by"])
    interaction_update(interaction=item, changes=changes)
    return interaction_data(_interaction(user, item.pk))


# ---------------------------------------------------------------- tasks



class TaskFilters(Schema):
    customer_id: Id | None = None
    status: TaskStatus | None = None
    assignee: str | None = Field(None, max_length=150, description="Username.")
    external_id: ExternalId | None = None
    due_before: Moment | None = None


@router.get("/tasks", response={200: Page[TaskOut], **ERRORS}, summary="List tasks", tags=["tasks"])
def list_tasks(request: HttpRequest, filters: Query[TaskFilters], params: Query[ListParams]):
    # The filter rules are the task list page's (engagement.selectors.filter_tasks).
    f = TaskFilter(
        customer_id=filters.customer_id,
        status=filters.status or "",
        assignee_username=filters.assignee,
        external_id=filters.external_id,
        due_before=filters.due_before,
    )
    qs = filter_tasks(visible_tasks(user_of(request)).select_related("assignee"), f)
    qs = sorted_by(qs, params.sort, TASK_SORTS, "due_at")
    if params.format == "csv":
        return csv_list("tasks", qs)
    return paginate(request, qs, params, lambda rows: [task_data(t) for t in rows])


def _task(user: User, task_id: int) -> Task:
    task = of_visible_customers(Task.objects.select_related("assignee", "customer"), user).filter(pk=task_id).first()
    if task is None:
        raise not_found(_("There is no task %(id)s.") % {"id": task_id})
    return task


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="Get a task", tags=["tasks"])
def get_task(request: HttpRequest, task_id: Id):
    return task_data(_task(user_of(request), task_id))


@router.post("/tasks", response={201: TaskOut, **ERRORS}, summary="Create a task", tags=["tasks"])
def create_task(request: HttpRequest, body: TaskIn):
    user = user_of(request)
    customer = editable_customer(user, customer_id=body.customer_id, customer_external_id=body.customer_external_id)
    task = task_create(
        customer=customer,
        title=body.title,
        assignee=_user_named(body.assignee),
        due_at=body.due_at,
        notes=body.notes,
        priority=body.priority,
        external_id=body.external_id,
    )
    return Status(201, task_data(_task(user, task.pk)))


@router.patch("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="Change a task", tags=["tasks"])
def update_task(request: HttpRequest, task_id: Id, body: TaskPatch):
    """Change a task; `"status": "done"` completes it (and records when)."""
    user = user_of(request)
    task = _task(user, task_id)
    if not can_edit_customer(user, task.customer):
        raise forbidden(_("You can read this customer but not change it."))
    changes = Changes.of(body).values
    for name in ("title", "status", "priority"):
        if name in changes and changes[name] is None:
            raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": name})
    if "notes" in changes and changes["notes"] is None:
        changes["notes"] = ""
    if "assignee" in changes:
        changes["assignee"] = _user_named(changes["assignee"])
    task_update(task=task, changes=changes)
    return task_data(_task(user, task.pk))
