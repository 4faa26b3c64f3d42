"""Batch ingestion: thousands of orders or events per call, with a result per item.

Each item is checked on its own (references, duplicates, amounts); the good ones are written
together in one transaction by the commerce app's bulk writer (``commerce.bulk.orders_add``: ids
allocated up front, COPY on PostgreSQL, executemany on SQLite), and the customers' running totals
move by one set-based UPDATE per chunk of customers, so the customer list and the 360° page show
the new figures as soon as the call returns. A bad item never stops the others; nothing is half
written: an item's order and lines land together or not at all.

Idempotent on ``external_id``: an item whose external id already exists (or appeared earlier in
the same batch) is reported as ``duplicate`` and changes nothing.

Money in another currency than the base is converted at the rate of the item's date, loaded for
the whole batch at once (``commerce.currency.RateBook``); an item with no rate for its date is an
item error (``missing_rate``), never summed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.commerce.bulk import cost_events_add, orders_add
from patron.commerce.currency import (
    ONE,
    MissingRateError,
    RateBook,
    check_base_currency,
    cross,
    rate_day,
    to_base,
)
from patron.commerce.models import CostEvent, Order, OrderLine, Product
from patron.commerce.schemas import CostEventIn, OrderIn, order_data
from patron.core import bulk, events
from patron.core.audit import audit_bulk, id_ranges
from patron.core.models import Branch, User
from patron.customers.models import Contact
from patron.customers.selectors import visible_customers
from patron.engagement.models import Interaction
from patron.engagement.schemas import InteractionIn

CENT = Decimal("0.01")
IN_CHUNK = 5000  # ids per IN (...) list: below SQLite's variable limit


_gc_lock = threading.Lock()
_gc_pausers = 0


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch is parsed and written.

    A batch allocates hundreds of thousands of small objects, which sets off full collections
    that walk the whole heap (Django, and pandas once insights is loaded) — measured at a fifth
    of a 5,000-order request. The batch's objects hold no reference cycles; reference counting
    frees them, and collection resumes when the last concurrent batch ends.
    """
    global _gc_pausers
    with _gc_lock:
        if _gc_pausers == 0 and not gc.isenabled():
            _gc_pausers = -1  # disabled by someone else: leave it alone
        if _gc_pausers >= 0:
            _gc_pausers += 1
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            if _gc_pausers > 0:
                _gc_pausers -= 1
                if _gc_pausers == 0:
                    gc.enable()
            elif _gc_pausers == -1:
                _gc_pausers = 0


@dataclass
class ItemResult:
    index: int
    status: str  # "created", "duplicate" or "error"
    id: int | None = None
    external_id: str | None = None
    code: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def error(index: int, code: str, message: str, external_id: str | None = None) -> ItemResult:
    return ItemResult(index, "error", external_id=external_id, code=code, message=message)


def _chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _in(field: str, values: Sequence[Any], sql_type: str) -> Q:
    """``field IN values``; on PostgreSQL as one array parameter (``IN (SELECT unnest(%s))``)
    instead of thousands of placeholders, which cost more to build than the lookup itself."""
    if connection.vendor == "postgresql":
        # The type is a constant from this module; the values travel as a parameter.
        return Q(**{f"{field}__in": RawSQL(f"SELECT unnest(%s::{sql_type}[])", [list(values)])})  # noqa: S611
    return Q(**{f"{field}__in": values})


@dataclass(frozen=True)
class _CustomerRef:
    pk: int
    external_id: str | None
    currency: str


class _Customers:
    """The customers a batch refers to, loaded in bulk, restricted to what ``user`` may see."""

    def __init__(self, user: User, ids: set[int], external_ids: set[str]) -> None:
        self.by_id: dict[int, _CustomerRef] = {}
        self.by_external_id: dict[str, _CustomerRef] = {}
        visible = visible_customers(user)
        for chunk in _chunks(sorted(ids)):
            for pk, ext, cur in visible.filter(_in("pk", chunk, "bigint")).values_list("pk", "external_id", "currency"):
                self.by_id[pk] = _CustomerRef(pk, ext, cur)
        for chunk in _chunks(sorted(external_ids)):
            for pk, ext, cur in visible.filter(_in("external_id", chunk, "text")).values_list(
                "pk", "external_id", "currency"
            ):
                if ext:
                    self.by_external_id[ext] = _CustomerRef(pk, ext, cur)

    def get(self, customer_id: int | None, external_id: str | None) -> _CustomerRef | None:
        if customer_id is not None:
            return self.by_id.get(customer_id)
        return self.by_external_id.get(external_id or "")


def _rates_for(items: Sequence[Any], customers: _Customers) -> RateBook:
    """The rates the batch's items in another currency than the base need, in one load."""
    base = check_base_currency()
    wanted = []
    for item in items:
        customer = customers.get(item.customer_id, item.customer_external_id)
        currency = item.currency or (customer.currency if customer else base)
        if currency != base:
            wanted.append((currency, rate_day(item.occurred_at if isinstance(item, CostEventIn) else item.ordered_at)))
    return RateBook(wanted)


def _missing_rate(index: int, exc: MissingRateError, external_id: str | None) -> ItemResult:
    return error(index, "missing_rate", " ".join(exc.messages), external_id)


def _customers_for(user: User, items: Sequence[Any]) -> _Customers:
    return _Customers(
        user,
        {i.customer_id for i in items if i.customer_id is not None},
        {i.customer_external_id for i in items if i.customer_external_id},
    )


def _existing_external_ids(
    model: type[Order | CostEvent | Interaction], external_ids: set[str], user: User
) -> dict[str, int | None]:
    """The records that already have these external ids: {external id: pk, or None if not visible}."""
    found: dict[str, tuple[int, int]] = {}
    for chunk in _chunks(sorted(external_ids)):
        for ext, pk, customer_id in model._default_manager.filter(_in("external_id", chunk, "text")).values_list(
            "external_id", "pk", "customer_id"
        ):
            if ext:
                found[ext] = (pk, customer_id)
    if not found:
        return {}
    owners = sorted({customer_id for _pk, customer_id in found.values()})
    visible: set[int] = set()
    for chunk in _chunks(owners):
        visible.update(visible_customers(user).filter(_in("pk", chunk, "bigint")).values_list("pk", flat=True))
    # A duplicate of someone else's record is reported without its id, so ids do not leak.
    return {ext: (pk if customer_id in visible else None) for ext, (pk, customer_id) in found.items()}


def _audit_batch(action: str, object_type: str, written: list[ItemResult], customer_ids: set[int]) -> None:
    """One audit entry per API batch, in its transaction (not one per item)."""
    if written:
        audit_bulk(
            action, object_type=object_type, ids=[r.id for r in written if r.id is not None],
            details={"customer_ids": id_ranges(customer_ids)},
        )


def _write_once_or_recheck(write: Callable[[], list[ItemResult]], recheck: Callable[[], None]) -> list[ItemResult]:
    """Run ``write`` in a transaction; if a concurrent call inserted the same external id first
    (unique violation), re-check duplicates and try once more."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError:
        recheck()
        with transaction.atomic():
            return write()


# ---------------------------------------------------------------- orders


@dataclass
class _Line:
    line_no: int
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    amount: Decimal


@dataclass
class _PlannedOrder:
    """An order checked and priced, ready to write (plain values: no model instances to build)."""

    index: int
    item: OrderIn
    customer: _CustomerRef
    branch_id: int | None
    currency: str
    revenue: Decimal
    cogs: Decimal
    rate: Decimal
    base_revenue: Decimal
    base_cogs: Decimal
    lines: list[_Line]
    skus: dict[int, str]
    pk: int | None = None


def orders_ingest(*, user: User, items: Sequence[tuple[int, OrderIn]]) -> list[ItemResult]:
    """Create the orders ``items`` (index, parsed item) describe; one result per item, by index."""
    results: dict[int, ItemResult] = {}
    parsed = [item for _i, item in items]
    customers = _customers_for(user, parsed)
    products = _products_for(parsed)
    rates = _rates_for(parsed, customers)
    branches = dict(
        Branch.objects.filter(code__in={i.branch for i in parsed if i.branch}).values_list("code", "pk")
    )

    def plan() -> list[_PlannedOrder]:
        existing = _existing_external_ids(Order, {i.external_id for i in parsed if i.external_id}, user)
        seen: set[str] = set()
        planned: list[_PlannedOrder] = []
        for index, item in items:
            if index in results and results[index].status != "duplicate":
                continue
            ext = item.external_id
            if ext and (ext in existing or ext in seen):
                results[index] = ItemResult(index, "duplicate", id=existing.get(ext), external_id=ext)
                continue
            outcome = _plan_order(index, item, customers, products, branches, rates)
            if isinstance(outcome, ItemResult):
                results[index] = outcome
                continue
            if ext:
                seen.add(ext)
            planned.append(outcome)
        return planned

    planned = plan()

    def write() -> list[ItemResult]:
        written = _write_orders(planned, results)
        _audit_batch("ingest.orders", "order", written, {p.customer.pk for p in planned})
        return written

    def recheck() -> None:
        nonlocal planned
        planned = plan()

    _write_once_or_recheck(write, recheck)
    return [results[index] for index, _item in items]


def _products_for(items: Sequence[OrderIn]) -> dict[tuple[str, Any], tuple[int, str, Decimal, Decimal, str]]:
    ids, exts, skus = set(), set(), set()
    for item in items:
        for line in item.lines:
            if line.product_id is not None:
                ids.add(line.product_id)
            elif line.product_external_id is not None:
                exts.add(line.product_external_id)
            elif line.product_sku is not None:
                skus.add(line.product_sku)
    found: dict[tuple[str, Any], tuple[int, str, Decimal, Decimal, str]] = {}
    fields = ("pk", "external_id", "sku", "list_price", "unit_cost", "currency")
    for key, values in (("pk", ids), ("external_id", exts), ("sku", skus)):
        for chunk in _chunks(sorted(values)):
            for pk, ext, sku, price, cost, cur in Product.objects.filter(**{f"{key}__in": chunk}).values_list(*fields):
                ref = {"pk": pk, "external_id": ext, "sku": sku}[key]
                found[(key, ref)] = (pk, sku, price, cost, cur)
    return found


def _plan_order(
    index: int,
    item: OrderIn,
    customers: _Customers,
    products: dict[tuple[str, Any], tuple[int, str, Decimal, Decimal, str]],
    branches: dict[str, int],
    rates: RateBook,
) -> _PlannedOrder | ItemResult:
    ext = item.external_id
    customer = customers.get(item.customer_id, item.customer_external_id)
    if customer is None:
        ref = item.customer_id if item.customer_id is not None else item.customer_external_id
        return error(index, "unknown_customer", _("There is no customer %(ref)s.") % {"ref": ref}, ext)
    branch_id = None
    if item.branch:
        branch_id = branches.get(item.branch)
        if branch_id is None:
            return error(index, "unknown_branch", _("There is no branch with code %(code)s.") % {"code": item.branch}, ext)
    lines: list[_Line] = []
    skus: dict[int, str] = {}
    revenue = cogs = Decimal(0)
    currency = item.currency or customer.currency
    try:
        rate = rates.rate(currency, rate_day(item.ordered_at)) if currency != rates.base else ONE
    except MissingRateError as exc:
        return _missing_rate(index, exc, ext)
    for number, line in enumerate(item.lines, start=1):
        if line.product_id is not None:
            key: tuple[str, Any] = ("pk", line.product_id)
        elif line.product_external_id is not None:
            key = ("external_id", line.product_external_id)
        else:
            key = ("sku", line.product_sku)
        product = products.get(key)
        if product is None:
            return error(
                index,
                "unknown_product",
                _("Line %(n)s: there is no product %(ref)s.") % {"n": number, "ref": key[1]},
                ext,
            )
        product_id, sku, list_price, unit_cost, product_currency = product
        skus[product_id] = sku
        price = list_price if line.unit_price is None else line.unit_price
        cost = unit_cost if line.unit_cost is None else line.unit_cost
        if product_currency != currency and (line.unit_price is None or line.unit_cost is None):
            # As commerce.services.build_lines: the product's price in the order's currency.
            try:
                rate_from = rates.rate(product_currency, rate_day(item.ordered_at))
            except MissingRateError as exc:
                return _missing_rate(index, exc, ext)
            price = cross(price, rate_from, rate) if line.unit_price is None else price
            cost = cross(cost, rate_from, rate) if line.unit_cost is None else cost
        # The same arithmetic as commerce.services.build_lines, so both paths give equal totals.
        amount = (line.quantity * price).quantize(CENT)
        revenue += amount
        cogs += (line.quantity * cost).quantize(CENT)
        lines.append(_Line(number, product_id, line.quantity, price, cost, amount))
    if revenue >= Decimal("1e14") or cogs >= Decimal("1e14"):
        return error(index, "too_large", _("The order's total is too large."), ext)
    try:
        base_revenue, base_cogs = to_base(revenue, rate, currency), to_base(cogs, rate, currency)
    except ValidationError as exc:
        return error(index, "too_large", " ".join(exc.messages), ext)
    return _PlannedOrder(
        index, item, customer, branch_id, currency, revenue, cogs, rate, base_revenue, base_cogs, lines, skus
    )


def _write_orders(planned: list[_PlannedOrder], results: dict[int, ItemResult]) -> list[ItemResult]:
    if not planned:
        return []
    now = timezone.now()
    for p, pk in zip(planned, bulk.allocate_ids(Order, len(planned)), strict=True):
        p.pk = pk
    orders_add(
        [
            (p.pk, p.item.external_id, p.customer.pk, str(p.item.channel), p.branch_id, p.item.ordered_at, p.currency,
             p.revenue, p.cogs, p.rate, p.base_revenue, p.base_cogs, now, now)
            for p in planned
        ],
        [
            (p.pk, ln.line_no, ln.product_id, ln.quantity, ln.unit_price, ln.unit_cost, ln.amount)
            for p in planned
            for ln in p.lines
        ],
    )
    events.publish_many("order.created", (_order_payload(p, now) for p in planned))
    created = [ItemResult(p.index, "created", id=p.pk, external_id=p.item.external_id) for p in planned]
    for result in created:
        results[result.index] = result
    return created


def _order_payload(p: _PlannedOrder, now: datetime) -> dict[str, Any]:
    order = Order(
        pk=p.pk,
        customer_id=p.customer.pk,
        channel=p.item.channel,
        ordered_at=p.item.ordered_at,
        external_id=p.item.external_id,
        currency=p.currency,
        revenue=p.revenue,
        cost_of_goods=p.cogs,
        exchange_rate=p.rate,
        base_revenue=p.base_revenue,
        base_cost_of_goods=p.base_cogs,
        created_at=now,
    )
    lines = [
        OrderLine(
            line_no=ln.line_no,
            product_id=ln.product_id,
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            unit_cost=ln.unit_cost,
            amount=ln.amount,
        )
        for ln in p.lines
    ]
    return order_data(order, lines, customer_external_id=p.customer.external_id, branch_code=p.item.branch, skus=p.skus)


# ---------------------------------------------------------------- events


def events_ingest(
    *, user: User, items: Sequence[tuple[int, CostEventIn | InteractionIn]]
) -> list[ItemResult]:
    """Create cost-to-serve events and interactions; one result per item, by index."""
    results: dict[int, ItemResult] = {}
    parsed = [item for _i, item in items]
    customers = _customers_for(user, parsed)
    rates = _rates_for([i for i in parsed if isinstance(i, CostEventIn)], customers)
    interactions = [i for i in parsed if isinstance(i, InteractionIn)]
    usernames = {i.handled_by for i in interactions if i.handled_by}
    users = dict(User.objects.filter(username__in=usernames, is_active=True).values_list("username", "pk"))
    contacts_by_id: dict[int, tuple[int, int]] = {}
    contacts_by_ext: dict[str, tuple[int, int]] = {}
    contact_ids = {i.contact_id for i in interactions if i.contact_id is not None}
    contact_exts = {i.contact_external_id for i in interactions if i.contact_external_id}
    for pk, customer_id in Contact.objects.filter(pk__in=contact_ids).values_list("pk", "customer_id"):
        contacts_by_id[pk] = (pk, customer_id)
    for pk, ext, customer_id in Contact.objects.filter(external_id__in=contact_exts).values_list(
        "pk", "external_id", "customer_id"
    ):
        if ext:
            contacts_by_ext[ext] = (pk, customer_id)

    cost_planned: list[tuple[int, CostEvent]] = []
    interaction_planned: list[tuple[int, Interaction]] = []

    def plan() -> None:
        cost_planned.clear()
        interaction_planned.clear()
        existing_costs = _existing_external_ids(
            CostEvent, {i.external_id for i in parsed if isinstance(i, CostEventIn) and i.external_id}, user
        )
        existing_interactions = _existing_external_ids(
            Interaction, {i.external_id for i in interactions if i.external_id}, user
        )
        seen: set[tuple[str, str]] = set()
        for index, item in items:
            ext = item.external_id
            is_cost = isinstance(item, CostEventIn)
            existing = existing_costs if is_cost else existing_interactions
            key = ("cost" if is_cost else "interaction", ext or "")
            if ext and (ext in existing or key in seen):
                results[index] = ItemResult(index, "duplicate", id=existing.get(ext), external_id=ext)
                continue
            customer = customers.get(item.customer_id, item.customer_external_id)
            if customer is None:
                ref = item.customer_id if item.customer_id is not None else item.customer_external_id
                results[index] = error(index, "unknown_customer", _("There is no customer %(ref)s.") % {"ref": ref}, ext)
                continue
            if isinstance(item, CostEventIn):
                currency = item.currency or customer.currency
                try:
                    rate = rates.rate(currency, rate_day(item.occurred_at)) if currency != rates.base else ONE
                    base_amount = to_base(item.amount, rate, currency)
                except MissingRateError as exc:
                    results[index] = _missing_rate(index, exc, ext)
                    continue
                except ValidationError as exc:
                    results[index] = error(index, "too_large", " ".join(exc.messages), ext)
                    continue
                event = CostEvent(
                    customer_id=customer.pk,
                    kind=item.kind,
                    amount=item.amount,
                    currency=currency,
                    exchange_rate=rate,
                    base_amount=base_amount,
                    occurred_at=item.occurred_at,
                    external_id=ext,
                    note=item.note,
                )
                cost_planned.append((index, event))
            else:
                planned_or_error = _plan_interaction(index, item, customer, users, contacts_by_id, contacts_by_ext)
                if isinstance(planned_or_error, ItemResult):
                    results[index] = planned_or_error
                    continue
                interaction_planned.append((index, planned_or_error))
            if ext:
                seen.add(key)

    plan()

    def write() -> list[ItemResult]:
        written: list[ItemResult] = []
        if cost_planned:
            created = cost_events_add([e for _i, e in cost_planned])
            written += [ItemResult(i, "created", id=e.pk, external_id=e.external_id) for (i, _), e in zip(cost_planned, created, strict=True)]
        if interaction_planned:
            saved = Interaction.objects.bulk_create([e for _i, e in interaction_planned], batch_size=2000)
            written += [
                ItemResult(i, "created", id=e.pk, external_id=e.external_id)
                for (i, _), e in zip(interaction_planned, saved, strict=True)
            ]
        for result in written:
            results[result.index] = result
        if written:
            customer_ids = {e.customer_id for _i, e in cost_planned} | {e.customer_id for _i, e in interaction_planned}
            audit_bulk(
                "ingest.events", object_type="event", count=len(written),
                details={
                    "cost_event_ids": id_ranges(e.pk for _i, e in cost_planned),
                    "interaction_ids": id_ranges(e.pk for _i, e in interaction_planned),
                    "customer_ids": id_ranges(customer_ids),
                },
            )
        return written

    _write_once_or_recheck(write, plan)
    return [results[index] for index, _item in items]


def _plan_interaction(
    index: int,
    item: InteractionIn,
    customer: _CustomerRef,
    users: dict[str, int],
    contacts_by_id: dict[int, tuple[int, int]],
    contacts_by_ext: dict[str, tuple[int, int]],
) -> Interaction | ItemResult:
    ext = item.external_id
    handled_by_id = None
    if item.handled_by:
        handled_by_id = users.get(item.handled_by)
        if handled_by_id is None:
            return error(index, "unknown_user", _("There is no active user named %(name)s.") % {"name": item.handled_by}, ext)
    contact_id = None
    if item.contact_id is not None or item.contact_external_id:
        contact = (
            contacts_by_id.get(item.contact_id)
            if item.contact_id is not None
            else contacts_by_ext.get(item.contact_external_id or "")
        )
        if contact is None or contact[1] != customer.pk:
            return error(index, "unknown_contact", _("That contact does not belong to this customer."), ext)
        contact_id = contact[0]
    return Interaction(
        customer_id=customer.pk,
        contact_id=contact_id,
        channel=item.channel,
        direction=item.direction,
        subject=item.subject,
        body=item.body,
        occurred_at=item.occurred_at or timezone.now(),
        handled_by_id=handled_by_id,
        external_id=ext,
    )
