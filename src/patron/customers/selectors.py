"""Reads of customers. ``visible_customers`` is the one place that decides who sees whom."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

from patron.core.models import Branch, User
from patron.core.ordering import both_ways
from patron.core.roles import is_manager, is_read_only, sees_all_customers
from patron.customers.models import Contact, Customer
from patron.customers.search import by_name_of_matches, customer_match, phone_contains

M = TypeVar("M", bound=Model)

def customer_scope(user: User, *, prefix: str = "") -> Q | None:
    """The filter on Customer that ``user`` may see; None means every customer.

    Decided from the records at query time (owner, branch, region), so reassigning a
    customer or a manager's branches changes who sees what at once. The one rule of who sees
    whom: other records placed by an owner, a branch and a region (sales leads) are filtered by
    the same function, their fields reached through ``prefix`` (``"lead__"``) when not their own.
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if sees_all_customers(user):
        return None
    scope = Q(**{f"{prefix}owner_id": user.pk})
    if is_manager(user):
        region_ids = user.regions.values("pk")
        branch_ids = Branch.objects.filter(Q(managers=user) | Q(region__in=region_ids)).values("pk")
        scope |= Q(**{f"{prefix}branch_id__in": branch_ids}) | Q(**{f"{prefix}region_id__in": region_ids})
    return scope


def visible_customers(user: User) -> QuerySet[Customer]:
    """Every page, API endpoint, export and search starts from this queryset."""
    scope = customer_scope(user)
    customers = Customer.objects.all()
    return customers if scope is None else customers.filter(scope)


def of_visible_customers(qs: QuerySet[M], user: User) -> QuerySet[M]:
    """Records (with a ``customer`` field) of the customers ``user`` may see.

    For roles that see every customer the filter is left out, so the database does not join every
    customer for nothing.
    """
    return qs if customer_scope(user) is None else qs.filter(customer__in=visible_customers(user))


def can_see_customer(user: User, customer_id: int) -> bool:
    return visible_customers(user).filter(pk=customer_id).exists()


def changes_customers(user: User) -> bool:
    """Whether the user's role changes customer records at all: analysts and marketers only read."""
    return bool(
        user.is_authenticated and user.is_active and not is_read_only(user)
    )


def editable_customers(user: User) -> QuerySet[Customer]:
    """The customers ``user`` may change: the visible ones, unless the role only reads."""
    if not changes_customers(user):
        return Customer.objects.none()
    return visible_customers(user)


def can_edit_customer(user: User, customer: Customer) -> bool:
    """Analysts and marketers read everything but change nothing on a customer's record."""
    return changes_customers(user) and visible_customers(user).filter(pk=customer.pk).exists()


def search_key(name: str) -> str:
    """Full pinyin and initials of a name, so "zhang wei" and "zw" find 张伟."""
    from pypinyin import lazy_pinyin

    if not any("\u4e00" <= ch <= "\u9fff" for ch in name):
        return name.lower()
    syllables = [s for s in lazy_pinyin(name, errors="ignore") if s.strip()]
    initials = "".join(s[0] for s in syllables)
    return f"{' '.join(syllables)} {''.join(syllables)} {initials}".lower()


# Sort keys of the customer list, its page's and the API's (``core.ordering``). Scores live in the
# insights app's CurrentScore, reached through the one-to-one ``score``; customers not scored yet
# sort last. The API's older field-named keys (``profit_total``, ...) stay as aliases.
CUSTOMER_SORTS = {
    **both_ways("name"),
    **both_ways("owner", "owner__username", F("name").asc(), nulls_last=True),
    **both_ways("revenue", "revenue_total"),
    **both_ways("profit", "profit_total"),
    **both_ways("orders", "order_count"),
    **both_ways("last_order", "last_order_at", nulls_last=True),
    **both_ways("clv", "score__clv", nulls_last=True),
    **both_ways("churn", "score__churn_risk", nulls_last=True),
    **both_ways("p_alive", "score__p_alive", nulls_last=True),
    **both_ways("value_class", "score__value_class", F("profit_total").desc(), nulls_last=True),
    **both_ways("move_down", "score__move_down_prob", nulls_last=True),
    **both_ways("gap", "score__value_gap", nulls_last=True),
    **both_ways("id"),
    **both_ways("profit_total"),
    **both_ways("revenue_total"),
    **both_ways("order_count"),
    **both_ways("last_order_at", nulls_last=True),
    **both_ways("first_order_at", nulls_last=True),
    **both_ways("created_at"),
    **both_ways("updated_at"),
}
CONTACT_SORTS = {**both_ways("id"), **both_ways("name"), **both_ways("created_at"), **both_ways("updated_at")}


COHORT = re.compile(r"(\d{4})Q([1-4])")


def _decimal(raw: str | None) -> Decimal | None:
    try:
        value = Decimal((raw or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _float(raw: str | None) -> float | None:
    try:
        value = float((raw or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def quarter_range(quarter: str) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of a quarter such as "2025Q3" in the site's time zone."""
    match = COHORT.fullmatch(quarter)
    if match is None:
        raise ValueError(quarter)
    year, q = int(match.group(1)), int(match.group(2))
    tz = timezone.get_current_timezone()
    start = datetime(year, 3 * q - 2, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz) if q == 4 else datetime(year, 3 * q + 1, 1, tzinfo=tz)
    return start, end


@dataclass(frozen=True)
class CustomerFilter:
    q: str = ""
    value_class: str = ""
    segment: str = ""
    stage: str = ""
    churn_min: float | None = None
    key_account: bool | None = None  # True: key accounts only; False: the others; None: both
    # Ranges behind the dashboards' bars: min inclusive, max exclusive (profit to date, predicted value).
    profit_min: Decimal | None = None
    profit_max: Decimal | None = None
    clv_min: float | None = None
    clv_max: float | None = None
    cohort: str = ""  # quarter of the first order, e.g. "2025Q3"
    owner: int | None = None
    branch: int | None = None
    tag: str = ""
    # Filters the API offers (GET /customers): None is no filter.
    contains: str | None = None  # name (or its pinyin), email or phone contains this (the API's q)
    kind: str | None = None
    owner_username: str | None = None
    branch_code: str | None = None
    region_code: str | None = None
    external_id: str | None = None
    updated_since: datetime | None = None
    sort: str = "name"

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CustomerFilter:
        """Read a filter from query parameters, ignoring values that do not parse."""
        try:
            churn_min = float(params.get("churn_min", "")) / 100.0
        except ValueError:
            churn_min = None
        sort = params.get("sort", "name")
        return cls(
            q=params.get("q", "").strip()[:100],
            value_class=params.get("value_class", "")[:20],
            segment=params.get("segment", "")[:30],
            stage=params.get("stage", "")[:10],
            churn_min=churn_min if churn_min is not None and 0 <= churn_min <= 1 else None,
            key_account=True if params.get("key_account") in {"1", "on", "true"} else None,
            profit_min=_decimal(params.get("profit_min")),
            profit_max=_decimal(params.get("profit_max")),
            clv_min=_float(params.get("clv_min")),
            clv_max=_float(params.get("clv_max")),
            cohort=cohort if COHORT.fullmatch(cohort := params.get("cohort", "")[:6]) else "",
            owner=int(params["owner"]) if params.get("owner", "").isdigit() else None,
            sort=sort if sort in CUSTOMER_SORTS else "name",
        )


def filter_customers(customers: QuerySet[Customer], f: CustomerFilter) -> QuerySet[Customer]:
    """Apply a list filter and sort to a queryset that already went through visible_customers.

    The one set of filter rules of the customer list page and of ``GET /customers``.
    """
    if f.q:
        # Name in characters or pinyin (word prefixes), email or phone from its start, external id.
        match = customer_match(f.q)
        customers = customers.filter(match) if match is not None else customers.none()
    if f.contains:
        # The API's search: a substring of the name, its pinyin key, the email or the phone.
        text = f.contains.strip()
        customers = customers.filter(
            Q(name__icontains=text)
            | Q(name_search__contains=text.lower())
            | Q(email__icontains=text)
            | phone_contains(text)
        )
    if f.value_class:
        customers = customers.filter(score__value_class=f.value_class)
    if f.segment:
        customers = customers.filter(score__rfm_segment=f.segment)
    if f.stage:
        customers = customers.filter(stage=f.stage)
    if f.churn_min is not None:
        customers = customers.filter(score__churn_risk__gte=f.churn_min)
    if f.key_account is not None:
        customers = customers.filter(is_key_account=f.key_account)
    if f.profit_min is not None:
        customers = customers.filter(profit_total__gte=f.profit_min)
    if f.profit_max is not None:
        customers = customers.filter(profit_total__lt=f.profit_max)
    if f.clv_min is not None:
        customers = customers.filter(score__clv__gte=f.clv_min)
    if f.clv_max is not None:
        customers = customers.filter(score__clv__lt=f.clv_max)
    if f.cohort:
        start, end = quarter_range(f.cohort)
        customers = customers.filter(first_order_at__gte=start, first_order_at__lt=end)
    if f.owner is not None:
        customers = customers.filter(owner_id=f.owner)
    if f.branch is not None:
        customers = customers.filter(branch_id=f.branch)
    if f.tag:
        customers = customers.filter(tags__name=f.tag)
    if f.kind:
        customers = customers.filter(kind=f.kind)
    if f.owner_username:
        customers = customers.filter(owner__username=f.owner_username)
    if f.branch_code:
        customers = customers.filter(branch__code=f.branch_code)
    if f.region_code:
        customers = customers.filter(region__code=f.region_code)
    if f.external_id:
        customers = customers.filter(external_id=f.external_id)
    if f.updated_since:
        customers = customers.filter(updated_at__gte=f.updated_since)
    sorts = CUSTOMER_SORTS[f.sort]
    if f.q and f.sort in ("name", "-name"):
        # A search sorts its matches rather than walking the name index (see by_name_of_matches).
        key = by_name_of_matches()
        sorts = (key.asc() if f.sort == "name" else key.desc(),)
    return customers.order_by(*sorts, "id")


@dataclass(frozen=True)
class ContactFilter:
    """The contact list's filter (``GET /contacts``; no page lists contacts): None is no filter."""

    customer_id: int | None = None
    contains: str | None = None  # name, email or phone contains this
    external_id: str | None = None


def visible_contacts(user: User) -> QuerySet[Contact]:
    return of_visible_customers(Contact.objects.all(), user)


def filter_contacts(contacts: QuerySet[Contact], f: ContactFilter) -> QuerySet[Contact]:
    """Apply the filter to contacts that already went through ``visible_contacts``."""
    if f.customer_id is not None:
        contacts = contacts.filter(customer_id=f.customer_id)
    if f.contains:
        contacts = contacts.filter(
            Q(name__icontains=f.contains) | Q(email__icontains=f.contains) | phone_contains(f.contains)
        )
    if f.external_id:
        contacts = contacts.filter(external_id=f.external_id)
    return contacts
