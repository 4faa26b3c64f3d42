"""The customer list (page, filters, CSV) and its bulk actions, on the list machinery of web.lists.

The filter rules are ``customers.selectors.filter_customers``, shared with ``GET /customers``.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from patron.core.models import Branch, User
from patron.core.roles import assignable_owners, can_assign_owners, user_of
from patron.customers.models import Customer
from patron.customers.selectors import (
    COHORT,
    CUSTOMER_SORTS,
    CustomerFilter,
    changes_customers,
    editable_customers,
    filter_customers,
    visible_customers,
)
from patron.customers.services import (
    BulkActionError,
    customers_bulk_add_tag,
    customers_bulk_assign_owner,
)
from patron.ingest.export import csv_response
from patron.insights.labels import RFM_SEGMENTS
from patron.insights.models import ValueClass
from patron.web.lists import (
    Column,
    ListSpec,
    UserChoiceField,
    any_choice,
    people,
    read_form,
    register,
    render_list,
)

# Most rows one bulk action takes from ticked boxes (the page shows PATRON_PAGE_SIZE).
MAX_SELECTED = 500

CUSTOMERS = register(
    ListSpec(
        name="customers",
        url_name="customer-list",
        title=gettext_lazy("Customers"),
        template="web/lists/customers.html",
        columns=(
            Column(gettext_lazy("Customer"), "name"),
            Column(gettext_lazy("Owner"), "owner"),
            Column(gettext_lazy("Value class"), "value_class"),
            Column(gettext_lazy("Profit to date"), "profit", num=True),
            Column(gettext_lazy("Predicted value, 12 months"), "clv", num=True),
            Column(gettext_lazy("P(alive)"), "p_alive", num=True),
            Column(gettext_lazy("Churn risk"), "churn", num=True),
            Column(gettext_lazy("Orders"), "orders", num=True),
            Column(gettext_lazy("Last order"), "last_order", num=True),
        ),
        sorts=CUSTOMER_SORTS,
        default_sort="name",
        sort_choices=(
            ("name", gettext_lazy("Name")),
            ("-profit", gettext_lazy("Profit, highest first")),
            ("profit", gettext_lazy("Profit, lowest first")),
            ("-clv", gettext_lazy("Predicted value, highest first")),
            ("-gap", gettext_lazy("Growth gap, largest first")),
            ("-churn", gettext_lazy("Churn risk, highest first")),
            ("p_alive", gettext_lazy("P(alive), lowest first")),
            ("-move_down", gettext_lazy("Likely to move down first")),
            ("-revenue", gettext_lazy("Revenue, highest first")),
            ("-last_order", gettext_lazy("Last order, newest first")),
            ("-orders", gettext_lazy("Orders, most first")),
        ),
    )
)


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    value_class = forms.ChoiceField(
        label=gettext_lazy("Value class"), required=False, choices=any_choice(ValueClass.choices)
    )
    segment = forms.ChoiceField(label=gettext_lazy("RFM segment"), required=False)
    stage = forms.ChoiceField(
        label=gettext_lazy("Stage"), required=False, choices=any_choice(Customer.Stage.choices)
    )
    owner = UserChoiceField(label=gettext_lazy("Owner"), required=False, queryset=User.objects.none())
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"), required=False, queryset=Branch.objects.order_by("name")
    )
    tag = forms.CharField(label=gettext_lazy("Tag"), required=False, max_length=50)
    churn_min = forms.IntegerField(
        label=gettext_lazy("Churn risk at least (%)"), required=False, min_value=0, max_value=100
    )
    profit_min = forms.DecimalField(label=gettext_lazy("Profit from"), required=False)
    profit_max = forms.DecimalField(label=gettext_lazy("Profit below"), required=False)
    clv_min = forms.FloatField(label=gettext_lazy("Predicted value from"), required=False)
    clv_max = forms.FloatField(label=gettext_lazy("Predicted value below"), required=False)
    cohort = forms.RegexField(
        label=gettext_lazy("First order in quarter"),
        regex=COHORT,
        required=False,
        error_messages={"invalid": gettext_lazy("Write a quarter as 2025Q3.")},
    )
    key_account = forms.BooleanField(label=gettext_lazy("Key accounts only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["segment"])
        field.choices = any_choice(sorted(RFM_SEGMENTS.items(), key=lambda kv: str(kv[1])))
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = people()
        self.fields["q"].widget.attrs["placeholder"] = _("Name, pinyin, email or phone")


def customer_filter(cleaned: dict[str, Any], sort: str) -> CustomerFilter:
    churn = cleaned.get("churn_min")
    owner = cleaned.get("owner")
    branch = cleaned.get("branch")
    return CustomerFilter(
        q=(cleaned.get("q") or "").strip(),
        value_class=cleaned.get("value_class") or "",
        segment=cleaned.get("segment") or "",
        stage=cleaned.get("stage") or "",
        churn_min=churn / 100.0 if churn is not None else None,
        key_account=True if cleaned.get("key_account") else None,  # unticked: every customer
        profit_min=cleaned.get("profit_min"),
        profit_max=cleaned.get("profit_max"),
        clv_min=cleaned.get("clv_min"),
        clv_max=cleaned.get("clv_max"),
        cohort=cleaned.get("cohort") or "",
        owner=owner.pk if owner is not None else None,
        branch=branch.pk if branch is not None else None,
        tag=(cleaned.get("tag") or "").strip(),
        sort=sort,
    )


def filtered_customers(user: User, params: QueryDict) -> tuple[QuerySet[Customer], list[str]]:
    """The visible customers a list query string selects (used again by bulk actions)."""
    form = CustomerFilterForm(params)
    cleaned, errors = read_form(form)
    sort = params.get("sort") or CUSTOMERS.default_sort
    if sort not in CUSTOMER_SORTS:
        sort = CUSTOMERS.default_sort
    return filter_customers(visible_customers(user), customer_filter(cleaned, sort)), errors


@login_required
def customer_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = user_of(request)

    def build(cleaned: dict[str, Any], sort: str) -> QuerySet[Customer]:
        base = visible_customers(user).select_related("owner", "branch", "score")
        return filter_customers(base, customer_filter(cleaned, sort))

    editable = not editable_customers(user).query.is_empty()
    return render_list(
        request,
        CUSTOMERS,
        CustomerFilterForm(request.GET),
        build,
        # The whole filtered list in the export's columns (patron.ingest.export).
        lambda records: csv_response("customers", records, "customers.csv"),
        extra=lambda: {
            "can_tag": editable,
            "can_assign": editable and can_assign_owners(user),
            "owners": list(assignable_owners(user).order_by("username"))
            if can_assign_owners(user)
            else [],
        },
    )


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("assign_owner", gettext_lazy("Assign owner")), ("add_tag", gettext_lazy("Add tag"))],
        label=gettext_lazy("Action"),
    )
    owner = UserChoiceField(label=gettext_lazy("New owner"), required=False, queryset=User.objects.none())
    tag = forms.CharField(label=gettext_lazy("Tag"), required=False, max_length=50)
    all_matching = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=4000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Who the actor may assign to is checked by the service (core.roles.assignable_owners).
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = User.objects.filter(
            is_active=True
        )


@login_required
@require_POST
def customer_bulk(request: HttpRequest) -> HttpResponse:
    """Assign an owner or add a tag to ticked customers, or to every customer the filter matches."""
    user = user_of(request)
    if not changes_customers(user):
        raise PermissionDenied(_("Your role does not change customers."))
    form = BulkForm(request.POST)
    query = request.POST.get("query", "")[:4000]
    back = reverse("customer-list") + (f"?{query}" if query else "")
    if not form.is_valid():
        messages.error(
            request, _("Nothing was changed: %(errors)s") % {"errors": _errors_text(form)}
        )
        return redirect(back)
    data = form.cleaned_data
    refused = 0
    if data["all_matching"]:
        customers, errors = filtered_customers(user, QueryDict(query))
        if errors:
            messages.error(
                request,
                _("Nothing was changed: the filter has errors. %(errors)s")
                % {"errors": " ".join(errors)},
            )
            return redirect(back)
    else:
        raw = request.POST.getlist("ids")
        try:
            ids = sorted({int(v) for v in raw})
        except ValueError:
            messages.error(
                request, _("Nothing was changed: the selection is not a list of customers.")
            )
            return redirect(back)
        if not ids:
            messages.error(request, _("Nothing was changed: tick the customers to change first."))
            return redirect(back)
        if len(ids) > MAX_SELECTED:
            messages.error(
                request,
                _(
                    "Nothing was changed: at most %(n)s ticked customers at once; use “all matching the filter”."
                )
                % {"n": MAX_SELECTED},
            )
            return redirect(back)
        customers = Customer.objects.filter(pk__in=ids)
        refused = len(ids) - editable_customers(user).filter(pk__in=ids).count()
    try:
        if data["action"] == "assign_owner":
            if data["owner"] is None:
                raise BulkActionError(_("Choose the new owner."))
            changed = customers_bulk_assign_owner(
                actor=user, customers=customers, owner=data["owner"]
            )
            messages.success(
                request,
                _("%(n)s customers now belong to %(owner)s.")
                % {"n": changed, "owner": data["owner"]},
            )
        else:
            changed = customers_bulk_add_tag(
                actor=user, customers=customers, tag_name=data["tag"] or ""
            )
            messages.success(
                request,
                _("Tag “%(tag)s” added to %(n)s customers.")
                % {"tag": data["tag"].strip(), "n": changed},
            )
    except BulkActionError as exc:
        messages.error(
            request, _("Nothing was changed: %(errors)s") % {"errors": " ".join(exc.messages)}
        )
        return redirect(back)
    if refused:
        messages.warning(
            request,
            _("%(n)s of the ticked customers are not yours to change and were left as they were.")
            % {"n": refused},
        )
    return redirect(back)


def _errors_text(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else name}: {' '.join(str(e) for e in errs)}"
        for name, errs in form.errors.items()
    )
