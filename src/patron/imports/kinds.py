"""What each kind of import does with a batch of parsed rows.

A batch arrives as ``Row`` objects whose cells are already parsed into field values. The
importer resolves references in bulk (customers by external id, users by username, branches by
code, products by SKU), fetches the records the rows name (one query per table), decides for each
row whether it creates, updates or leaves a record unchanged, and writes with ``writer`` (one
executemany or COPY per table). A row that cannot land gets an error and nothing of it is
written. The engine runs each batch in its own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.commerce.currency import (
    ONE,
    RateBook,
    RateInput,
    check_rate,
    cross,
    rate_day,
    rates_save,
    to_base,
)
from patron.commerce.models import CostEvent, ExchangeRate, Order, OrderLine, Product
from patron.commerce.services import customer_totals_refresh
from patron.commerce.signals import customers_changed
from patron.core.choices import ContactChannel, SalesChannel
from patron.core.models import Branch, Region, Role, User, base_currency
from patron.customers.models import Contact, Customer
from patron.customers.selectors import (
    changes_customers,
    customer_scope,
    search_key,
    visible_customers,
)
from patron.customers.services import tag_get_or_create_many
from patron.engagement.models import Interaction
from patron.imports import fields as f
from patron.imports import writer
from patron.imports.events import orders_created
from patron.imports.fields import FieldSpec, ParseContext
from patron.imports.models import CustomerMerge

CENT = Decimal("0.01")
MISSING = object()
# A target's default that stands for the base currency (PATRON_BASE_CURRENCY), read when used.
BASE_CURRENCY = object()


def _default(value: Any) -> Any:
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
            for chunk in _chunks(sorted(exts)):
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


def _in_chunks(queryset: Any, field: str, values: set[Any], *columns: str) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(values, key=str)):
        out.extend(queryset.filter(**{f"{field}__in": chunk}).values_list(*columns))
    return out


def users_by_username(names: set[Any]) -> dict[Any, Any]:
    return dict(_in_chunks(User.objects, "username", names, "username", "pk"))


def branches_by_code(codes: set[Any]) -> dict[Any, Any]:
    return {code: (pk, region) for code, pk, region in _in_chunks(Branch.objects, "code", codes, "code", "pk", "region_id")}


def regions_by_code(codes: set[Any]) -> dict[Any, Any]:
    return dict(_in_chunks(Region.objects, "code", codes, "code", "pk"))


def products_by_sku(skus: set[Any]) -> dict[Any, Any]:
    rows = _in_chunks(Product.objects, "sku", skus, "sku", "pk", "list_price", "unit_cost", "currency")
    return {sku: (pk, price, cost, currency) for sku, pk, price, cost, currency in rows}


def contacts_by_external_id(exts: set[Any]) -> dict[Any, Any]:
    rows = _in_chunks(Contact.objects, "external_id", exts, "external_id", "pk", "customer_id")
    return {ext: (pk, cid) for ext, pk, cid in rows}


# ---------------------------------------------------------------------------------------------


class Importer:
    """One kind of record. Subclasses list their fields and what a batch does."""

    kind: ClassVar[str]
    model: ClassVar[type[models.Model]]
    specs: ClassVar[list[FieldSpec]]
    # Each group needs at least one mapped column and, per row, at least one value.
    one_of: ClassVar[tuple[tuple[str, ...], ...]] = (("external_id", "id"),)

    @classmethod
    def fields(cls) -> dict[str, FieldSpec]:
        return {s.name: s for s in cls.specs}

    @classmethod
    def required(cls) -> tuple[str, ...]:
        from patron.core.columns import COLUMNS

        return COLUMNS[cls.kind].required

    @classmethod
    def permitted(cls, user: User | None) -> bool:
        """Analysts and marketers read but change no customer records."""
        return user is None or changes_customers(user)

    def __init__(self, run: RunState) -> None:
        self.run = run

    # Rows with equal values in these fields stay in one batch (an order's lines).
    group_fields: ClassVar[tuple[str, ...]] = ()

    def fast_path(self, header: list[str], mapping: dict[str, str], file_format: str) -> Any:
        """A function taking a batch of raw rows and returning how many it created, or None
        when the batch needs the row path; None when the kind has no such path."""
        return None

    def process(self, rows: list[Row]) -> None:
        raise NotImplementedError


class RecordImporter(Importer):
    """Kinds where one row is one record, upserted on its external id (or Patron's id)."""

    # field name -> (model attname, value when the cell is blank)
    targets: ClassVar[dict[str, tuple[str, Any]]] = {}
    customer_scoped: ClassVar[bool] = True

    def process(self, rows: list[Row]) -> None:
        live = self.keyed(ok(rows))
        if self.customer_scoped:
            self.run.resolve_customers(live)
            live = ok(live)
        self.resolve(live)
        live = ok(live)
        for r in live:
            self.prepare(r)
        live = ok(live)
        existing = self.fetch_existing(live)
        live = ok(live)
        creates: list[Row] = []
        updates: list[Row] = []
        for r in live:
            old = existing.get(r.key)
            if old is None:
                r.status = "created"
                creates.append(r)
            elif any(old.get(a, MISSING) != v for a, v in r.desired.items()) or self.extra_changed(r, old):
                r.status = "updated"
                r.extra["old"] = old
                updates.append(r)
            else:
                r.status = "unchanged"
                r.extra["old"] = old
        self.write(creates, updates)
        self.after(creates, updates, live)
        for r in live:
            self.run.seen[(self.kind, r.key)] = r.line

    # -- steps --------------------------------------------------------------------------------

    def keyed(self, rows: list[Row]) -> list[Row]:
        batch: dict[Any, int] = {}
        for r in rows:
            ext, pk = r.values.get("external_id"), r.values.get("id")
            if ext is not None:
                r.key = ("e", ext)
            elif pk is not None:
                r.key = ("i", pk)
            else:
                r.reject(self.no_key_message())
                continue
            first = self.run.seen.get((self.kind, r.key)) or batch.get(r.key)
            if first is not None:
                r.reject(self.duplicate_message(r.key, first))
                continue
            batch[r.key] = r.line
        return ok(rows)

    def no_key_message(self) -> str:
        return _(
            "external_id is required (or Patron's id), so that importing the file again updates this "
            "record instead of adding it twice."
        )

    def duplicate_message(self, key: Any, line: int) -> str:
        label = "external_id" if key[0] == "e" else "id"
        return _("%(column)s %(value)s already appears on line %(line)s.") % {
            "column": label,
            "value": key[1],
            "line": line,
        }

    def resolve(self, rows: list[Row]) -> None:
        """Bulk lookups of usernames, codes, SKUs."""

    def prepare(self, r: Row) -> None:
        """Fill ``r.desired`` (model attname -> value) from the mapped cells."""
        for name, (attname, default) in self.targets.items():
            # money_currency may already have set the currency an amount's symbol names.
            if name in r.values and attname not in r.desired:
                value = r.values[name]
                r.desired[attname] = _default(default) if value is None else value
        if self.customer_scoped and r.customer is not None:
            r.desired["customer_id"] = r.customer[0]

    def money_currency(self, r: Row, money_fields: Iterable[str], default: str | None) -> None:
        """Split (amount, currency symbol) values; the symbol must agree with the currency column."""
        declared = r.values.get("currency")
        named: str | None = None
        for name in money_fields:
            value = r.values.get(name)
            if value is None:
                continue
            amount, code = value
            r.values[name] = amount
            if code is not None:
                if named is not None and named != code:
                    r.reject(_("The amounts name two currencies, %(a)s and %(b)s.") % {"a": named, "b": code})
                named = code
        if named is not None and declared is not None and declared != named:
            r.reject(
                _("%(column)s says %(declared)s but the amount is in %(named)s.")
                % {"column": "currency", "declared": declared, "named": named}
            )
        currency = declared or named
        if currency is None and "currency" in r.values:
            currency = default
        if currency is not None:
            r.desired["currency"] = currency
        elif default is not None:
            r.extra["currency_default"] = default

    def compare_fields(self) -> list[str]:
        fields = [attname for attname, _default in self.targets.values()]
        if self.customer_scoped:
            fields.append("customer_id")
        return fields

    def fetch_existing(self, rows: list[Row]) -> dict[Any, dict[str, Any]]:
        exts = [r.key[1] for r in rows if r.key[0] == "e"]
        ids = [r.key[1] for r in rows if r.key[0] == "i"]
        if not exts and not ids:
            return {}
        columns = ["id", "external_id", *self.compare_fields()]
        found: dict[Any, dict[str, Any]] = {}
        manager = self.model._default_manager
        for chunk in _chunks(exts):
            for row in manager.filter(external_id__in=chunk).values(*columns):
                found[("e", row["external_id"])] = row
        for chunk in _chunks(ids):
            for row in manager.filter(pk__in=chunk).values(*columns):
                found[("i", row["id"])] = row
        self.check_existing(rows, found)
        return found

    def check_existing(self, rows: list[Row], found: dict[Any, dict[str, Any]]) -> None:
        for r in rows:
            if r.key[0] == "i" and r.key not in found:
                r.reject(_("No record with id %(id)s; give an external_id to create it.") % {"id": r.key[1]})
        if self.customer_scoped and self.run.restricted:
            visible = self.run.visible_ids(row["customer_id"] for row in found.values())
            for r in rows:
                old = found.get(r.key)
                if old is not None and old["customer_id"] not in visible:
                    r.reject(self.not_editable_message(r.key))
                    del found[r.key]

    def not_editable_message(self, key: Any) -> str:
        return _("%(column)s %(value)s belongs to a record you cannot edit.") % {
            "column": "external_id" if key[0] == "e" else "id",
            "value": key[1],
        }

    def extra_changed(self, r: Row, old: dict[str, Any]) -> bool:
        return False

    def target_defaults(self) -> dict[str, Any]:
        return {attname: _default(default) for attname, default in self.targets.values()}

    def create_values(self, r: Row) -> dict[str, Any]:
        values = self.target_defaults()
        values.update(r.desired)
        values["external_id"] = r.key[1] if r.key[0] == "e" else None
        return values

    def write(self, creates: list[Row], updates: list[Row]) -> None:
        now = self.run.now
        if creates:
            ids = writer.allocate_ids(self.model, len(creates))
            prepared = []
            for pk, r in zip(ids, creates, strict=True):
                values = self.create_values(r)
                values["id"] = pk
                if hasattr(self.model, "created_at"):
                    values["created_at"] = now
                    values["updated_at"] = now
                prepared.append(values)
                r.extra["id"] = pk
            columns = sorted(set().union(*prepared))
            defaults = self.target_defaults()
            writer.insert(self.model, columns, [[v.get(c, defaults.get(c)) for c in columns] for v in prepared])
        if updates:
            by_columns: dict[tuple[str, ...], list[Row]] = defaultdict(list)
            for r in updates:
                by_columns[tuple(sorted(r.desired))].append(r)
            for cols, group in by_columns.items():
                columns = list(cols)
                if hasattr(self.model, "updated_at"):
                    columns.append("updated_at")
                data = []
                for r in group:
                    values = dict(r.desired, updated_at=now)
                    data.append([*[values[c] for c in columns], r.extra["old"]["id"]])
                    r.extra["id"] = r.extra["old"]["id"]
                writer.update(self.model, columns, data)

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        """Work that follows the batch's writes (tags, totals)."""


def _chunks(items: list[Any], size: int = 900) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------------------------------
# Customers


class CustomerImporter(RecordImporter):
    kind = "customers"
    model = Customer
    customer_scoped = False
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.spec("name", gettext_lazy("name"), f.model_text(Customer, "name")),
        f.spec("kind", gettext_lazy("kind (person or company)"), f.model_choice(Customer, "kind")),
        f.spec("email", gettext_lazy("email"), f.email),
        f.spec("phone", gettext_lazy("phone"), f.model_text(Customer, "phone")),
        f.spec("city", gettext_lazy("city"), f.model_text(Customer, "city")),
        f.spec("address", gettext_lazy("address"), f.model_text(Customer, "address")),
        f.spec("owner", gettext_lazy("owner (username)"), f.text(150)),
        f.spec("branch", gettext_lazy("branch (code)"), f.text(20)),
        f.spec("region", gettext_lazy("region (code)"), f.text(20)),
        f.spec("stage", gettext_lazy("lifecycle stage"), f.model_choice(Customer, "stage")),
        f.spec("acquired_on", gettext_lazy("acquisition date"), f.day),
        f.spec("acquisition_channel", gettext_lazy("acquisition channel"), f.choice(SalesChannel.choices)),
        f.spec("acquisition_cost", gettext_lazy("acquisition cost"), f.money(), money=True),
        f.spec("currency", gettext_lazy("currency"), f.currency),
        f.spec("is_key_account", gettext_lazy("key account"), f.boolean),
        f.spec("consent_email", gettext_lazy("consents to email"), f.boolean),
        f.spec("consent_survey", gettext_lazy("consents to surveys"), f.boolean),
        f.spec("tags", gettext_lazy("tags (separated by ;)"), f.tags),
    ]
    targets = {
        "name": ("name", ""),
        "kind": ("kind", Customer.Kind.PERSON),
        "email": ("email", ""),
        "phone": ("phone", ""),
        "city": ("city", ""),
        "address": ("address", ""),
        "owner": ("owner_id", None),
        "branch": ("branch_id", None),
        "region": ("region_id", None),
        "stage": ("stage", Customer.Stage.ACTIVE),
        "acquired_on": ("acquired_on", None),
        "acquisition_channel": ("acquisition_channel", ""),
        "acquisition_cost": ("acquisition_cost", Decimal(0)),
        "currency": ("currency", BASE_CURRENCY),
        "is_key_account": ("is_key_account", False),
        "consent_email": ("consent_email", False),
        "consent_survey": ("consent_survey", False),
    }

    def resolve(self, rows: list[Row]) -> None:
        run = self.run
        run.lookup(rows, "owner", "user", users_by_username, _("No user named %(value)s."))
        run.lookup(rows, "branch", "branch", branches_by_code, _("No branch with code %(value)s."))
        run.lookup(rows, "region", "region", regions_by_code, _("No region with code %(value)s."))

    def prepare(self, r: Row) -> None:
        self.money_currency(r, ["acquisition_cost"], base_currency())
        branch = r.values.get("branch")
        if isinstance(branch, tuple):
            r.values["branch"] = branch[0]
            # Like customer_create: a branch implies its region unless the file names one.
            if r.values.get("region") is None:
                r.values["region"] = branch[1]
        super().prepare(r)
        if r.desired.get("name") == "":
            r.reject(_("%(column)s is required.") % {"column": "name"})
        if "name" in r.desired:
            r.desired["name_search"] = search_key(r.desired["name"])
        user = self.run.user
        if user is not None and self.run.restricted:
            # Decision (docs/import.md): what a rep or manager imports without an owner is theirs,
            # otherwise it would vanish from their view; reps may not give customers away.
            owner = r.desired.get("owner_id")
            if owner is None:
                r.desired["owner_id"] = user.pk
            elif owner != user.pk and user.role != Role.MANAGER:
                r.reject(_("You can only import customers you own; leave owner empty or put your username."))
        if "tags" in r.values:
            r.extra["tags"] = r.values["tags"] or ()

    def compare_fields(self) -> list[str]:
        return [*super().compare_fields(), "name_search"]

    def check_existing(self, rows: list[Row], found: dict[Any, dict[str, Any]]) -> None:
        for r in rows:
            if r.key[0] == "i" and r.key not in found:
                r.reject(_("No customer with id %(id)s; give an external_id to create it.") % {"id": r.key[1]})
        # A merged customer's external id must not bring the merged customer back.
        missing = [r.key[1] for r in rows if r.key[0] == "e" and r.key not in found]
        if missing:
            merged = dict(
                CustomerMerge.objects.filter(merged_external_id__in=missing).values_list(
                    "merged_external_id", "kept_customer_id"
                )
            )
            for r in rows:
                if r.key[0] == "e" and r.key[1] in merged:
                    r.reject(
                        _("Customer %(ext)s was merged into customer %(id)s; update that customer instead.")
                        % {"ext": r.key[1], "id": merged[r.key[1]]}
                    )
        if self.run.restricted:
            visible = self.run.visible_ids(row["id"] for row in found.values())
            for r in rows:
                old = found.get(r.key)
                if old is not None and old["id"] not in visible:
                    r.reject(self.not_editable_message(r.key))
                    del found[r.key]
        if any("tags" in r.extra for r in rows):
            ids = [row["id"] for row in found.values()]
            through = Customer.tags.through
            current: dict[int, set[str]] = defaultdict(set)
            for chunk in _chunks(ids):
                for cid, name in through.objects.filter(customer_id__in=chunk).values_list("customer_id", "tag__name"):
                    current[cid].add(name)
            for row in found.values():
                row["_tags"] = tuple(sorted(current.get(row["id"], ())))

    def not_editable_message(self, key: Any) -> str:
        return _("%(column)s %(value)s belongs to a customer you cannot edit.") % {
            "column": "external_id" if key[0] == "e" else "id",
            "value": key[1],
        }

    def extra_changed(self, r: Row, old: dict[str, Any]) -> bool:
        return "tags" in r.extra and tuple(r.extra["tags"]) != old.get("_tags", ())

    def create_values(self, r: Row) -> dict[str, Any]:
        values = super().create_values(r)
        values["name_search"] = search_key(values["name"])
        user = self.run.user
        if values["owner_id"] is None and user is not None and self.run.restricted:
            values["owner_id"] = user.pk
        return values

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        changed = creates + updates
        self.run.touched_customers.update(r.extra["id"] for r in changed)
        tagged = [r for r in changed if "tags" in r.extra]
        if not tagged:
            return
        names = sorted({t for r in tagged for t in r.extra["tags"]})
        tag_ids = {t.name: t.pk for t in tag_get_or_create_many(names)} if names else {}
        through = Customer.tags.through
        remove: list[Q] = []
        add = []
        for r in tagged:
            want = set(r.extra["tags"])
            have = set(r.extra.get("old", {}).get("_tags", ()))
            cid = r.extra["id"]
            for name in have - want:
                remove.append(Q(customer_id=cid, tag__name=name))
            for name in sorted(want - have):
                add.append(through(customer_id=cid, tag_id=tag_ids[name]))
        for start in range(0, len(remove), 300):
            condition = Q()
            for q in remove[start : start + 300]:
                condition |= q
            through.objects.filter(condition).delete()
        through.objects.bulk_create(add, batch_size=2000)


# ---------------------------------------------------------------------------------------------
# Contacts


class ContactImporter(RecordImporter):
    kind = "contacts"
    model = Contact
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.CUSTOMER_EXTERNAL_ID,
        f.CUSTOMER_ID,
        f.spec("name", gettext_lazy("name"), f.model_text(Contact, "name")),
        f.spec("title", gettext_lazy("job title"), f.model_text(Contact, "title")),
        f.spec("email", gettext_lazy("email"), f.email),
        f.spec("phone", gettext_lazy("phone"), f.model_text(Contact, "phone")),
        f.spec("is_primary", gettext_lazy("primary contact"), f.boolean),
        f.spec("consent_email", gettext_lazy("consents to email"), f.boolean),
        f.spec("consent_survey", gettext_lazy("consents to surveys"), f.boolean),
    ]
    one_of = (("external_id", "id"), ("customer_external_id", "customer_id"))
    targets = {
        "name": ("name", ""),
        "title": ("title", ""),
        "email": ("email", ""),
        "phone": ("phone", ""),
        "is_primary": ("is_primary", False),
        "consent_email": ("consent_email", False),
        "consent_survey": ("consent_survey", False),
    }

    def process(self, rows: list[Row]) -> None:
        self._primary_in_batch: dict[int, int] = {}
        super().process(rows)

    def prepare(self, r: Row) -> None:
        super().prepare(r)
        if "name" in r.desired:
            r.desired["name_search"] = search_key(r.desired["name"])
        if r.desired.get("is_primary") and r.customer is not None:
            cid = r.customer[0]
            first = self.run.primary_contacts.get(cid) or self._primary_in_batch.get(cid)
            if first is not None:
                r.reject(
                    _("This customer already has a primary contact on line %(line)s; a customer has one.")
                    % {"line": first}
                )
            else:
                self._primary_in_batch[cid] = r.line

    def compare_fields(self) -> list[str]:
        return [*super().compare_fields(), "name_search"]

    def create_values(self, r: Row) -> dict[str, Any]:
        values = super().create_values(r)
        values["name_search"] = search_key(values["name"])
        return values

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        for r in rows:
            if r.desired.get("is_primary"):
                self.run.primary_contacts[r.desired["customer_id"]] = r.line
        primaries = {r.desired["customer_id"]: r.extra["id"] for r in creates + updates if r.desired.get("is_primary")}
        if primaries:
            # One primary contact per customer, as contact_create keeps it.
            condition = Q()
            for cid, pk in primaries.items():
                condition |= Q(customer_id=cid) & ~Q(pk=pk)
            Contact.objects.filter(condition, is_primary=True).update(is_primary=False, updated_at=self.run.now)


# ---------------------------------------------------------------------------------------------
# Products


class ProductImporter(RecordImporter):
    kind = "products"
    model = Product
    customer_scoped = False
    one_of = ()
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.spec("sku", gettext_lazy("SKU"), f.model_text(Product, "sku")),
        f.spec("name", gettext_lazy("name"), f.model_text(Product, "name")),
        f.spec("category", gettext_lazy("category"), f.model_text(Product, "category")),
        f.spec("list_price", gettext_lazy("list price"), f.money(), money=True),
        f.spec("unit_cost", gettext_lazy("unit cost"), f.money(), money=True),
        f.spec("currency", gettext_lazy("currency"), f.currency),
        f.spec("is_active", gettext_lazy("active"), f.boolean),
    ]
    targets = {
        "sku": ("sku", ""),
        "name": ("name", ""),
        "category": ("category", ""),
        "list_price": ("list_price", Decimal(0)),
        "unit_cost": ("unit_cost", Decimal(0)),
        "currency": ("currency", BASE_CURRENCY),
        "is_active": ("is_active", True),
    }

    @classmethod
    def permitted(cls, user: User | None) -> bool:
        """The catalogue is shared by everyone: administrators and managers maintain it."""
        if user is None or user.is_superuser:
            return True
        return user.is_active and user.role in {Role.ADMIN, Role.MANAGER}

    def keyed(self, rows: list[Row]) -> list[Row]:
        batch: dict[Any, int] = {}
        for r in rows:
            ext, pk, sku = r.values.get("external_id"), r.values.get("id"), r.values.get("sku")
            r.key = ("e", ext) if ext is not None else ("i", pk) if pk is not None else ("s", sku)
            for key in {r.key, ("s", sku)}:
                first = self.run.seen.get((self.kind, key)) or batch.get(key)
                if first is not None and key[1] is not None:
                    label = {"e": "external_id", "i": "id", "s": "sku"}[key[0]]
                    r.reject(
                        _("%(column)s %(value)s already appears on line %(line)s.")
                        % {"column": label, "value": key[1], "line": first}
                    )
                    break
            if not r.errors:
                batch[r.key] = r.line
                batch[("s", sku)] = r.line
        return ok(rows)

    def prepare(self, r: Row) -> None:
        self.money_currency(r, ["list_price", "unit_cost"], base_currency())
        super().prepare(r)

    def fetch_existing(self, rows: list[Row]) -> dict[Any, dict[str, Any]]:
        found = super().fetch_existing(rows)
        columns = ["id", "external_id", *self.compare_fields()]
        # A row with an unknown external id (or none) may name a product by its SKU.
        by_sku_rows = [r for r in rows if r.key not in found and not r.errors]
        skus = [r.values["sku"] for r in by_sku_rows]
        by_sku = {p["sku"]: p for p in Product.objects.filter(sku__in=skus).values(*columns)} if skus else {}
        for r in by_sku_rows:
            old = by_sku.get(r.values["sku"])
            if old is None:
                continue
            if r.key[0] == "e" and old["external_id"] not in (None, r.key[1]):
                r.reject(
                    _("SKU %(sku)s belongs to the product with external id %(ext)s.")
                    % {"sku": r.values["sku"], "ext": old["external_id"]}
                )
                continue
            if r.key[0] == "e":
                r.desired["external_id"] = r.key[1]
            found[r.key] = old
        # A SKU may move only to a SKU no other product has.
        moving = {r.values["sku"]: r for r in rows if r.key in found and found[r.key]["sku"] != r.values["sku"]}
        if moving:
            for sku, pk in Product.objects.filter(sku__in=list(moving)).values_list("sku", "pk"):
                r = moving[sku]
                if pk != found[r.key]["id"]:
                    r.reject(_("SKU %(sku)s belongs to another product.") % {"sku": sku})
                    del found[r.key]
        return found

    def check_existing(self, rows: list[Row], found: dict[Any, dict[str, Any]]) -> None:
        for r in rows:
            if r.key[0] == "i" and r.key not in found:
                r.reject(_("No product with id %(id)s; give an external_id to create it.") % {"id": r.key[1]})

    def create_values(self, r: Row) -> dict[str, Any]:
        values = super().create_values(r)
        if r.key[0] == "s":
            values["external_id"] = None
        return values

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        for r in rows:
            self.run.seen[(self.kind, ("s", r.values["sku"]))] = r.line


# ---------------------------------------------------------------------------------------------
# Interactions


class InteractionImporter(RecordImporter):
    kind = "interactions"
    model = Interaction
    one_of = (("external_id", "id"), ("customer_external_id", "customer_id"))
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.CUSTOMER_EXTERNAL_ID,
        f.CUSTOMER_ID,
        f.spec("contact_external_id", gettext_lazy("contact's external id"), f.text(100)),
        f.spec("channel", gettext_lazy("channel"), f.choice(ContactChannel.choices)),
        f.spec("direction", gettext_lazy("direction (in or out)"), f.model_choice(Interaction, "direction")),
        f.spec("subject", gettext_lazy("subject"), f.model_text(Interaction, "subject")),
        f.spec("body", gettext_lazy("notes"), f.text(100_000)),
        f.spec("occurred_at", gettext_lazy("occurred at"), f.moment),
        f.spec("handled_by", gettext_lazy("handled by (username)"), f.text(150)),
    ]
    targets = {
        "contact_external_id": ("contact_id", None),
        "channel": ("channel", ""),
        "direction": ("direction", Interaction.Direction.INBOUND),
        "subject": ("subject", ""),
        "body": ("body", ""),
        "occurred_at": ("occurred_at", None),
        "handled_by": ("handled_by_id", None),
    }

    def resolve(self, rows: list[Row]) -> None:
        run = self.run
        run.lookup(rows, "handled_by", "user", users_by_username, _("No user named %(value)s."))
        run.lookup(
            rows, "contact_external_id", "contact", contacts_by_external_id, _("No contact with external id %(value)s.")
        )
        for r in ok(rows):
            contact = r.values.get("contact_external_id")
            if isinstance(contact, tuple):
                if r.customer is not None and contact[1] != r.customer[0]:
                    r.reject(_("That contact belongs to another customer."))
                r.values["contact_external_id"] = contact[0]


# ---------------------------------------------------------------------------------------------
# Cost-to-serve events


class CostEventImporter(RecordImporter):
    kind = "cost_events"
    model = CostEvent
    one_of = (("external_id", "id"), ("customer_external_id", "customer_id"))
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.CUSTOMER_EXTERNAL_ID,
        f.CUSTOMER_ID,
        f.spec("kind", gettext_lazy("kind"), f.model_choice(CostEvent, "kind")),
        f.spec("amount", gettext_lazy("amount"), f.money(), money=True),
        f.spec("currency", gettext_lazy("currency"), f.currency),
        f.spec("occurred_at", gettext_lazy("occurred at"), f.moment),
        f.spec("note", gettext_lazy("note"), f.model_text(CostEvent, "note")),
    ]
    targets = {
        "kind": ("kind", ""),
        "amount": ("amount", Decimal(0)),
        "occurred_at": ("occurred_at", None),
        "note": ("note", ""),
    }

    def prepare(self, r: Row) -> None:
        self.money_currency(r, ["amount"], r.customer[1] if r.customer else None)
        super().prepare(r)

    def compare_fields(self) -> list[str]:
        return [*super().compare_fields(), "currency", "exchange_rate", "base_amount"]

    def _currency(self, r: Row, old: dict[str, Any] | None) -> str:
        if "currency" in r.desired:
            return str(r.desired["currency"])
        if old is not None:
            return str(old["currency"])  # no currency in the file: an update keeps the event's
        return str(r.extra.get("currency_default") or (r.customer[1] if r.customer else base_currency()))

    def check_existing(self, rows: list[Row], found: dict[Any, dict[str, Any]]) -> None:
        """Also convert each amount at the rate of its date: a row without a rate is an error."""
        super().check_existing(rows, found)
        live = ok(rows)
        book = RateBook((self._currency(r, found.get(r.key)), rate_day(r.desired["occurred_at"])) for r in live)
        for r in live:
            currency = self._currency(r, found.get(r.key))
            try:
                rate = book.rate(currency, rate_day(r.desired["occurred_at"]))
                r.desired["base_amount"] = to_base(r.desired["amount"], rate, currency)
            except ValidationError as exc:
                r.reject(" ".join(exc.messages))
                continue
            r.desired["exchange_rate"] = rate
            r.extra["currency"] = currency

    def create_values(self, r: Row) -> dict[str, Any]:
        values = super().create_values(r)
        values.setdefault("currency", r.extra["currency"])
        return values

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        affected = {r.desired["customer_id"] for r in creates + updates}
        affected |= {r.extra["old"]["customer_id"] for r in updates}
        if affected:
            customer_totals_refresh(affected)
            customers_changed.send(sender=CostEvent, customer_ids=sorted(affected))


# ---------------------------------------------------------------------------------------------
# Orders: one row per line, grouped into orders by the order's external id (or Patron's id).


class OrderImporter(Importer):
    kind = "orders"
    model = Order
    one_of = (("external_id", "id"), ("customer_external_id", "customer_id"))
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.CUSTOMER_EXTERNAL_ID,
        f.CUSTOMER_ID,
        f.spec("channel", gettext_lazy("channel"), f.choice(SalesChannel.choices)),
        f.spec("branch", gettext_lazy("branch (code)"), f.text(20)),
        f.spec("ordered_at", gettext_lazy("ordered at"), f.moment),
        f.spec("currency", gettext_lazy("currency"), f.currency),
        f.spec("line_no", gettext_lazy("line number"), f.positive_int),
        f.spec("product_sku", gettext_lazy("product SKU"), f.text(60)),
        f.spec("quantity", gettext_lazy("quantity"), f.quantity),
        f.spec("unit_price", gettext_lazy("unit price (default: the product's list price)"), f.money(), money=True),
        f.spec("unit_cost", gettext_lazy("unit cost (default: the product's unit cost)"), f.money(), money=True),
    ]

    ORDER_COLUMNS = (
        "id",
        "external_id",
        "customer_id",
        "channel",
        "branch_id",
        "ordered_at",
        "currency",
        "revenue",
        "cost_of_goods",
        "exchange_rate",
        "base_revenue",
        "base_cost_of_goods",
        "created_at",
        "updated_at",
    )
    LINE_COLUMNS = ("order_id", "line_no", "product_id", "quantity", "unit_price", "unit_cost", "amount")

    group_fields = ("external_id", "id")

    def fast_path(self, header: list[str], mapping: dict[str, str], file_format: str) -> Any:
        from patron.imports.fastpath import OrderLayout, orders_fast_batch

        layout = OrderLayout.build(header, mapping, self.fields()) if file_format == "csv" else None
        if layout is None:
            return None
        return lambda lines, rows: orders_fast_batch(self, layout, lines, rows)

    def process(self, rows: list[Row]) -> None:
        run = self.run
        live = rows
        for r in live:
            ext, pk = r.values.get("external_id"), r.values.get("id")
            if ext is not None:
                r.key = ("e", ext)
            elif pk is not None:
                r.key = ("i", pk)
            else:
                r.reject(
                    _("external_id is required (or Patron's id): it groups the lines of one order and lets a "
                      "re-run update the order instead of adding it twice.")
                )
        live = ok(live)
        run.resolve_customers(live)
        run.lookup(live, "product_sku", "product", products_by_sku, _("No product with SKU %(value)s."))
        run.lookup(live, "branch", "branch", branches_by_code, _("No branch with code %(value)s."))
        self._lines(ok(live))
        live = self._whole_orders(rows)
        existing, lines = self._existing(live)
        live = self._whole_orders(rows)
        self._write(live, existing, lines)

    # -- a row -> header and line ---------------------------------------------------------------

    def _lines(self, rows: list[Row]) -> None:
        run = self.run
        counters = run.order_lines
        self._load_fast_lines({r.key for r in rows if r.key in run.order_headers and r.key not in counters})
        batch_numbers: dict[Any, dict[int, int]] = defaultdict(dict)
        batch_headers: dict[Any, tuple[int, tuple[Any, ...]]] = {}
        base = base_currency()
        # Only money in another currency needs its day and a rate: the usual file needs neither.
        book = RateBook(
            (currency, rate_day(r.values["ordered_at"]))
            for r in rows
            if r.customer and (currency := r.values.get("currency") or r.customer[1]) != base
        )
        for r in rows:
            v = r.values
            assert r.customer is not None
            product = v["product_sku"]
            price = v.get("unit_price")
            cost = v.get("unit_cost")
            named = None
            if price is not None:
                price, named = price
            if cost is not None:
                cost, code = cost
                if code is not None and named is not None and code != named:
                    r.reject(_("The amounts name two currencies, %(a)s and %(b)s.") % {"a": named, "b": code})
                named = named or code
            currency = v.get("currency") or named or r.customer[1]
            if named is not None and v.get("currency") is not None and named != v["currency"]:
                r.reject(
                    _("%(column)s says %(declared)s but the amount is in %(named)s.")
                    % {"column": "currency", "declared": v["currency"], "named": named}
                )
            branch = v.get("branch")
            header = (r.customer[0], v["channel"], branch[0] if branch else None, v["ordered_at"], currency)
            first = run.order_headers.get(r.key) or batch_headers.get(r.key)
            if first is not None and first[1] != header:
                r.reject(
                    _("The order's columns (customer, channel, branch, time, currency) differ from its line on "
                      "line %(line)s.") % {"line": first[0]}
                )
            quantity = v["quantity"]
            unit_price = product[1] if price is None else price
            unit_cost = product[2] if cost is None else cost
            try:
                rate = ONE if currency == base else book.rate(currency, rate_day(v["ordered_at"]))
                if product[3] != currency and (price is None or cost is None):
                    # The product's price or cost in the order's currency (commerce.currency).
                    rate_from = book.rate(product[3], rate_day(v["ordered_at"]))
                    unit_price = cross(unit_price, rate_from, rate) if price is None else unit_price
                    unit_cost = cross(unit_cost, rate_from, rate) if cost is None else unit_cost
                if rate != ONE:
                    to_base((quantity * unit_price).quantize(CENT), rate, currency)  # fits once converted
            except ValidationError as exc:
                r.reject(" ".join(exc.messages))
                continue
            number = v.get("line_no")
            taken = batch_numbers[r.key]
            if number is None:
                number = max(counters.get(r.key, {}).keys() | taken.keys(), default=0) + 1
            previous = counters.get(r.key, {}).get(number) or taken.get(number)
            if previous is not None:
                r.reject(_("Line %(n)s of this order already appears on line %(line)s.") % {"n": number, "line": previous})
            if r.errors:
                continue
            taken[number] = r.line
            batch_headers.setdefault(r.key, (r.line, header))
            r.desired = {"header": header, "rate": rate}
            r.extra["line"] = (number, product[0], quantity, unit_price, unit_cost, (quantity * unit_price).quantize(CENT))

    def _load_fast_lines(self, keys: set[Any]) -> None:
        """Orders the columnar path created earlier in this run keep their line numbers in the
        database only; read them when later lines of the same order turn up."""
        exts = [k[1] for k in keys if k[0] == "e"]
        for key in keys:
            self.run.order_lines[key] = {}
        for chunk in _chunks(exts):
            for ext, number in OrderLine.objects.filter(order__external_id__in=chunk).values_list(
                "order__external_id", "line_no"
            ):
                key = ("e", ext)
                self.run.order_lines[key][number] = self.run.order_headers[key][0]

    def _whole_orders(self, rows: list[Row]) -> list[Row]:
        """An order lands whole: if one of its lines in this batch is rejected, all of them are."""
        bad: dict[Any, int] = {}
        for r in rows:
            if r.errors and r.key is not None and r.key not in bad:
                bad[r.key] = r.line
        for r in rows:
            if not r.errors and r.key in bad:
                r.reject(
                    _("Held back because line %(line)s of the same order was rejected; fix that line and import "
                      "both again.") % {"line": bad[r.key]}
                )
        return ok(rows)

    def _existing(self, rows: list[Row]) -> tuple[dict[Any, dict[str, Any]], dict[int, dict[int, tuple[Any, ...]]]]:
        keys = {r.key for r in rows}
        exts = [k[1] for k in keys if k[0] == "e"]
        ids = [k[1] for k in keys if k[0] == "i"]
        columns = ["id", "external_id", "customer_id", "channel", "branch_id", "ordered_at", "currency", "revenue",
                   "cost_of_goods", "exchange_rate", "base_revenue", "base_cost_of_goods"]
        found: dict[Any, dict[str, Any]] = {}
        for chunk in _chunks(exts):
            for row in Order.objects.filter(external_id__in=chunk).values(*columns):
                found[("e", row["external_id"])] = row
        for chunk in _chunks(ids):
            for row in Order.objects.filter(pk__in=chunk).values(*columns):
                found[("i", row["id"])] = row
        visible = self.run.visible_ids(o["customer_id"] for o in found.values())
        for r in rows:
            old = found.get(r.key)
            if r.key[0] == "i" and old is None:
                r.reject(_("No order with id %(id)s; give an external_id to create it.") % {"id": r.key[1]})
            elif old is not None and old["customer_id"] not in visible:
                r.reject(
                    _("Order %(order)s belongs to a customer you cannot edit.")
                    % {"order": r.key[1]}
                )
        lines: dict[int, dict[int, tuple[Any, ...]]] = defaultdict(dict)
        order_ids = [o["id"] for o in found.values()]
        for chunk in _chunks(order_ids):
            for pk, order_id, number, product, qty, price, cost, amount in OrderLine.objects.filter(
                order_id__in=chunk
            ).values_list("id", "order_id", "line_no", "product_id", "quantity", "unit_price", "unit_cost", "amount"):
                lines[order_id][number] = (pk, product, qty, price, cost, amount)
        return found, lines

    # -- writes ------------------------------------------------------------------------------

    def _write(self, rows: list[Row], existing: dict[Any, dict[str, Any]],
               lines: dict[int, dict[int, tuple[Any, ...]]]) -> None:
        run = self.run
        now = run.now
        groups: dict[Any, list[Row]] = {}
        for r in rows:
            groups.setdefault(r.key, []).append(r)
        new_keys = [k for k in groups if k not in existing]
        ids = writer.allocate_ids(Order, len(new_keys))
        order_rows: list[list[Any]] = []
        line_rows: list[list[Any]] = []
        order_updates: list[list[Any]] = []
        line_updates: list[list[Any]] = []
        affected: set[int] = set()
        for pk, key in zip(ids, new_keys, strict=True):
            group = groups[key]
            customer_id, channel, branch_id, ordered_at, currency = group[0].desired["header"]
            rate = group[0].desired["rate"]
            revenue = Decimal(0)
            cogs = Decimal(0)
            for r in group:
                number, product, qty, price, cost, amount = r.extra["line"]
                line_rows.append([pk, number, product, qty, price, cost, amount])
                revenue += amount
                cogs += (qty * cost).quantize(CENT)
                r.status = "created"
            order_rows.append(
                [pk, key[1] if key[0] == "e" else None, customer_id, channel, branch_id, ordered_at, currency,
                 revenue, cogs, rate, to_base(revenue, rate, currency), to_base(cogs, rate, currency), now, now]
            )
            affected.add(customer_id)
        for key, group in groups.items():
            old = existing.get(key)
            if old is None:
                continue
            header = group[0].desired["header"]
            old_header = (old["customer_id"], old["channel"], old["branch_id"], old["ordered_at"], old["currency"])
            rate = group[0].desired["rate"]
            # A new rate (an order that waited for one, a corrected rate) changes the order too.
            header_changed = header != old_header or rate != old["exchange_rate"]
            current = dict(lines.get(old["id"], {}))
            for r in group:
                number, product, qty, price, cost, amount = r.extra["line"]
                before = current.get(number)
                if before is None:
                    line_rows.append([old["id"], number, product, qty, price, cost, amount])
                    r.status = "created"
                elif before[1:] != (product, qty, price, cost, amount):
                    line_updates.append([product, qty, price, cost, amount, before[0]])
                    r.status = "updated"
                else:
                    r.status = "updated" if header_changed else "unchanged"
                current[number] = (before[0] if before else None, product, qty, price, cost, amount)
            revenue = sum((v[5] for v in current.values()), Decimal(0))
            cogs = sum(((v[2] * v[4]).quantize(CENT) for v in current.values()), Decimal(0))
            base = (to_base(revenue, rate, header[4]), to_base(cogs, rate, header[4]))
            if (header_changed or revenue != old["revenue"] or cogs != old["cost_of_goods"]
                    or base != (old["base_revenue"], old["base_cost_of_goods"])):
                order_updates.append([*header, revenue, cogs, rate, *base, now, old["id"]])
                affected.update({header[0], old["customer_id"]})
        writer.insert(Order, self.ORDER_COLUMNS, order_rows)
        writer.insert(OrderLine, self.LINE_COLUMNS, line_rows)
        writer.update(
            Order,
            ("customer_id", "channel", "branch_id", "ordered_at", "currency", "revenue", "cost_of_goods", "exchange_rate",
             "base_revenue", "base_cost_of_goods", "updated_at"),
            order_updates,
        )
        writer.update(OrderLine, ("product_id", "quantity", "unit_price", "unit_cost", "amount"), line_updates)
        if ids and not run.dry_run:
            orders_created(ids)
        if affected:
            customer_totals_refresh(affected)
            # One signal per batch: insights rescores these customers, as after order_create.
            customers_changed.send(sender=Order, customer_ids=sorted(affected))
        for key, group in groups.items():
            run.order_headers.setdefault(key, (group[0].line, group[0].desired["header"]))
            numbers = run.order_lines.setdefault(key, {})
            for r in group:
                numbers.setdefault(r.extra["line"][0], r.line)


# ---------------------------------------------------------------------------------------------
# Exchange rates: one row per (currency, date), upserted on that pair.


class RateImporter(Importer):
    kind = "rates"
    model = ExchangeRate
    one_of = ()
    specs = [
        f.spec("currency", gettext_lazy("currency"), f.currency),
        f.spec("date", gettext_lazy("date"), f.day),
        f.spec("rate", gettext_lazy("rate (units of the base currency for one unit)"), f.rate),
        f.spec("source", gettext_lazy("source"), f.model_text(ExchangeRate, "source")),
    ]

    @classmethod
    def permitted(cls, user: User | None) -> bool:
        """Rates change everyone's money: administrators only."""
        if user is None or user.is_superuser:
            return True
        return user.is_active and user.role == Role.ADMIN

    def process(self, rows: list[Row]) -> None:
        base = base_currency()
        batch: dict[Any, int] = {}
        live: list[Row] = []
        for r in ok(rows):
            item = RateInput(r.values["currency"], r.values["date"], r.values["rate"], r.values.get("source") or "")
            key = (item.currency, item.date)
            first = self.run.seen.get((self.kind, key)) or batch.get(key)
            if first is not None:
                r.reject(
                    _("%(currency)s on %(date)s already appears on line %(line)s.")
                    % {"currency": item.currency, "date": item.date.isoformat(), "line": first}
                )
                continue
            try:
                check_rate(item, base)
            except ValidationError as exc:
                r.reject(" ".join(exc.messages))
                continue
            batch[key] = r.line
            r.extra["rate"] = item
            live.append(r)
        # Orders and cost events that waited for these rates are converted with the batch.
        results = rates_save(rates=[r.extra["rate"] for r in live])
        for r, result in zip(live, results, strict=True):
            r.status = result.status
            self.run.seen[(self.kind, (result.rate.currency, result.rate.date))] = r.line


IMPORTERS: dict[str, type[Importer]] = {
    cls.kind: cls
    for cls in (
        CustomerImporter,
        ContactImporter,
        ProductImporter,
        OrderImporter,
        InteractionImporter,
        CostEventImporter,
        RateImporter,
    )
}
