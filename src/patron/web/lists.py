"""The lists: customers, orders, survey responses, follow-ups and tasks.

Each list reads its filters with a form (a value that does not parse is named in a message and
left out, never a 500), sorts by the column headers, pages with LIMIT n+1 (no COUNT over the
table) and downloads the whole filtered list as CSV. Every list starts from the records of
``visible_customers(user)``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from patron.commerce.models import Order
from patron.commerce.selectors import ORDER_SORTS, OrderFilter, filter_orders, visible_orders
from patron.core.audit import audit_record
from patron.core.cells import csv_cell
from patron.core.choices import SalesChannel
from patron.core.dates import DayField
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
from patron.engagement.models import Task
from patron.engagement.selectors import TASK_SORTS, TaskFilter, filter_tasks, visible_tasks
from patron.ingest.export import BOM, csv_response
from patron.insights.labels import RFM_SEGMENTS
from patron.insights.models import ValueClass
from patron.web.selectors import saved_views_of

# Most rows one bulk action takes from ticked boxes (the page shows PATRON_PAGE_SIZE).
MAX_SELECTED = 500
# Parameters that are not filters: not kept in saved views, links or CSV links.
NOT_FILTERS = ("page", "format", "csrfmiddlewaretoken")



def _any(choices: Sequence[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return [("", gettext_lazy("Any")), *choices]


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


def _people() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("username")


def _date(label: Any) -> forms.DateField:
    return DayField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))


# ---------------------------------------------------------------- the list machinery


@dataclass(frozen=True)
class Column:
    label: Any
    sort: str | None = None  # ascending key; "-" + key sorts descending
    num: bool = False


@dataclass(frozen=True)
class ListSpec:
    name: str  # the key of saved views
    url_name: str
    title: Any
    template: str
    columns: tuple[Column, ...]
    sorts: dict[str, Any]
    default_sort: str
    # Offered in a "Sort by" menu: orders that have no column of their own.
    sort_choices: tuple[tuple[str, Any], ...] = ()


LISTS: dict[str, ListSpec] = {}


def _spec(spec: ListSpec) -> ListSpec:
    LISTS[spec.name] = spec
    return spec


def filter_query(params: QueryDict) -> str:
    """The list's filters and sort as a query string (no page, no format)."""
    query = params.copy()
    for key in NOT_FILTERS:
        query.pop(key, None)
    return query.urlencode()


def _read_common(request: HttpRequest, spec: ListSpec) -> tuple[str, int, list[str]]:
    errors: list[str] = []
    sort = request.GET.get("sort", "") or spec.default_sort
    if sort not in spec.sorts:
        errors.append(
            _("Unknown sort “%(sort)s”: the list is in its default order.") % {"sort": sort[:40]}
        )
        sort = spec.default_sort
    raw_page = request.GET.get("page", "1") or "1"
    page = page_number(raw_page)
    if page is None:
        errors.append(
            _("“%(page)s” is not a page number: showing the first page.") % {"page": raw_page[:20]}
        )
        page = 1
    return sort, page, errors


# Far beyond any real list, and small enough that the page's offset fits the database's integers.
MAX_PAGE_NUMBER = 10**7


def page_number(raw: str) -> int | None:
    """A page number from a query string, or None for anything else (text, 0, a huge number)."""
    try:
        page = int(raw)
    except ValueError:
        return None
    return page if 1 <= page <= MAX_PAGE_NUMBER else None


def _read_form(form: forms.Form) -> tuple[dict[str, Any], list[str]]:
    """The fields that parse, and a message for each that does not (that filter is left out)."""
    if form.is_valid():
        return form.cleaned_data, []
    errors = [
        _("%(field)s: %(error)s This filter is not applied.")
        % {
            "field": form.fields[name].label if name in form.fields else name,
            "error": " ".join(str(e) for e in errs),
        }
        for name, errs in form.errors.items()
    ]
    return form.cleaned_data, errors


def _columns(request: HttpRequest, spec: ListSpec, sort: str) -> list[dict[str, Any]]:
    out = []
    for column in spec.columns:
        cell: dict[str, Any] = {
            "label": column.label,
            "num": column.num,
            "url": None,
            "aria_sort": None,
        }
        if column.sort is not None:
            query = request.GET.copy()
            for key in NOT_FILTERS:
                query.pop(key, None)
            current = sort in (column.sort, f"-{column.sort}")
            descending = sort == f"-{column.sort}"
            # A click on the sorted column reverses it; other columns start in their natural order.
            if current:
                target = column.sort if descending else f"-{column.sort}"
            else:
                target = column.sort if column.sort in spec.sorts else f"-{column.sort}"
            if target not in spec.sorts:
                target = column.sort if column.sort in spec.sorts else f"-{column.sort}"
            query["sort"] = target
            cell["url"] = "?" + query.urlencode()
            if current:
                cell["aria_sort"] = "descending" if descending else "ascending"
        out.append(cell)
    return out


def _sort_menu(spec: ListSpec, sort: str) -> list[tuple[str, Any]]:
    menu = list(spec.sort_choices)
    if menu and sort not in {code for code, _label in menu}:
        # Sorted from a column header: keep that order when filters are applied.
        menu.insert(0, (sort, _("As chosen in the column headers")))
    return menu


def render_list(
    request: HttpRequest,
    spec: ListSpec,
    form: forms.Form,
    build: Callable[[dict[str, Any], str], QuerySet],
    download: Callable[[QuerySet], StreamingHttpResponse],
    extra: Callable[[], dict[str, Any]] | None = None,
) -> HttpResponse | StreamingHttpResponse:
    sort, page, errors = _read_common(request, spec)
    cleaned, form_errors = _read_form(form)
    errors += form_errors
    records = build(cleaned, sort)
    if request.GET.get("format") == "csv":
        # Who took a copy of which records is audit-logged: the list and its filters.
        audit_record("export.list", object_type=spec.name, changes={"format": "csv", "query": filter_query(request.GET)})
        return download(records)
    size = settings.PATRON_PAGE_SIZE
    # One row past the page tells whether a next page exists, without counting the table.
    rows = list(records[(page - 1) * size : page * size + 1])
    query = filter_query(request.GET)
    context = {
        "spec": spec,
        "title": spec.title,
        "list_name": spec.name,
        "form": form,
        "rows": rows[:size],
        "page": page,
        "has_next": len(rows) > size,
        "sort": sort,
        "columns": _columns(request, spec, sort),
        "sort_menu": _sort_menu(spec, sort),
        "querystring": query,
        "list_errors": errors,
        "saved_views": saved_views_of(user_of(request), spec.name),
        spec.name: rows[:size],
        **(extra() if extra else {}),
    }
    return render(request, spec.template, context)


def stream_csv(
    header: Sequence[str], rows: Iterator[Sequence[Any]], filename: str
) -> StreamingHttpResponse:
    """A CSV download in the export's format (UTF-8 with BOM, ISO dates, text that cannot run as
    a formula), streamed."""

    def lines() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write(BOM)
        writer.writerow(header)
        for n, row in enumerate(rows, start=1):
            writer.writerow([csv_cell(v) for v in row])
            if n % 500 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _values_csv(records: QuerySet, columns: dict[str, str], filename: str) -> StreamingHttpResponse:
    rows = records.values_list(*columns.values()).iterator(chunk_size=2000)
    return stream_csv(list(columns), rows, filename)


# ---------------------------------------------------------------- customers

CUSTOMERS = _spec(
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
        label=gettext_lazy("Value class"), required=False, choices=_any(ValueClass.choices)
    )
    segment = forms.ChoiceField(label=gettext_lazy("RFM segment"), required=False)
    stage = forms.ChoiceField(
        label=gettext_lazy("Stage"), required=False, choices=_any(Customer.Stage.choices)
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
        field.choices = _any(sorted(RFM_SEGMENTS.items(), key=lambda kv: str(kv[1])))
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = _people()
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
    cleaned, errors = _read_form(form)
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


# ---------------------------------------------------------------- orders

ORDERS = _spec(
    ListSpec(
        name="orders",
        url_name="order-list",
        title=gettext_lazy("Orders"),
        template="web/lists/orders.html",
        columns=(
            Column(gettext_lazy("Order"), "external_id"),
            Column(gettext_lazy("Customer"), "customer"),
            Column(gettext_lazy("Date"), "ordered_at"),
            Column(gettext_lazy("Channel"), "channel"),
            Column(gettext_lazy("Branch")),
            Column(gettext_lazy("Revenue"), "revenue", num=True),
            Column(gettext_lazy("Margin"), num=True),
        ),
        sorts=ORDER_SORTS,
        default_sort="-ordered_at",
    )
)


class OrderFilterForm(forms.Form):
    ordered_from = _date(gettext_lazy("From"))
    ordered_to = _date(gettext_lazy("To"))
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), required=False, choices=_any(SalesChannel.choices)
    )
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"), required=False, queryset=Branch.objects.order_by("name")
    )
    owner = UserChoiceField(
        label=gettext_lazy("Customer owner"), required=False, queryset=User.objects.none()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = _people()


@login_required
def order_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = user_of(request)

    def build(cleaned: dict[str, Any], sort: str) -> QuerySet[Order]:
        f = OrderFilter(
            ordered_from=cleaned.get("ordered_from"),
            ordered_to=cleaned.get("ordered_to"),
            channel=cleaned.get("channel") or "",
            branch_id=cleaned["branch"].pk if cleaned.get("branch") else None,
            owner_id=cleaned["owner"].pk if cleaned.get("owner") else None,
            sort=sort,
        )
        return filter_orders(visible_orders(user).select_related("customer", "branch"), f)

    return render_list(
        request,
        ORDERS,
        OrderFilterForm(request.GET),
        build,
        # One row per order line, as the export writes orders (patron.ingest.export).
        lambda records: csv_response("orders", records, "orders.csv"),
    )


# ---------------------------------------------------------------- tasks

TASKS = _spec(
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
        label=gettext_lazy("Status"), required=False, choices=_any(Task.Status.choices)
    )
    assignee = UserChoiceField(
        label=gettext_lazy("Assignee"), required=False, queryset=User.objects.none()
    )
    due_from = _date(gettext_lazy("Due from"))
    due_to = _date(gettext_lazy("Due to"))
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = _people()


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
        extra=lambda: {"now": now},
    )
