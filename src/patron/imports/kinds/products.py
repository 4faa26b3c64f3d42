"""Products, upserted on their SKU (or external id)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.commerce.models import Product
from patron.core.models import User, base_currency
from patron.core.roles import is_admin, is_manager
from patron.imports import fields as f
from patron.imports.kinds.base import RecordImporter
from patron.imports.run import (
    BASE_CURRENCY,
    Row,
    ok,
)


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
        return user.is_active and (is_admin(user) or is_manager(user))

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
