"""An importer: the fields of one kind of record and what a batch of parsed rows does.

A row that cannot land gets an error and nothing of it is written; the engine runs each batch in
its own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext as _

from patron.core import bulk
from patron.core.columns import COLUMNS
from patron.core.models import User
from patron.customers.selectors import (
    changes_customers,
)
from patron.imports.fields import FieldSpec
from patron.imports.run import (
    MISSING,
    Row,
    RunState,
    chunks,
    default_value,
    ok,
)


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
        self.match_unkeyed([r for r in rows if r.values.get("external_id") is None and r.values.get("id") is None])
        for r in rows:
            ext, pk = r.values.get("external_id"), r.values.get("id")
            if ext is not None:
                r.key = ("e", ext)
            elif pk is not None:
                r.key = ("i", pk)
            elif r.errors:  # match_unkeyed refused it
                continue
            elif r.key is None:
                r.reject(self.no_key_message())
                continue
            first = self.run.seen.get((self.kind, r.key)) or batch.get(r.key)
            if first is not None:
                r.reject(self.duplicate_message(r.key, first))
                continue
            batch[r.key] = r.line
        return ok(rows)

    def match_unkeyed(self, rows: list[Row]) -> None:
        """Rows with neither external_id nor id: a kind that can match them another way sets
        their ``key`` here (or rejects them); the others are refused for want of a key."""

    def no_key_message(self) -> str:
        return _(
            "external_id is required (or Patron's id), so that importing the file again updates this "
            "record instead of adding it twice."
        )

    def duplicate_message(self, key: Any, line: int) -> str:
        label = {"e": "external_id", "i": "id"}.get(key[0], _("email or phone"))
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
                r.desired[attname] = default_value(default) if value is None else value
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
        for chunk in chunks(exts):
            for row in manager.filter(external_id__in=chunk).values(*columns):
                found[("e", row["external_id"])] = row
        for chunk in chunks(ids):
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
        return {attname: default_value(default) for attname, default in self.targets.values()}

    def create_values(self, r: Row) -> dict[str, Any]:
        values = self.target_defaults()
        values.update(r.desired)
        values["external_id"] = r.key[1] if r.key[0] == "e" else None
        return values

    def write(self, creates: list[Row], updates: list[Row]) -> None:
        now = self.run.now
        if creates:
            ids = bulk.allocate_ids(self.model, len(creates))
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
            bulk.insert(self.model, columns, [[v.get(c, defaults.get(c)) for c in columns] for v in prepared])
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
                bulk.update(self.model, columns, data)

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        """Work that follows the batch's writes (tags, totals)."""
