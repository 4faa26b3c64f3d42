"""What one import run knows across its batches: the rows, their references, resolved in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.commerce.models import Product
from patron.core.models import Branch, Region, User, base_currency
from patron.customers.models import Contact, Customer
from patron.customers.selectors import (
    customer_scope,
    visible_customers,
)
from patron.imports.fields import ParseContext
from patron.imports.models import CustomerMerge

CENT = Decimal("0.01")
MISSING = object()
# A target's default that stands for the base currency (PATRON_BASE_CURRENCY), read when used.
BASE_CURRENCY = object()


def default_value(value: Any) -> Any:
    return base_currency() if value is BASE_CURRENCY else value


class Row:
    """One data row of the file: its cells, parsed values and what became of it."""

    __slots__ = ("cells", "customer", "desired", "errors", "extra", "key", "line", "status", "values")

    def __init__(self, line: int, cells: list[Any], values: dict[str, Any], errors: list[str]) -> None:
        self.line = line
        self.cells = cells
        self.values = values
        self.errors = errors
        self.status: str | None = None
        self.key: Any = None
        self.customer: tuple[int, str] | None = None  # (id, currency)
        self.desired: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}

    def reject(self, message: str) -> None:
        self.errors.append(message)


def ok(rows: Iterable[Row]) -> list[Row]:
    return [r for r in rows if not r.errors]


@dataclass
class RunState:
    """What one import run knows across its batches."""

    user: User | None
    ctx: ParseContext
    dry_run: bool = False
    caches: dict[str, dict[Any, Any]] = field(default_factory=lambda: defaultdict(dict))
    seen: dict[Any, int] = field(default_factory=dict)
    touched_customers: set[int] = field(default_factory=set)
    order_headers: dict[Any, tuple[int, tuple[Any, ...]]] = field(default_factory=dict)
    order_lines: dict[Any, dict[int, int]] = field(default_factory=dict)
    primary_contacts: dict[int, int] = field(default_factory=dict)
    now: datetime = field(default_factory=timezone.now)

    @property
    def restricted(self) -> bool:
        return self.user is not None and customer_scope(self.user) is not None

    def customers(self) -> models.QuerySet[Customer]:
        return Customer.objects.all() if self.user is None else visible_customers(self.user)

    # -- customers named by a row -------------------------------------------------------------

    def customers_by_external_id(self, exts: set[str]) -> dict[str, tuple[int, str] | None]:
        """(id, currency) of the customers these external ids name that the user may edit."""
        self._load_customer_exts(exts - self.caches["customer_ext"].keys())
        return {ext: self.caches["customer_ext"][ext] for ext in exts}

    def products_by_sku(self, skus: set[str]) -> dict[str, Any]:
        known = self.caches["product"]
        wanted = skus - known.keys()
        if wanted:
            found = products_by_sku(wanted)
            for sku in wanted:
                known[sku] = found.get(sku)
        return {sku: known[sku] for sku in skus}

    def branches_by_code(self, codes: set[str]) -> dict[str, Any]:
        known = self.caches["branch"]
        wanted = codes - known.keys()
        if wanted:
            found = branches_by_code(wanted)
            for code in wanted:
                known[code] = found.get(code)
        return {code: known[code] for code in codes}

    def _load_customer_exts(self, exts: set[str]) -> None:
        by_ext = self.caches["customer_ext"]
        base = self.customers()
        if exts:
            for chunk in chunks(sorted(exts)):
                for ext, pk, cur in base.filter(external_id__in=chunk).values_list("external_id", "pk", "currency"):
                    by_ext[ext] = (pk, cur)
            missing = exts - by_ext.keys()
            if missing:
                # A merged customer's external id leads to the customer it was merged into.
                redirects = dict(
                    CustomerMerge.objects.filter(merged_external_id__in=missing, kept__isnull=False).values_list(
                        "merged_external_id", "kept_id"
                    )
                )
                kept = dict(base.filter(pk__in=set(redirects.values())).values_list("pk", "currency"))
                for ext, pk in redirects.items():
                    if pk in kept:
                        by_ext[ext] = (pk, kept[pk])
            for ext in exts - by_ext.keys():
                by_ext[ext] = None

    def resolve_customers(self, rows: list[Row], *, required: bool = True) -> None:
        by_ext = self.caches["customer_ext"]
        by_id = self.caches["customer_id"]
        exts: set[str] = {r.values["customer_external_id"] for r in rows if r.values.get("customer_external_id") is not None}
        exts -= by_ext.keys()
        ids: set[int] = {r.values["customer_id"] for r in rows if r.values.get("customer_id") is not None}
        ids -= by_id.keys()
        base = self.customers()
        self._load_customer_exts(exts)
        if ids:
            for pk, cur in base.filter(pk__in=ids).values_list("pk", "currency"):
                by_id[pk] = (pk, cur)
            for pk in ids - by_id.keys():
                by_id[pk] = None
        for r in rows:
            ext, ref = r.values.get("customer_external_id"), r.values.get("customer_id")
            if ext is None and ref is None:
                if required:
                    r.reject(_("customer_external_id or customer_id is required."))
                continue
            found = by_ext[ext] if ext is not None else by_id[ref]
            if found is None:
                r.reject(self._no_customer(ext, ref))
            elif ext is not None and ref is not None and by_id.get(ref) is not None and by_id[ref] != found:
                r.reject(
                    _("customer_external_id %(ext)s and customer_id %(id)s name different customers.")
                    % {"ext": ext, "id": ref}
                )
            else:
                r.customer = found

    def _no_customer(self, ext: str | None, pk: int | None) -> str:
        if ext is not None:
            if self.restricted:
                return _("No customer with external id %(ext)s that you can edit.") % {"ext": ext}
            return _("No customer with external id %(ext)s.") % {"ext": ext}
        if self.restricted:
            return _("No customer with id %(id)s that you can edit.") % {"id": pk}
        return _("No customer with id %(id)s.") % {"id": pk}

    def visible_ids(self, ids: Iterable[int]) -> set[int]:
        ids = set(ids)
        if not self.restricted or not ids:
            return ids
        return set(self.customers().filter(pk__in=ids).values_list("pk", flat=True))

    # -- other references by a natural key ----------------------------------------------------

    def lookup(self, rows: list[Row], name: str, cache: str, query: Callable[[set[Any]], dict[Any, Any]],
               message: str) -> None:
        """Replace ``values[name]`` (a username, a code...) with what ``query`` maps it to."""
        known = self.caches[cache]
        wanted = {r.values.get(name) for r in rows} - {None, MISSING} - known.keys()
        if wanted:
            found = query(wanted)
            for value in wanted:
                known[value] = found.get(value)
        for r in rows:
            value = r.values.get(name, MISSING)
            if value is MISSING or value is None:
                continue
            target = known.get(value)
            if target is None:
                r.reject(message % {"value": value})
            else:
                r.values[name] = target


def in_chunks(queryset: Any, field: str, values: set[Any], *columns: str) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for chunk in chunks(sorted(values, key=str)):
        out.extend(queryset.filter(**{f"{field}__in": chunk}).values_list(*columns))
    return out


def users_by_username(names: set[Any]) -> dict[Any, Any]:
    return dict(in_chunks(User.objects, "username", names, "username", "pk"))


def branches_by_code(codes: set[Any]) -> dict[Any, Any]:
    return {code: (pk, region) for code, pk, region in in_chunks(Branch.objects, "code", codes, "code", "pk", "region_id")}


def regions_by_code(codes: set[Any]) -> dict[Any, Any]:
    return dict(in_chunks(Region.objects, "code", codes, "code", "pk"))


def products_by_sku(skus: set[Any]) -> dict[Any, Any]:
    rows = in_chunks(Product.objects, "sku", skus, "sku", "pk", "list_price", "unit_cost", "currency")
    return {sku: (pk, price, cost, currency) for sku, pk, price, cost, currency in rows}


def contacts_by_external_id(exts: set[Any]) -> dict[Any, Any]:
    rows = in_chunks(Contact.objects, "external_id", exts, "external_id", "pk", "customer_id")
    return {ext: (pk, cid) for ext, pk, cid in rows}


def chunks(items: list[Any], size: int = 900) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
