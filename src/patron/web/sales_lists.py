"""The opportunity and lead lists (pages, filters, CSV), on the list machinery of web.lists.

The filter rules are ``sales.selectors.filter_opportunities`` and ``filter_leads``, shared with
``GET /opportunities`` and ``GET /leads``.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy

from patron.core.models import User
from patron.core.roles import user_of
from patron.customers.selectors import changes_customers
from patron.sales.models import Lead, Opportunity, Stage
from patron.sales.selectors import (
    LEAD_SORTS,
    OPPORTUNITY_SORTS,
    LeadFilter,
    OpportunityFilter,
    default_pipeline,
    filter_leads,
    filter_opportunities,
    pipeline_stages,
    visible_leads,
    visible_opportunities,
)
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

OPPORTUNITIES = register(
    ListSpec(
        name="opportunities",
        url_name="opportunity-list",
        title=gettext_lazy("Opportunities"),
        template="sales/opportunity_list.html",
        columns=(
            Column(gettext_lazy("Opportunity"), "name"),
            Column(gettext_lazy("Customer or lead")),
            Column(gettext_lazy("Amount"), "amount", num=True),
            Column(gettext_lazy("Stage"), "stage"),
            Column(gettext_lazy("Owner"), "owner"),
            Column(gettext_lazy("Expected close"), "expected_close"),
        ),
        sorts=OPPORTUNITY_SORTS,
        default_sort="expected_close",
    )
)
LEADS = register(
    ListSpec(
        name="leads",
        url_name="lead-list",
        title=gettext_lazy("Leads"),
        template="sales/lead_list.html",
        columns=(
            Column(gettext_lazy("Name"), "name"),
            Column(gettext_lazy("Company"), "company"),
            Column(gettext_lazy("Source")),
            Column(gettext_lazy("Status"), "status"),
            Column(gettext_lazy("Owner"), "owner"),
            Column(gettext_lazy("Created"), "created_at"),
        ),
        sorts=LEAD_SORTS,
        default_sort="-created_at",
    )
)
OPPORTUNITY_CSV = {
    "id": "id", "external_id": "external_id", "name": "name", "customer_id": "customer_id", "lead_id": "lead_id",
    "amount": "amount", "currency": "currency", "stage": "stage__key", "outcome": "stage__outcome",
    "owner": "owner__username", "expected_close": "expected_close", "next_step": "next_step",
    "won_reason": "won_reason", "lost_reason": "lost_reason", "closed_at": "closed_at", "created_at": "created_at",
}
LEAD_CSV = {
    "id": "id", "external_id": "external_id", "name": "name", "company": "company", "email": "email",
    "phone": "phone", "source": "source", "channel": "channel", "owner": "owner__username",
    "status": "status", "converted_customer_id": "converted_customer_id", "created_at": "created_at",
}


def _stage_choices() -> list[tuple[str, Any]]:
    pipeline = default_pipeline()
    return [(s.key, s.label) for s in pipeline_stages(pipeline)] if pipeline is not None else []


class OpportunityFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    stage = forms.ChoiceField(label=gettext_lazy("Stage"), required=False)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), required=False, choices=any_choice(Stage.Outcome.choices))
    owner = UserChoiceField(label=gettext_lazy("Owner"), required=False, queryset=User.objects.none())
    close_from = date_field(gettext_lazy("Closing from"))
    close_to = date_field(gettext_lazy("Closing to"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["stage"]).choices = any_choice(_stage_choices())
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = people()


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = user_of(request)

    def build(cleaned: dict[str, Any], sort: str) -> QuerySet[Opportunity]:
        f = OpportunityFilter(
            q=cleaned.get("q") or "",
            stage_key=cleaned.get("stage") or "",
            outcome=cleaned.get("outcome") or "",
            owner_id=cleaned["owner"].pk if cleaned.get("owner") else None,
            close_from=cleaned.get("close_from"),
            close_to=cleaned.get("close_to"),
            sort=sort,
        )
        return filter_opportunities(visible_opportunities(user).select_related("customer", "lead", "stage", "owner"), f)

    return render_list(
        request, OPPORTUNITIES, OpportunityFilterForm(request.GET), build,
        lambda records: values_csv(records, OPPORTUNITY_CSV, "opportunities.csv"),
        extra=lambda: {"can_change": changes_customers(user)},
    )


class LeadFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, choices=any_choice(Lead.Status.choices))
    source = forms.ChoiceField(label=gettext_lazy("Source"), required=False, choices=any_choice(Lead.Source.choices))
    owner = UserChoiceField(label=gettext_lazy("Owner"), required=False, queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = people()


@login_required
def lead_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = user_of(request)

    def build(cleaned: dict[str, Any], sort: str) -> QuerySet[Lead]:
        f = LeadFilter(
            q=cleaned.get("q") or "",
            status=cleaned.get("status") or "",
            source=cleaned.get("source") or "",
            owner_id=cleaned["owner"].pk if cleaned.get("owner") else None,
            sort=sort,
        )
        return filter_leads(visible_leads(user).select_related("owner"), f)

    return render_list(
        request, LEADS, LeadFilterForm(request.GET), build,
        lambda records: values_csv(records, LEAD_CSV, "leads.csv"),
        extra=lambda: {"can_change": changes_customers(user)},
    )
