"""The order list (page, filters, CSV), on the list machinery of web.lists.

The filter rules are ``commerce.selectors.filter_orders``, shared with ``GET /orders``.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy

from patron.commerce.models import Order
from patron.commerce.selectors import ORDER_SORTS, OrderFilter, filter_orders, visible_orders
from patron.core.choices import SalesChannel
from patron.core.models import Branch, User
from patron.core.roles import user_of
from patron.ingest.export import csv_response
from patron.web.lists import (
    Column,
    ListSpec,
    UserChoiceField,
    any_choice,
    date_field,
    people,
    register,
    render_list,
)

ORDERS = register(
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
    ordered_from = date_field(gettext_lazy("From"))
    ordered_to = date_field(gettext_lazy("To"))
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), required=False, choices=any_choice(SalesChannel.choices)
    )
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"), required=False, queryset=Branch.objects.order_by("name")
    )
    owner = UserChoiceField(
        label=gettext_lazy("Customer owner"), required=False, queryset=User.objects.none()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = people()


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
