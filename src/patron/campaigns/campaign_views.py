"""Campaign pages: the list, the form (new and edit), a campaign's page with its launch, group
counts, skips and members, the call list for reps and the mailing file. Each view parses input,
authorizes, calls one service and renders; members are those of the customers the reader sees."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patron.campaigns.campaign_api import mailing_response, streamed_csv
from patron.campaigns.campaign_forms import CampaignForm, initial_of
from patron.campaigns.campaign_selectors import (
    call_list,
    campaign_counts,
    campaign_members,
    campaigns,
    member_counts,
    members_csv,
    reaches_by,
    skip_label,
    skipped_by_reason,
)
from patron.campaigns.campaign_services import (
    campaign_create,
    campaign_delete,
    campaign_launch,
    campaign_member_mark_called,
    campaign_update,
)
from patron.campaigns.models import Campaign, CampaignChannel
from patron.campaigns.selectors import segment_summary
from patron.core.audit import audit_record
from patron.core.models import User
from patron.core.roles import can_manage_campaigns
from patron.customers.selectors import changes_customers
from patron.insights.models import ValueClass

PAGE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _require_manager(user: User) -> None:
    if not can_manage_campaigns(user):
        raise PermissionDenied(_("Your role reads campaigns but does not create, change or launch them."))


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**6 else 1


def _campaign(pk: int) -> Campaign:
    return get_object_or_404(campaigns(), pk=pk)


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(campaigns(), PAGE).get_page(_page_number(request))
    counts = member_counts(list(page.object_list))
    rows = [(c, counts.get(c.pk, 0)) for c in page.object_list]
    return render(
        request, "campaigns/campaigns.html",
        {"rows": rows, "page": page, "can_manage": can_manage_campaigns(_user(request))},
    )


def _form_page(request: HttpRequest, form: CampaignForm, campaign: Campaign | None) -> HttpResponse:
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


def _apply_errors(form: CampaignForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            target = "segment" if key == "segment_id" else key
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, " ".join(exc.messages))


@login_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_manager(user)
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(values=form.values(), created_by=user)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaign-detail", pk=campaign.pk)
    return _form_page(request, form, None)


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(_user(request))
    campaign = _campaign(pk)
    if campaign.status == Campaign.Status.LAUNCHED:
        messages.info(request, _("This campaign has been launched: only its name can change (through the API)."))
        return redirect("campaign-detail", pk=campaign.pk)
    form = CampaignForm(request.POST or None, initial=initial_of(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            campaign_update(campaign=campaign, changes=form.values())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaign-detail", pk=campaign.pk)
    return _form_page(request, form, campaign)


@login_required
@require_POST
def campaign_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(_user(request))
    try:
        campaign_delete(campaign=_campaign(pk))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("campaign-detail", pk=pk)
    messages.success(request, _("Campaign deleted."))
    return redirect("campaign-list")


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = _campaign(pk)
    members = campaign_members(user, campaign).select_related("customer")
    page = Paginator(members, PAGE).get_page(_page_number(request))
    launched = campaign.status == Campaign.Status.LAUNCHED
    labels = dict(ValueClass.choices)
    rows = [(m, labels.get(m.value_class, m.value_class), skip_label(m.skipped_reason)) for m in page.object_list]
    skipped = skipped_by_reason(campaign) if launched else {}
    return render(
        request, "campaigns/campaign.html",
        {
            "campaign": campaign, "counts": campaign_counts(campaign),
            "skipped": [(skip_label(reason), n) for reason, n in skipped.items()],
            "page": page if launched else None, "rows": rows,
            "can_manage": can_manage_campaigns(user),
            # Before the launch: who the launch would reach, as the launching user sees them.
            "summary": segment_summary(user, campaign.segment.filter) if campaign.segment and not launched else None,
        },
    )


@login_required
def campaign_launch_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what the launch will do, with the button; POST: the launch."""
    user = _user(request)
    _require_manager(user)
    campaign = _campaign(pk)
    if request.method == "POST":
        try:
            result = campaign_launch(campaign=campaign, user=user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Launched: %(t)d in treatment, %(c)d in control, %(n)d contacted.")
                % {"t": result.treatment, "c": result.control, "n": result.contacted},
            )
        return redirect("campaign-detail", pk=campaign.pk)
    summary = segment_summary(user, campaign.segment.filter) if campaign.segment else None
    return render(request, "campaigns/campaign_launch.html", {"campaign": campaign, "summary": summary})


@login_required
def campaign_calls(request: HttpRequest, pk: int) -> HttpResponse:
    """A phone campaign's call list: the treatment members to call among the customers the
    reader sees (a rep: the ones they own)."""
    user = _user(request)
    campaign = _campaign(pk)
    if not reaches_by(campaign, CampaignChannel.PHONE):
        raise Http404(_("Only a phone campaign has a call list."))
    page = Paginator(call_list(user, campaign), PAGE).get_page(_page_number(request))
    labels = dict(ValueClass.choices)
    rows = [(m, labels.get(m.value_class, m.value_class)) for m in page.object_list]
    return render(
        request, "campaigns/call_list.html",
        {"campaign": campaign, "page": page, "rows": rows, "can_call": changes_customers(user)},
    )


@login_required
@require_POST
def campaign_called(request: HttpRequest, pk: int, member: int) -> HttpResponse:
    """A rep records that she called the member (roles that only read customers do not)."""
    user = _user(request)
    campaign = _campaign(pk)
    if not changes_customers(user):
        raise PermissionDenied(_("Your role reads customers but records no calls."))
    found = call_list(user, campaign).filter(pk=member).first()
    if found is None:
        raise Http404(_("Not found."))
    campaign_member_mark_called(member=found, user=user)
    messages.success(request, _("Call recorded."))
    return redirect("campaign-calls", pk=campaign.pk)


@login_required
def campaign_mailing(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    user = _user(request)
    _require_manager(user)
    campaign = _campaign(pk)
    if not reaches_by(campaign, CampaignChannel.MAIL):
        raise Http404(_("Only a mail campaign has a mailing file."))
    return mailing_response(user, campaign)


@login_required
def campaign_members_download(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every member the reader sees, with the scores frozen at the launch, as CSV."""
    user = _user(request)
    campaign = _campaign(pk)
    audit_record("export.list", object_type="campaignmember", changes={"format": "csv", "campaign_id": campaign.pk})
    return streamed_csv(members_csv(user, campaign), f"campaign-{campaign.pk}-members.csv")
