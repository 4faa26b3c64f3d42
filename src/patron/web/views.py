"""Pages: each parses input, authorizes through the selectors, calls a service, renders."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patron.campaigns.channels import channel_preferences
from patron.campaigns.models import CampaignChannel
from patron.core.choices import ContactChannel, SalesChannel
from patron.core.models import AuditEntry
from patron.core.roles import user_of
from patron.core.selectors import audit_entries, can_read_audit
from patron.customers.models import Customer
from patron.customers.selectors import (
    can_edit_customer,
    visible_customers,
)
from patron.engagement.models import Task
from patron.engagement.selectors import visible_tasks
from patron.engagement.services import interaction_create, task_create, task_update
from patron.feedback.selectors import open_follow_ups
from patron.feedback.services.follow_ups import follow_up_contact_logged
from patron.insights.overview import customer_overview
from patron.web.customer_charts import value_trend
from patron.web.forms import InteractionForm, TaskForm
from patron.web.lists import page_number


def _page_number(request: HttpRequest) -> int:
    return page_number(request.GET.get("page", "1")) or 1


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    channel = request.GET.get("channel") or None
    valid_channels = set(SalesChannel.values) | set(ContactChannel.values)
    if channel not in valid_channels:
        channel = None
    overview = customer_overview(user_of(request), pk, channel=channel, page=_page_number(request))
    context = {
        "o": overview,
        "customer": overview.customer,
        "channels": [*SalesChannel.choices, *ContactChannel.choices],
        "interaction_form": InteractionForm(follow_ups=overview.feedback.open_follow_ups),
        "task_form": TaskForm(),
        "trend_chart": value_trend(overview.insight),
        "now": timezone.now(),
    }
    if request.headers.get("HX-Request") and request.GET.get("fragment") == "timeline":
        return render(request, "web/_timeline.html", context)
    context["history"] = _history(request, overview.customer.pk)
    context["preferred_channel"] = _preferred_channel(overview.customer.pk)
    return render(request, "web/customer_detail.html", context)


def _preferred_channel(customer_id: int) -> dict[str, object] | None:
    """The channel the customer answers best on (``campaigns.channels``), for the profile box."""
    pref = channel_preferences([customer_id]).get(customer_id)
    if pref is None:
        return None
    return {"label": CampaignChannel(pref.channel).label, "rate": pref.rate * 100, "pref": pref}


def _history(request: HttpRequest, customer_id: int) -> list[AuditEntry] | None:
    """The customer's last changes from the audit log, for administrators (None: not shown)."""
    if not can_read_audit(user_of(request)):
        return None
    entries = list(audit_entries(customer_id=customer_id)[:HISTORY_ROWS])
    for e in entries:
        e.changes_text = json.dumps(e.changes, ensure_ascii=False, sort_keys=True)  # type: ignore[attr-defined]
    return entries


HISTORY_ROWS = 10


def _editable_customer(request: HttpRequest, pk: int) -> Customer:
    customer = get_object_or_404(visible_customers(user_of(request)), pk=pk)
    if not can_edit_customer(user_of(request), customer):
        raise PermissionDenied(_("You can read this customer but not change it."))
    return customer


@login_required
@require_POST
def customer_log_interaction(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _editable_customer(request, pk)
    user = user_of(request)
    form = InteractionForm(request.POST, follow_ups=open_follow_ups(customer))
    if form.is_valid():
        values = dict(form.cleaned_data)
        follow_up, close = values.pop("follow_up", None), values.pop("close", False)
        root_cause, outcome = values.pop("root_cause", ""), values.pop("outcome", "")
        try:
            if follow_up is None:
                interaction_create(customer=customer, handled_by=user, direction="out", **values)
            else:
                follow_up_contact_logged(
                    follow_up=follow_up, user=user, channel=values["channel"], subject=values["subject"],
                    note=values["body"], close=(root_cause, outcome) if close else None,
                )
        except ValidationError as exc:
            messages.error(request, _("The interaction was not saved: %(errors)s") % {"errors": " ".join(exc.messages)})
            return redirect(customer)
        if follow_up is None:
            messages.success(request, _("Interaction logged."))
        elif close:
            messages.success(request, _("Interaction logged; the follow-up is contacted and closed."))
        else:
            messages.success(request, _("Interaction logged as the follow-up's first contact."))
    else:
        messages.error(request, _("The interaction was not saved: %(errors)s") % {"errors": _form_errors(form)})
    return redirect(customer)


@login_required
@require_POST
def customer_add_task(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _editable_customer(request, pk)
    user = user_of(request)
    form = TaskForm(request.POST)
    if form.is_valid():
        values = dict(form.cleaned_data)
        task_create(customer=customer, assignee=values.pop("assignee") or user, **values)
        messages.success(request, _("Task added."))
    else:
        messages.error(request, _("The task was not saved: %(errors)s") % {"errors": _form_errors(form)})
    return redirect(customer)


def _form_errors(form) -> str:
    return "; ".join(f"{form.fields[f].label if f in form.fields else f}: {' '.join(e)}" for f, e in form.errors.items())


@login_required
@require_POST
def task_set_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Done or open again, from the 360° page or the task list (``next``: back where it was)."""
    task = get_object_or_404(visible_tasks(user_of(request)), pk=pk)
    _editable_customer(request, task.customer_id)
    status = request.POST.get("status", "")
    if status not in (Task.Status.DONE, Task.Status.OPEN):
        messages.error(request, _("A task is marked done or open."))
    else:
        task_update(task=task, changes={"status": status})
        messages.success(request, _("Task done.") if status == Task.Status.DONE else _("Task reopened."))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect(task.customer)
