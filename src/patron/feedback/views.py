"""Feedback's staff pages (feed, surveys, follow-ups, reviews): each starts from the visibility
selectors. The public pages are in ``feedback.public``."""

from __future__ import annotations

import io
from typing import cast
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.core import base_url
from patron.core.models import Branch, User
from patron.core.workers import worker_missing
from patron.customers.selectors import can_edit_customer, visible_customers
from patron.feedback import links, selectors
from patron.feedback.forms import CloseForm, ContactForm, ReviewForm, SurveyForm
from patron.feedback.models import (
    Channel,
    FollowUp,
    Response,
    ScoreClass,
    Survey,
    SurveyKind,
    Touchpoint,
)
from patron.feedback.services import follow_ups, invitations, reviews, surveys


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# ---------------------------------------------------------------- the live feed


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def _feed_filters(request: HttpRequest) -> selectors.FeedFilters:
    touchpoint = request.GET.get("touchpoint") or None
    score = request.GET.get("class") or None
    return selectors.FeedFilters(
        survey=_int(request.GET.get("survey")),
        touchpoint=touchpoint if touchpoint in Touchpoint.values else None,
        branch=_int(request.GET.get("branch")),
        score_class=score if score in ScoreClass.values else None,
    )


def _filter_query(filters: selectors.FeedFilters) -> str:
    params = {
        "survey": filters.survey,
        "touchpoint": filters.touchpoint,
        "branch": filters.branch,
        "class": filters.score_class,
    }
    return urlencode({k: v for k, v in params.items() if v})


@login_required
def feed(request: HttpRequest) -> HttpResponse:
    """Responses as they arrive: htmx asks for newer rows every few seconds (see docs/feedback.md)."""
    user = _user(request)
    filters = _feed_filters(request)
    rows = selectors.feed(user, filters)
    # Polling asks for answers stored after the newest one stored now, whatever their dates.
    last_id = selectors.visible_responses(user).order_by("-pk").values_list("pk", flat=True).first() or 0
    return render(
        request,
        "feedback/feed.html",
        {
            "rows": rows,
            "filters": filters,
            "filter_query": _filter_query(filters),
            "last_id": last_id,
            "surveys": Survey.objects.order_by("name"),
            "touchpoints": Touchpoint.choices,
            "branches": Branch.objects.order_by("name"),
            "classes": ScoreClass.choices,
            "nps": selectors.nps_of(filters.apply(selectors.visible_responses(user))),
        },
    )


@login_required
def feed_rows(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    filters = _feed_filters(request)
    after = _int(request.GET.get("after")) or 0
    rows = selectors.feed(user, filters, after_id=after)
    return render(
        request,
        "feedback/_feed_poll.html",
        {"rows": rows, "last_id": max([after or 0, *(r.pk for r in rows)]), "filter_query": _filter_query(filters)},
    )


# ---------------------------------------------------------------- surveys


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = SurveyForm(request.POST or None)
    if request.method == "POST":
        if not selectors.can_manage_surveys(user):
            raise PermissionDenied(_("Your role does not manage surveys."))
        if form.is_valid():
            try:
                survey = surveys.survey_create(created_by=user, **form.cleaned_data)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("Survey created."))
                return redirect("feedback:survey", pk=survey.pk)
    return render(
        request,
        "feedback/surveys.html",
        {"rows": selectors.survey_rows(user), "form": form, "can_manage": selectors.can_manage_surveys(user)},
    )


@login_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    survey = get_object_or_404(Survey, pk=pk)
    branches = list(Branch.objects.order_by("name"))
    responses = selectors.visible_responses(user).filter(survey=survey)
    public_url = links.public_url(survey.public_key, request=request)
    return render(
        request,
        "feedback/survey.html",
        {
            "survey": survey,
            "questions": survey.questions.all(),
            "triggers": survey.triggers.all(),
            "public_url": public_url,
            "public_url_unreachable": base_url.unreachable(public_url),
            "kiosk_url": links.public_url(survey.public_key, kiosk=True, request=request),
            "branch_links": [
                (
                    b,
                    links.public_url(survey.public_key, b.code, request=request),
                    links.public_url(survey.public_key, b.code, kiosk=True, request=request),
                )
                for b in branches
            ],
            "nps": selectors.nps_of(responses) if survey.kind == SurveyKind.NPS else None,
            "count": responses.count(),
        },
    )


@login_required
@require_GET
def survey_qr(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """A QR code of the public link (for one branch with ``?branch=CODE``), PNG or SVG."""
    survey = get_object_or_404(Survey, pk=pk)
    code = request.GET.get("branch") or None
    if code and not Branch.objects.filter(code=code[:20]).exists():
        raise Http404
    kiosk_link = request.GET.get("kiosk") == "1"
    url = links.public_url(survey.public_key, code, kiosk=kiosk_link, request=request)
    qr = segno.make(url, error="m")
    buffer = io.BytesIO()
    if fmt == "svg":
        qr.save(buffer, kind="svg", scale=8, border=2)
        content_type = "image/svg+xml"
    else:
        qr.save(buffer, kind="png", scale=8, border=2)
        content_type = "image/png"
    response = HttpResponse(buffer.getvalue(), content_type=content_type)
    filename = f"survey-{survey.pk}{'-' + code if code else ''}.{fmt}"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
@require_POST
def customer_send_survey(request: HttpRequest, pk: int) -> HttpResponse:
    """The 360° page's quick action: email a survey invitation to this customer."""
    user = _user(request)
    customer = get_object_or_404(visible_customers(user), pk=pk)
    if not can_edit_customer(user, customer):
        raise PermissionDenied(_("You can read this customer but not change it."))
    survey_id = _int(request.POST.get("survey"))
    survey = Survey.objects.filter(pk=survey_id, is_active=True).first() if survey_id else None
    if survey is None:
        messages.error(request, _("Choose an active survey."))
        return redirect(customer)
    try:
        batch = invitations.invitations_create(survey=survey, customers=[customer], channel=Channel.EMAIL, created_by=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(customer)
    if batch.queued:
        messages.success(request, _("Survey invitation queued; the worker sends it by email."))
    else:
        reason = batch.skipped[0][1] if batch.skipped else ""
        messages.warning(request, _("Not sent: %(reason)s.") % {"reason": invitations.SKIP_REASONS.get(reason, reason)})
    return redirect(customer)


# ---------------------------------------------------------------- follow-ups


def _follow_up_for(user: User, pk: int) -> FollowUp:
    return get_object_or_404(
        selectors.visible_follow_ups(user).select_related("customer", "owner", "response__survey", "escalated_to"), pk=pk
    )


def _can_act(user: User, follow_up: FollowUp) -> bool:
    return (
        follow_up.owner_id == user.pk
        or follow_up.escalated_to_id == user.pk
        or can_edit_customer(user, follow_up.customer)
    )


@login_required
def follow_up_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    follow_up = _follow_up_for(user, pk)
    return render(
        request,
        "feedback/follow_up.html",
        {
            "f": follow_up,
            "r": follow_up.response,
            "can_act": _can_act(user, follow_up),
            "contact_form": ContactForm(),
            "close_form": CloseForm(),
            "now": timezone.now(),
            "worker_missing": worker_missing(),
        },
    )


@login_required
@require_POST
def follow_up_contact(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    follow_up = _follow_up_for(user, pk)
    if not _can_act(user, follow_up):
        raise PermissionDenied(_("Only the owner, their manager or someone who edits this customer may do this."))
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            follow_ups.follow_up_record_contact(follow_up=follow_up, user=user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Contact recorded."))
    else:
        messages.error(request, _("Nothing recorded: check the form."))
    return redirect("feedback:follow-up", pk=follow_up.pk)


@login_required
@require_POST
def follow_up_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    follow_up = _follow_up_for(user, pk)
    if not _can_act(user, follow_up):
        raise PermissionDenied(_("Only the owner, their manager or someone who edits this customer may do this."))
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            follow_ups.follow_up_close(follow_up=follow_up, user=user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Follow-up closed."))
            return redirect("feedback:follow-up", pk=follow_up.pk)
    else:
        messages.error(request, _("Not closed: %(errors)s") % {"errors": "; ".join(
            f"{form.fields[k].label}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items()
        )})
    return render(
        request,
        "feedback/follow_up.html",
        {"f": follow_up, "r": follow_up.response, "can_act": True, "contact_form": ContactForm(), "close_form": form, "now": timezone.now(),
         "worker_missing": worker_missing()},
        status=400,
    )


# ---------------------------------------------------------------- key-account reviews


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    quarter = reviews.quarter_of(timezone.now())
    qs = selectors.visible_reviews(user).select_related("customer", "owner")
    return render(
        request,
        "feedback/reviews.html",
        {
            "mine": selectors.my_open_reviews(user, limit=100),
            "rows": list(qs.order_by("-quarter", "done_at", "customer__name")[:200]),
            "quarter": quarter,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    review = get_object_or_404(selectors.visible_reviews(user).select_related("customer", "owner"), pk=pk)
    can_act = review.owner_id == user.pk or can_edit_customer(user, review.customer)
    form = ReviewForm(request.POST or None, initial={"nps": review.nps, "notes": review.notes})
    status = 200
    if request.method == "POST":
        if not can_act:
            raise PermissionDenied(_("Only the owner or someone who edits this customer may record the review."))
        if form.is_valid():
            try:
                reviews.review_complete(review=review, user=user, **form.cleaned_data)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                status = 400
            else:
                messages.success(request, _("Review recorded; it is on the customer's timeline."))
                return redirect("feedback:review", pk=review.pk)
        else:
            status = 400
    nps_history = list(
        Response.objects.filter(customer=review.customer).order_by("-created_at").values_list("created_at", "score")[:8]
    )
    return render(
        request,
        "feedback/review.html",
        {"review": review, "form": form, "can_act": can_act, "nps_history": nps_history},
        status=status,
    )
