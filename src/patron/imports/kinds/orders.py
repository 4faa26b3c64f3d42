"""Orders: one row per line, grouped into orders by the order's external id (or Patron's id)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.commerce.bulk import customers_recount, orders_insert, orders_update
from patron.commerce.currency import (
    ONE,
    RateBook,
    cross,
    rate_day,
    to_base,
)
from patron.commerce.models import Order, OrderLine
from patron.core import bulk
from patron.core.choices import SalesChannel
from patron.core.models import base_currency
from patron.imports import fastpath
from patron.imports import fields as f
from patron.imports.events import orders_created
from patron.imports.kinds.base import Importer
from patron.imports.run import (
    CENT,
    Row,
    branches_by_code,
    chunks,
    ok,
    products_by_sku,
)


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

    group_fields = ("external_id", "id")

    def fast_path(self, header: list[str], mapping: dict[str, str], file_format: str) -> Any:
        layout = fastpath.OrderLayout.build(header, mapping, self.fields()) if file_format == "csv" else None
        if layout is None:
            return None
        return lambda lines, rows: fastpath.orders_fast_batch(self.run, layout, lines, rows)

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
        for chunk in chunks(exts):
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
        for chunk in chunks(exts):
            for row in Order.objects.filter(external_id__in=chunk).values(*columns):
                found[("e", row["external_id"])] = row
        for chunk in chunks(ids):
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
        for chunk in chunks(order_ids):
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
        ids = bulk.allocate_ids(Order, len(new_keys))
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
        orders_insert(order_rows, line_rows)
        orders_update(order_updates, line_updates)
        if ids and not run.dry_run:
            orders_created(ids)
        customers_recount(affected, sender=Order)  # once per batch, as order_create does per order
        for key, group in groups.items():
            run.order_headers.setdefault(key, (group[0].line, group[0].desired["header"]))
            numbers = run.order_lines.setdefault(key, {})
            for r in group:
                numbers.setdefault(r.extra["line"][0], r.line)
