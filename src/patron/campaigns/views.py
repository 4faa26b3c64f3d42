"""Segment pages: the list with each segment's count, the builder (new and edit) with a live
count while editing, and a segment's members. Each view parses input, authorizes, calls one
service and renders."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patron.campaigns.forms import SegmentFilterForm, SegmentForm, initial_from
from patron.campaigns.models import Segment
from patron.campaigns.selectors import (
    SegmentSummary,
    segment_customers,
    segment_summaries,
    segment_summary,
    segments,
)
from patron.campaigns.services import segment_create, segment_delete, segment_update
from patron.core.models import User
from patron.core.roles import can_edit_segments

PAGE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _require_editor(user: User) -> None:
    if not can_edit_segments(user):
        raise PermissionDenied(_("Your role uses segments but does not create or change them."))


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**6 else 1


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(segments(), PAGE).get_page(_page_number(request))
    listed = list(page.object_list)
    rows = list(zip(listed, segment_summaries(user, listed), strict=True))
    return render(
        request, "campaigns/segments.html", {"rows": rows, "page": page, "can_edit": can_edit_segments(user)}
    )


def _builder(request: HttpRequest, form: SegmentForm, segment: Segment | None) -> HttpResponse:
    """The builder page; its count is of the form's filter (none while the form has errors)."""
    user = _user(request)
    summary: SegmentSummary | None
    if form.is_bound:
        summary = segment_summary(user, form.segment_filter) if form.is_valid() else None
    else:
        summary = segment_summary(user, segment.filter if segment is not None else {})
    return render(request, "campaigns/builder.html", {"form": form, "segment": segment, "summary": summary})


@login_required
def segment_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_editor(user)
    form = SegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            segment = segment_create(name=form.cleaned_data["name"], filter=form.segment_filter, created_by=user)
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, _("Segment saved."))
            return redirect("segment-edit", pk=segment.pk)
    return _builder(request, form, None)


@login_required
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(_user(request))
    segment = get_object_or_404(Segment, pk=pk)
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                segment_update(segment=segment, changes={"name": form.cleaned_data["name"], "filter": form.segment_filter})
            except ValidationError as exc:
                form.add_error(None, " ".join(exc.messages))
            else:
                messages.success(request, _("Segment saved."))
                return redirect("segment-edit", pk=segment.pk)
    else:
        form = SegmentForm(initial={"name": segment.name, **initial_from(segment.filter)})
    return _builder(request, form, segment)


@login_required
@require_POST
def segment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(_user(request))
    segment = get_object_or_404(Segment, pk=pk)
    segment_delete(segment=segment)
    messages.success(request, _("Segment deleted."))
    return redirect("segment-list")


@login_required
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The builder's live count: the form's filter evaluated for the user, as a fragment."""
    user = _user(request)
    _require_editor(user)
    form = SegmentFilterForm(request.POST)
    summary = segment_summary(user, form.segment_filter) if form.is_valid() else None
    return render(request, "campaigns/_preview.html", {"summary": summary, "form": form})


@login_required
def segment_members(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    segment = get_object_or_404(Segment, pk=pk)
    members = segment_customers(user, segment.filter).select_related("owner", "score").order_by("name", "pk")
    page = Paginator(members, PAGE).get_page(_page_number(request))
    return render(
        request,
        "campaigns/members.html",
        {
            "segment": segment,
            "summary": segment_summary(user, segment.filter),
            "page": page,
            "can_edit": can_edit_segments(user),
        },
    )
