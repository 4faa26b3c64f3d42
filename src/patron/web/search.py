"""The search box: customers, contacts and orders in one query string, grouped by kind.

Names match in Chinese characters and in pinyin as people type it ("zhang wei", "zhangwei",
"zw"); emails, phones, external ids and order numbers match from their start. Each group is one
bounded query (LIMIT) on indexed prefixes, from the records of ``visible_customers(user)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from patron.commerce.selectors import visible_orders
from patron.core.models import User
from patron.core.roles import user_of
from patron.customers.models import Contact
from patron.customers.search import (
    MAX_QUERY,
    contact_point_match,
    customer_match,
    first_by_name,
    name_match,
)
from patron.customers.selectors import of_visible_customers, visible_customers

LIMIT = 20


@dataclass
class Group:
    rows: list[Any] = field(default_factory=list)
    more: bool = False  # more matches than shown


@dataclass
class Results:
    q: str
    customers: Group
    contacts: Group
    orders: Group

    @property
    def empty(self) -> bool:
        return not (self.customers.rows or self.contacts.rows or self.orders.rows)


def _first(records: QuerySet, limit: int) -> Group:
    rows = list(records[: limit + 1])
    return Group(rows[:limit], len(rows) > limit)


def _first_by_name(records: QuerySet, limit: int, q: str) -> Group:
    rows = first_by_name(records, limit + 1, first_keystroke=len(q) == 1 and q.isascii())
    return Group(rows[:limit], len(rows) > limit)


def _visible_contacts(user: User) -> QuerySet[Contact]:
    return of_visible_customers(Contact.objects.all(), user)


def _order_match(q: str) -> Q | None:
    q = q.strip()
    if not q or any(ch.isspace() for ch in q):
        return None
    match = Q(external_id__startswith=q)
    # "#123" or "123": Patron's own order number, as lists show orders without an external id.
    number = q.removeprefix("#")
    if number.isdigit() and len(number) <= 18:
        match |= Q(pk=int(number))
    return match


def search(user: User, q: str, *, limit: int = LIMIT) -> Results:
    """Up to ``limit`` customers, contacts and orders that ``user`` may see and that match ``q``."""
    q = q.strip()[:MAX_QUERY]
    customers = contacts = orders = Group()
    match = customer_match(q) if q else None
    if match is not None:
        customers = _first_by_name(
            visible_customers(user).filter(match).select_related("owner"), limit, q
        )
    contact_parts = (
        [p for p in (name_match(q), contact_point_match(q)) if p is not None] if q else []
    )
    if contact_parts:
        contact_match = contact_parts[0]
        for part in contact_parts[1:]:
            contact_match |= part
        contacts = _first_by_name(
            _visible_contacts(user).filter(contact_match).select_related("customer"), limit, q
        )
    order_match = _order_match(q)
    if order_match is not None:
        orders = _first(
            visible_orders(user)
            .filter(order_match)
            .select_related("customer")
            .order_by("-ordered_at", "-id"),
            limit,
        )
    return Results(q=q, customers=customers, contacts=contacts, orders=orders)


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("q", "")
    notes = []
    if len(raw.strip()) > MAX_QUERY:
        notes.append(_("Only the first %(n)s characters were searched.") % {"n": MAX_QUERY})
    results = search(user_of(request), raw) if raw.strip() else None
    q = raw.strip()[:MAX_QUERY]
    more_url = reverse("customer-list") + "?" + urlencode({"q": q})
    context = {"q": q, "results": results, "notes": notes, "more_url": more_url}
    return render(request, "web/search.html", context)
