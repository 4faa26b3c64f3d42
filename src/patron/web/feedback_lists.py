"""The survey responses and follow-ups lists (pages, filters, CSV), on the list machinery of web.lists.

The filter rules are ``feedback.lists`` (``filter_responses``, ``filter_follow_ups``), shared with
``GET /responses`` and ``GET /follow-ups``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from patron.core.models import Branch, User
from patron.core.roles import sees_own_customers_only, user_of
from patron.core.workers import worker_missing
from patron.feedback.lists import (
    FOLLOW_UP_SORTS,
    RESPONSE_SORTS,
    FollowUpFilter,
    ResponseFilter,
    filter_follow_ups,
    filter_responses,
)
from patron.feedback.models import Channel, FollowUp, Response, ScoreClass, Survey, Touchpoint
from patron.feedback.selectors import loop_report, visible_follow_ups, visible_responses
from patron.web.lists import (
    Column,
    ListSpec,
    UserChoiceField,
    any_choice,
    date_field,
    people,
    register,
    render_list,
    values_csv,
)

# ---------------------------------------------------------------- survey responses

RESPONSES = register(
    ListSpec(
        name="responses",
        url_name="response-list",
        title=gettext_lazy("Survey responses"),
        template="web/lists/responses.html",
        columns=(
            Column(gettext_lazy("Answered"), "created_at"),
            Column(gettext_lazy("Customer"), "customer"),
            Column(gettext_lazy("Survey"), "survey"),
            Column(gettext_lazy("Score"), "score", num=True),
            Column(gettext_lazy("Comment")),
            Column(gettext_lazy("Touchpoint")),
        ),
        sorts=RESPONSE_SORTS,
        default_sort="-created_at",
    )
)


class ResponseFilterForm(forms.Form):
    answered_from = date_field(gettext_lazy("From"))
    answered_to = date_field(gettext_lazy("To"))
    score_class = forms.ChoiceField(
        label=gettext_lazy("Score class"), required=False, choices=any_choice(ScoreClass.choices)
    )
    survey = forms.ModelChoiceField(
        label=gettext_lazy("Survey"), required=False, queryset=Survey.objects.order_by("name")
    )
    touchpoint = forms.ChoiceField(
        label=gettext_lazy("Touchpoint"), required=False, choices=any_choice(Touchpoint.choices)
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), required=False, choices=any_choice(Channel.choices)
    )
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"), required=False, queryset=Branch.objects.order_by("name")
    )
    with_comment = forms.BooleanField(label=gettext_lazy("With a comment"), required=False)


RESPONSE_CSV = {
    "id": "id",
    "answered_at": "created_at",
    "customer_id": "customer_id",
    "customer_external_id": "customer__external_id",
    "customer_name": "customer__name",
    "survey": "survey__name",
    "score": "score",
    "score_class": "score_class",
    "comment": "comment",
    "language": "language",
    "touchpoint": "touchpoint",
    "channel": "channel",
    "branch": "branch__code",
}


@login_required
def response_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = user_of(request)

    def build(cleaned: dict[str, Any], sort: str) -> QuerySet[Response]:
        f = ResponseFilter(
            answered_from=cleaned.get("answered_from"),
            answered_to=cleaned.get("answered_to"),
            score_class=cleaned.get("score_class") or "",
            survey_id=cleaned["survey"].pk if cleaned.get("survey") else None,
            touchpoint=cleaned.get("touchpoint") or "",
            channel=cleaned.get("channel") or "",
            branch_id=cleaned["branch"].pk if cleaned.get("branch") else None,
            with_comment=bool(cleaned.get("with_comment")),
            sort=sort,
        )
        return filter_responses(visible_responses(user).select_related("customer", "survey"), f)

    return render_list(
        request,
        RESPONSES,
        ResponseFilterForm(request.GET),
        build,
        lambda records: values_csv(records, RESPONSE_CSV, "responses.csv"),
    )


# ---------------------------------------------------------------- follow-ups

FOLLOW_UPS = register(
    ListSpec(
        name="follow_ups",
        url_name="feedback:follow-ups",
        title=gettext_lazy("Follow-ups (closing the loop)"),
        template="feedback/follow_ups.html",
        columns=(
            Column(gettext_lazy("Customer"), "customer"),
            Column(gettext_lazy("Reason")),
            Column(gettext_lazy("Owner"), "owner"),
            Column(gettext_lazy("Opened"), "opened_at"),
            Column(gettext_lazy("First contact due"), "due_at"),
            Column(gettext_lazy("Status")),
        ),
        sorts=FOLLOW_UP_SORTS,
        default_sort="due_at",
    )
)


class FollowUpFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("open", gettext_lazy("Open")),
            ("overdue", gettext_lazy("Overdue")),
            ("closed", gettext_lazy("Closed")),
            ("all", gettext_lazy("All")),
        ],
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Whose"),
        required=False,
        choices=[("mine", gettext_lazy("Mine")), ("all", gettext_lazy("Everyone's I can see"))],
    )
    owner = UserChoiceField(label=gettext_lazy("Owner"), required=False, queryset=User.objects.none())
    root_cause = forms.ChoiceField(
        label=gettext_lazy("Root cause"), required=False, choices=any_choice(FollowUp.RootCause.choices)
    )
    opened_from = date_field(gettext_lazy("Opened from"))
    opened_to = date_field(gettext_lazy("Opened to"))
    days = forms.IntegerField(
        label=gettext_lazy("Report period (days)"), required=False, min_value=1, max_value=3650
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = people()


FOLLOW_UP_CSV = {
    "id": "id",
    "customer_id": "customer_id",
    "customer_external_id": "customer__external_id",
    "customer_name": "customer__name",
    "reason": "reason",
    "owner": "owner__username",
    "opened_at": "opened_at",
    "due_at": "due_at",
    "first_contact_at": "first_contact_at",
    "escalated_at": "escalated_at",
    "closed_at": "closed_at",
    "root_cause": "root_cause",
    "outcome": "outcome",
    "survey": "response__survey__name",
    "score": "response__score",
}


@login_required
def follow_up_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Follow-ups, with the close-the-loop figures of the last ``days`` above them."""
    user = user_of(request)
    now = timezone.now()
    form = FollowUpFilterForm(request.GET)
    default_scope = "mine" if sees_own_customers_only(user) else "all"
    state: dict[str, Any] = {}

    def build(cleaned: dict[str, Any], sort: str) -> QuerySet[FollowUp]:
        status = cleaned.get("status") or "open"
        scope = cleaned.get("scope") or default_scope
        state.update(status=status, scope=scope, days=cleaned.get("days") or 90)
        f = FollowUpFilter(
            status=status,
            mine_of=user.pk if scope == "mine" else None,
            owner_id=cleaned["owner"].pk if cleaned.get("owner") else None,
            root_cause=cleaned.get("root_cause") or "",
            opened_from=cleaned.get("opened_from"),
            opened_to=cleaned.get("opened_to"),
            sort=sort,
        )
        records = visible_follow_ups(user).select_related("customer", "owner", "response__survey")
        return filter_follow_ups(records, f, now=now)

    def extra() -> dict[str, Any]:
        # Figures for the page only, not for a CSV download.
        days = state.get("days", 90)
        report = loop_report(user, start=now - timedelta(days=days), end=now, now=now)
        return {"now": now, "report": report, "worker_missing": worker_missing(now), **state}

    return render_list(
        request,
        FOLLOW_UPS,
        form,
        build,
        lambda records: values_csv(records, FOLLOW_UP_CSV, "follow-ups.csv"),
        extra=extra,
    )


