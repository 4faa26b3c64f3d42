"""A columnar path for clean batches of new order lines.

Most of an order import's time would otherwise go to per-row Python work. Here a batch of CSV
rows is transposed into columns; each column is dictionary-encoded by pyarrow, and only its
distinct values go through the same field parsers the row path uses (an order's time, its SKUs,
quantities and prices repeat). References are resolved per distinct value, checks (every
required cell, one header per order, unique line numbers) run on integer codes with numpy, and
the rows to write are assembled by C-level gathers and ``zip``.

The path takes a batch only if the row path would create every order in it without a single
error: anything else (a blank or unparseable cell, an unknown customer, product or branch, an
order that already exists or appeared in an earlier batch, amounts with currency symbols, a
row with the wrong number of cells, an order in another currency with no exchange rate for its day)
returns ``None`` and the engine runs the row path on the same batch, which reports each problem
with its line. Tests compare both paths on the same files.

Money: a batch all in the base currency needs no conversion (rate 1). Otherwise the rates of the
batch's (currency, day) pairs are loaded once, each order's sums are converted
(``commerce.currency``), and the few lines that take a price from a product in another currency
than their order get their own converted signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.core.exceptions import ValidationError
from django.db import connection

from patron.commerce.bulk import customers_recount, orders_insert
from patron.commerce.currency import ONE, RateBook, check_base_currency, cross, rate_day, to_base
from patron.commerce.models import Order
from patron.core import bulk
from patron.core.cells import APOSTROPHE
from patron.imports.events import orders_created
from patron.imports.fields import FieldSpec, ParseContext
from patron.imports.parsing import ParseError, as_text
from patron.imports.run import RunState

CENT = Decimal("0.01")


class _Fallback(Exception):
    """This batch needs the row path."""


@dataclass
class OrderLayout:
    """Where each mapped field of the orders file is, fixed for a run."""

    width: int
    positions: dict[str, int]
    specs: dict[str, FieldSpec]
    # Parsed distinct values, kept across batches (prices, SKUs and channels recur); bounded.
    memo: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, header: list[str], mapping: dict[str, str], specs: dict[str, FieldSpec]) -> OrderLayout | None:
        positions = {field: header.index(column) for column, field in mapping.items()}
        # The columnar path needs the order's and the customer's external ids.
        if "external_id" not in positions or "customer_external_id" not in positions:
            return None
        return cls(width=len(header), positions=positions, specs=specs)


class _Column:
    """A dictionary-encoded column: ``codes[i]`` indexes ``values`` (parsed distinct cells)."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: list[Any]) -> None:
        self.codes = codes
        self.values = values

    def row_values(self) -> list[Any]:
        table = np.empty(len(self.values), dtype=object)
        table[:] = self.values
        return table[self.codes].tolist()


_BAD = object()


def _plain_text(distinct: pa.Array, spec: FieldSpec) -> list[str] | None:
    """The distinct values of a text field that the field's parser would return unchanged (no
    surrounding spaces, no apostrophe in front, within its length), checked in C; None if any is not."""
    limit = getattr(spec.parse, "max_length", None)
    if limit is None:
        return None
    if len(distinct) and pc.max(pc.utf8_length(distinct)).as_py() > limit:
        return None
    values = distinct.to_pylist()
    # str.strip, exactly as the parser strips (Arrow's idea of whitespace is narrower).
    if values != [v.strip() for v in values] or any(v.startswith(APOSTROPHE) for v in values):
        return None
    return values


def _encode(cells: Sequence[str], spec: FieldSpec, ctx: ParseContext, memo: dict[str, Any], *,
            required: bool) -> _Column:
    encoded = pa.array(cells, type=pa.string()).dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    plain = _plain_text(encoded.dictionary, spec)
    if plain is not None:
        if "" in plain:
            if required:
                raise _Fallback
            plain = [v or None for v in plain]  # type: ignore[misc]  # empty text stands for a missing value
        return _Column(codes, plain)
    distinct = encoded.dictionary.to_pylist()
    values: list[Any] = []
    if len(memo) > 100_000:
        memo.clear()
    for raw in distinct:
        value = memo.get(raw, _BAD)
        if value is _BAD:
            if not as_text(raw):
                value = None
            else:
                try:
                    value = spec.parse(raw, ctx)
                except ParseError:
                    raise _Fallback from None
            memo[raw] = value
        if value is None and required:
            raise _Fallback
        values.append(value)
    return _Column(codes, values)


def _blank_everywhere(cells: Sequence[str]) -> bool:
    return all(not c.strip() for c in set(cells))


def orders_fast_batch(run: RunState, layout: OrderLayout, lines: list[int], rows: list[list[Any]]) -> int | None:
    """Create the orders of a clean batch and return the number of lines, or None to fall back."""
    try:
        return _run(run, layout, lines, rows)
    except _Fallback:
        return None


def _run(run: RunState, layout: OrderLayout, lines_list: list[int], rows: list[list[Any]]) -> int:
    n = len(rows)
    if not n or set(map(len, rows)) != {layout.width}:
        raise _Fallback
    columns = list(zip(*rows, strict=True))
    pos = layout.positions
    spec = layout.specs
    ctx = run.ctx

    def encode(name: str, *, required: bool) -> _Column:
        return _encode(columns[pos[name]], spec[name], ctx, layout.memo.setdefault(name, {}), required=required)

    def col(name: str) -> Sequence[str]:
        return columns[pos[name]]

    for name in ("id", "customer_id"):
        if name in pos and not _blank_everywhere(col(name)):
            raise _Fallback
    key = encode("external_id", required=True)
    customer = encode("customer_external_id", required=True)
    channel = encode("channel", required=True)
    ordered_at = encode("ordered_at", required=True)
    sku = encode("product_sku", required=True)
    quantity = encode("quantity", required=True)
    branch = encode("branch", required=False) if "branch" in pos else None
    currency = encode("currency", required=False) if "currency" in pos else None
    line_no = encode("line_no", required=False) if "line_no" in pos else None
    price = encode("unit_price", required=False) if "unit_price" in pos else None
    cost = encode("unit_cost", required=False) if "unit_cost" in pos else None
    for money in (price, cost):
        # Amounts that name a currency go through the row path, which checks them.
        if money is not None and any(v is not None and v[1] is not None for v in money.values):
            raise _Fallback

    # -- references, per distinct value -----------------------------------------------------
    keys = key.values
    if any(("e", k) in run.order_headers for k in keys):
        raise _Fallback  # lines of an order seen in an earlier batch: the row path merges them
    if _existing_orders(keys):
        raise _Fallback
    customers = run.customers_by_external_id(set(customer.values))
    resolved_customers = [customers.get(ext) for ext in customer.values]
    if any(c is None for c in resolved_customers):
        raise _Fallback
    products = run.products_by_sku(set(sku.values))
    resolved_products = [products.get(s) for s in sku.values]
    if any(p is None for p in resolved_products):
        raise _Fallback
    branch_ids: list[Any] = [None]
    if branch is not None:
        branches = run.branches_by_code({b for b in branch.values if b is not None})
        branch_ids = [None if b is None else (branches.get(b) or (None,))[0] for b in branch.values]
        if any(b is not None and i is None for b, i in zip(branch.values, branch_ids, strict=True)):
            raise _Fallback

    # -- one header per order ----------------------------------------------------------------
    n_orders = len(keys)
    _unique_codes, first_index = np.unique(key.codes, return_index=True)
    first_of_row = first_index[key.codes]
    header_columns = [customer, channel, ordered_at] + [c for c in (branch, currency) if c is not None]
    for column in header_columns:
        if np.any(column.codes[first_of_row] != column.codes):
            raise _Fallback

    # -- line numbers ------------------------------------------------------------------------
    if line_no is not None and any(v is not None for v in line_no.values):
        if any(v is None for v in line_no.values):
            raise _Fallback  # some lines numbered, some not: the row path numbers them in order
        numbers = np.array(line_no.values, dtype=np.int64)[line_no.codes]
        combined = key.codes * (int(numbers.max()) + 1) + numbers
        if np.unique(combined).size != n:
            raise _Fallback
    else:
        order = np.argsort(key.codes, kind="stable")
        sorted_codes = key.codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
        numbers = np.empty(n, dtype=np.int64)
        numbers[order] = np.arange(n) - group_start + 1

    # -- each order's currency and the rates of its day ------------------------------------
    def per_order(column: _Column, values: list[Any] | None = None) -> list[Any]:
        table = np.empty(len(column.values), dtype=object)
        table[:] = column.values if values is None else values
        return table[column.codes[first_index]].tolist()

    order_customers = per_order(customer, resolved_customers)
    customer_ids = [c[0] for c in order_customers]
    if currency is not None:
        currencies = [cur or c[1] for cur, c in zip(per_order(currency), order_customers, strict=True)]
    else:
        currencies = [c[1] for c in order_customers]
    moments = per_order(ordered_at)
    base = check_base_currency()
    cross_rows = _cross_currency_rows(currencies, key, sku, price, cost, resolved_products)
    converting = set(currencies) != {base} or cross_rows.size > 0
    days = {m: rate_day(m) for m in set(moments)} if converting else {}
    wanted = [(c, days[m]) for c, m in zip(currencies, moments, strict=True) if c != base] if converting else []
    order_of_row = key.codes
    wanted += [(resolved_products[sku.codes[i]][3], days[moments[order_of_row[i]]]) for i in cross_rows.tolist()]
    book = RateBook(wanted) if wanted else None

    def rate(currency_code: str, moment: Any) -> Decimal:
        if currency_code == base:
            return ONE
        assert book is not None
        found = book.find(currency_code, days[moment])
        if found is None:
            raise _Fallback  # the row path reports the missing rate on each line
        return found

    # -- lines: quantities, prices, amounts per distinct (product, quantity, price, cost) --------
    # One integer per distinct (product, quantity, price, cost): a mixed-radix number of the codes.
    radix = [len(sku.values), len(quantity.values), len(price.values) if price else 1, len(cost.values) if cost else 1]
    combined = sku.codes.copy()
    for codes, radix_base in ((quantity.codes, radix[1]), (price.codes if price else None, radix[2]),
                              (cost.codes if cost else None, radix[3])):
        combined = combined * radix_base + (codes if codes is not None else 0)
    distinct, inverse = np.unique(combined, return_inverse=True)
    inverse = inverse.reshape(-1)
    signatures = []
    for value in distinct.tolist():
        value, c = divmod(value, radix[3])
        value, p = divmod(value, radix[2])
        s, q = divmod(value, radix[1])
        signatures.append((s, q, p, c))
    sig_product: list[int] = []
    sig_text: list[tuple[str, str, str, str]] = []
    sig_cents: list[int] = []
    sig_cogs_cents: list[int] = []

    def add_signature(product_id: int, qty: Decimal, unit_price: Decimal, line_cost: Decimal) -> None:
        amount = (qty * unit_price).quantize(CENT)
        sig_product.append(product_id)
        sig_text.append((str(qty), str(unit_price), str(line_cost), str(amount)))
        sig_cents.append(int(amount.scaleb(2)))
        sig_cogs_cents.append(int((qty * line_cost).quantize(CENT).scaleb(2)))

    def explicit(column: _Column | None, code: int) -> Decimal | None:
        return None if column is None or column.values[code] is None else column.values[code][0]

    for s, q, p, c in signatures:
        product_id, list_price, unit_cost, _currency = resolved_products[s]
        unit_price, line_cost = explicit(price, p), explicit(cost, c)
        add_signature(product_id, quantity.values[q], list_price if unit_price is None else unit_price,
                      unit_cost if line_cost is None else line_cost)
    # Lines of an order in another currency than their product's that take the product's price
    # or cost: that price converted at the order's day (commerce.currency), one signature each.
    for i in cross_rows.tolist():
        s, q, p, c = signatures[inverse[i]]
        product_id, list_price, unit_cost, product_currency = resolved_products[s]
        order = order_of_row[i]
        rate_from, rate_to = rate(product_currency, moments[order]), rate(currencies[order], moments[order])
        unit_price, line_cost = explicit(price, p), explicit(cost, c)
        add_signature(
            product_id,
            quantity.values[q],
            cross(list_price, rate_from, rate_to) if unit_price is None else unit_price,
            cross(unit_cost, rate_from, rate_to) if line_cost is None else line_cost,
        )
        inverse[i] = len(sig_product) - 1
    cents = np.array(sig_cents, dtype=np.int64)
    cogs_of_sig = np.array(sig_cogs_cents, dtype=np.int64)
    revenue_cents = np.zeros(n_orders, dtype=np.int64)
    cogs_cents = np.zeros(n_orders, dtype=np.int64)
    np.add.at(revenue_cents, key.codes, cents[inverse])
    np.add.at(cogs_cents, key.codes, cogs_of_sig[inverse])

    # -- orders ------------------------------------------------------------------------------
    revenues = [Decimal(int(c)).scaleb(-2) for c in revenue_cents.tolist()]
    costs_of_goods = [Decimal(int(c)).scaleb(-2) for c in cogs_cents.tolist()]
    if converting:
        rates = [rate(c, m) for c, m in zip(currencies, moments, strict=True)]
        try:
            base_revenues = [to_base(v, r, c) for v, r, c in zip(revenues, rates, currencies, strict=True)]
            base_costs = [to_base(v, r, c) for v, r, c in zip(costs_of_goods, rates, currencies, strict=True)]
        except ValidationError:
            raise _Fallback from None
    else:  # the common case: everything in the base currency
        rates, base_revenues, base_costs = [ONE] * n_orders, revenues, costs_of_goods
    ids = bulk.allocate_ids(Order, n_orders)
    now = run.now
    lines = np.array(lines_list, dtype=np.int64)
    branches_of_orders = per_order(branch, branch_ids) if branch is not None else [None] * n_orders
    channels = per_order(channel)
    order_rows = list(zip(
        ids, keys, customer_ids, channels, branches_of_orders, moments, currencies, revenues, costs_of_goods,
        rates, base_revenues, base_costs, [now] * n_orders, [now] * n_orders, strict=True,
    ))
    headers = zip(customer_ids, channels, branches_of_orders, moments, currencies, strict=True)
    run.order_headers.update(
        zip([("e", k) for k in keys], zip(lines[first_index].tolist(), headers, strict=True), strict=True)
    )
    affected = set(customer_ids)

    product_of_sig = np.array(sig_product, dtype=np.int64)
    order_ids = np.array(ids, dtype=np.int64)[key.codes]
    if connection.vendor == "postgresql":
        # The lines go to COPY as one CSV block written by Arrow: no Python object per cell.
        signature = pa.array(inverse.astype(np.int32))
        table = pa.table({
            "order_id": order_ids,
            "line_no": numbers,
            "product_id": product_of_sig[inverse],
            **{
                name: pa.DictionaryArray.from_arrays(signature, pa.array([t[i] for t in sig_text], type=pa.string()))
                for i, name in enumerate(("quantity", "unit_price", "unit_cost", "amount"))
            },
        })
        orders_insert(order_rows, table)
    else:
        text = np.empty((len(sig_text), 4), dtype=object)
        text[:] = sig_text
        line_rows = list(zip(
            order_ids.tolist(),
            numbers.tolist(),
            product_of_sig[inverse].tolist(),
            text[inverse, 0].tolist(),
            text[inverse, 1].tolist(),
            text[inverse, 2].tolist(),
            text[inverse, 3].tolist(),
            strict=True,
        ))
        orders_insert(order_rows, line_rows)
    orders_created(ids)
    customers_recount(affected, sender=Order)
    return n


def _cross_currency_rows(currencies: list[str], key: _Column, sku: _Column, price: _Column | None,
                         cost: _Column | None, products: list[Any]) -> np.ndarray:
    """Rows whose order is in another currency than their product and that take the product's
    price or cost (a blank or absent cell): their price is converted row by row."""
    product_currency = np.array([p[3] for p in products], dtype=object)[sku.codes]
    if len(set(currencies)) == 1 and (product_currency == currencies[0]).all():
        return np.zeros(0, dtype=np.int64)
    order_currency = np.array(currencies, dtype=object)[key.codes]
    takes = np.zeros(len(key.codes), dtype=bool)
    for column in (price, cost):
        if column is None:
            takes[:] = True
        else:
            takes |= np.array([v is None for v in column.values], dtype=bool)[column.codes]
    return np.flatnonzero(takes & (order_currency != product_currency))


def _existing_orders(keys: list[str]) -> bool:
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array parameter instead of thousands of placeholders.
            cursor.execute(f"SELECT 1 FROM {table} WHERE external_id = ANY(%s) LIMIT 1", [keys])  # noqa: S608
            return cursor.fetchone() is not None
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT 1 FROM {table} WHERE external_id IN ({marks}) LIMIT 1", chunk)  # noqa: S608
            if cursor.fetchone() is not None:
                return True
    return False
