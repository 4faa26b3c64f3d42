"""The sales pages: the board (drag a card, or move it with its own form), a lead (convert,
disqualify), an opportunity with its stage history, and the forms for new ones. Each view reads
its input, authorizes through ``sales.selectors`` (the customers' rule), calls one service and
renders or redirects. The lists are in ``web.sales_lists`` on the list machinery."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patron.core.models import User, base_currency
from patron.core.roles import user_of
from patron.customers.selectors import changes_customers
from patron.sales.forms import (
    DisqualifyForm,
    LeadForm,
    MoveForm,
    OpportunityEditForm,
    OpportunityForm,
)
from patron.sales.models import Lead, Opportunity, Stage
from patron.sales.selectors import (
    board,
    can_edit_lead,
    can_edit_opportunity,
    pipeline_stages,
    stage_history,
    visible_leads,
    visible_opportunities,
)
from patron.sales.services import (
    lead_convert,
    lead_create,
    lead_disqualify,
    lead_update,
    opportunity_create,
    opportunity_move,
    opportunity_update,
    pipeline_default_ensure,
)

CARDS_PER_STAGE = 50


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _to_form(form: forms.Form, exc: ValidationError) -> None:
    """A service's refusal shown on the form: beside its field where the form has one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, _errors(exc))


def _require_writer(user: User) -> None:
    if not changes_customers(user):
        raise PermissionDenied(_("Your role reads the sales pipeline but does not change it."))


def _lead(user: User, pk: int) -> Lead:
    lead = visible_leads(user).select_related("owner", "branch", "region", "converted_customer").filter(pk=pk).first()
    if lead is None:
        raise Http404(_("There is no such lead."))
    return lead


def _opportunity(user: User, pk: int) -> Opportunity:
    item = (
        visible_opportunities(user)
        .select_related("stage", "pipeline", "owner", "customer", "lead")
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise Http404(_("There is no such opportunity."))
    return item


@login_required
def sales_board(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    pipeline = pipeline_default_ensure()
    mine = request.GET.get("owner") == "me"
    columns = board(user, pipeline, per_stage=CARDS_PER_STAGE, owner_id=user.pk if mine else None)
    return render(request, "sales/board.html", {
        "pipeline": pipeline,
        "columns": columns,
        "stages": [c.stage for c in columns],
        "mine": mine,
        "can_change": changes_customers(user),
        "next": request.get_full_path(),
    })


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return default
    return target


@login_required
def opportunity_move_page(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: move the opportunity to the stage named by its key. A move to a won or lost stage
    without its reason shows the small form asking for it (GET), which posts back here."""
    user = user_of(request)
    item = _opportunity(user, pk)
    if not can_edit_opportunity(user, item):
        raise PermissionDenied(_("Your role reads the sales pipeline but does not change it."))
    back = _next(request, reverse("sales-board"))
    stages = {s.key: s for s in pipeline_stages(item.pipeline)}
    if request.method != "POST":
        target = stages.get(request.GET.get("stage", ""))
        if target is None or not target.is_closed:
            return redirect(back)
        return render(request, "sales/move_reason.html", {"o": item, "target": target, "next": back})
    form = MoveForm(request.POST)
    if not form.is_valid() or form.cleaned_data["stage"] not in stages:
        messages.error(request, _("Choose one of the pipeline's stages."))
        return redirect(back)
    target = stages[form.cleaned_data["stage"]]
    reason = form.cleaned_data.get("reason") or ""
    if target.is_closed and not reason.strip():
        return redirect(reverse("sales-move", args=[item.pk]) + "?" + urlencode({"stage": target.key, "next": back}))
    try:
        opportunity_move(
            opportunity=item, stage=target, by=user,
            won_reason=reason if target.outcome == Stage.Outcome.WON else "",
            lost_reason=reason if target.outcome == Stage.Outcome.LOST else "",
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect(back)
    messages.success(request, _("%(name)s moved to %(stage)s.") % {"name": item.name, "stage": target.label})
    return redirect(f"{back}#card-{item.pk}" if "#" not in back else back)


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    item = _opportunity(user, pk)
    return render(request, "sales/opportunity_detail.html", {
        "o": item,
        "history": stage_history(item),
        "stages": pipeline_stages(item.pipeline),
        "can_change": can_edit_opportunity(user, item),
        "next": request.get_full_path(),
    })


@login_required
def opportunity_new(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    _require_writer(user)
    pipeline = pipeline_default_ensure()
    stages = pipeline_stages(pipeline)
    initial = {"currency": base_currency(), "stage": stages[0].pk if stages else None, "amount": 0}
    if request.GET.get("lead", "").isdigit():
        initial["lead"] = int(request.GET["lead"])
    form = OpportunityForm(request.POST or None, user=user, stages=stages, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = opportunity_create(
                name=data["name"], customer=data["customer"], lead=data["lead"], amount=data["amount"],
                currency=data["currency"], expected_close=data.get("expected_close"), pipeline=pipeline,
                stage=data["stage"], next_step=data.get("next_step") or "", by=user,
            )
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, _("Opportunity created."))
            return redirect("opportunity-detail", pk=item.pk)
    return render(request, "sales/opportunity_form.html", {"form": form})


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    lead = _lead(user, pk)
    opportunities = visible_opportunities(user).filter(lead=lead).select_related("stage", "owner")
    return render(request, "sales/lead_detail.html", {
        "lead": lead,
        "opportunities": opportunities,
        "can_change": can_edit_lead(user, lead),
        "disqualify_form": DisqualifyForm(),
    })


@login_required
def lead_new(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    _require_writer(user)
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lead = lead_create(
                name=data["name"], company=data.get("company") or "", email=data.get("email") or "",
                phone=data.get("phone") or "", source=data["source"], channel=data.get("channel") or "",
                owner=user, branch=data.get("branch"),
            )
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("Lead created."))
            return redirect("lead-detail", pk=lead.pk)
    return render(request, "sales/lead_form.html", {"form": form})


def _editable_lead(request: HttpRequest, pk: int) -> Lead:
    user = user_of(request)
    lead = _lead(user, pk)
    if not can_edit_lead(user, lead):
        raise PermissionDenied(_("Your role reads leads but does not change them."))
    return lead


@login_required
@require_POST
def lead_convert_page(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _editable_lead(request, pk)
    try:
        done = lead_convert(lead=lead)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("lead-detail", pk=lead.pk)
    messages.success(request, _("The lead is now a customer."))
    return redirect("customer-detail", pk=done.customer.pk)


@login_required
@require_POST
def lead_disqualify_page(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _editable_lead(request, pk)
    form = DisqualifyForm(request.POST)
    try:
        lead_disqualify(lead=lead, reason=form.data.get("reason", "")[:300])
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("The lead is disqualified."))
    return redirect("lead-detail", pk=lead.pk)


def _changed(form: forms.Form, current: dict[str, Any]) -> dict[str, Any]:
    """The form's values that differ from the record's: only those go to the service (and the
    audit log)."""
    return {name: value for name, value in form.cleaned_data.items() if value != current.get(name)}


@login_required
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    item = _opportunity(user, pk)
    if not can_edit_opportunity(user, item):
        raise PermissionDenied(_("Your role reads the sales pipeline but does not change it."))
    current = {"name": item.name, "amount": item.amount, "currency": item.currency,
               "expected_close": item.expected_close, "next_step": item.next_step}
    form = OpportunityEditForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            opportunity_update(opportunity=item, changes=_changed(form, current), by=user)
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("Opportunity saved."))
            return redirect("opportunity-detail", pk=item.pk)
    return render(request, "sales/edit_form.html", {
        "form": form, "title": _("Change the opportunity"), "back": reverse("opportunity-detail", args=[item.pk]),
    })


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _editable_lead(request, pk)
    current = {"name": lead.name, "company": lead.company, "email": lead.email, "phone": lead.phone,
               "source": lead.source, "channel": lead.channel, "branch": lead.branch}
    form = LeadForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            lead_update(lead=lead, changes=_changed(form, current))
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("lead-detail", pk=lead.pk)
    return render(request, "sales/edit_form.html", {
        "form": form, "title": _("Change the lead"), "back": reverse("lead-detail", args=[lead.pk]),
    })
