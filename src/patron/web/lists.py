"""The list machinery: columns, the registry of lists (saved views name them), the filter forms'
shared fields, sorting by column headers, paging and CSV.

Each list lives in a module named for its app: ``customer_lists``, ``order_lists``, ``task_lists``
and ``feedback_lists`` (survey responses and follow-ups) hold its ``ListSpec``, filter form and
view. The form reads the page's parameters into the app's filter (``customers.selectors``'
``CustomerFilter`` and ``filter_customers``, ``commerce.selectors``, ``engagement.selectors``,
``feedback.lists``), the one place the filter rules live; the app's API list endpoint builds the
same filter from its query parameters.

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
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.core.audit import audit_record
from patron.core.cells import csv_cell
from patron.core.dates import DayField
from patron.core.models import User
from patron.core.roles import user_of
from patron.ingest.export import BOM
from patron.web.selectors import saved_views_of

# Parameters that are not filters: not kept in saved views, links or CSV links.
NOT_FILTERS = ("page", "format", "csrfmiddlewaretoken")



def any_choice(choices: Sequence[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return [("", gettext_lazy("Any")), *choices]


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


def people() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("username")


def date_field(label: Any) -> forms.DateField:
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


# Every list by name; each list's module registers its spec when it is imported (by web.urls).
LISTS: dict[str, ListSpec] = {}


def register(spec: ListSpec) -> ListSpec:
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


def read_form(form: forms.Form) -> tuple[dict[str, Any], list[str]]:
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
    cleaned, form_errors = read_form(form)
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


def values_csv(records: QuerySet, columns: dict[str, str], filename: str) -> StreamingHttpResponse:
    rows = records.values_list(*columns.values()).iterator(chunk_size=2000)
    return stream_csv(list(columns), rows, filename)
