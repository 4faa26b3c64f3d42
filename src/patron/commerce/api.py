"""REST endpoints for products, orders (with lines) and cost-to-serve events.

Orders and cost events belong to customers: they are read and written only through customers
the user may see (``visible_customers``). The product catalogue is read by everyone and changed
by administrators.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from patron.commerce.models import CostEvent, Order, OrderLine, Product
from patron.commerce.schemas import (
    CostEventIn,
    CostEventKind,
    CostEventOut,
    CostEventPatch,
    LineIn,
    OrderIn,
    OrderOut,
    OrderPatch,
    ProductIn,
    ProductOut,
    ProductPatch,
    cost_event_data,
    order_data,
    product_data,
)
from patron.commerce.selectors import (
    COST_SORTS,
    ORDER_SORTS,
    PRODUCT_SORTS,
    CostEventFilter,
    OrderFilter,
    ProductFilter,
    filter_cost_events,
    filter_orders,
    filter_products,
    visible_cost_events,
    visible_orders,
)
from patron.commerce.services import (
    LineInput,
    cost_event_create,
    cost_event_update,
    order_create,
    order_update,
    product_create,
    product_update,
)
from patron.core.apikit import (
    ApiError,
    Changes,
    ErrorOut,
    ExternalId,
    Id,
    ListParams,
    Moment,
    Page,
    csv_list,
    forbidden,
    not_found,
    paginate,
    require_admin,
    sorted_by,
)
from patron.core.choices import SalesChannel
from patron.core.models import Branch, User
from patron.core.roles import user_of
from patron.customers.apikit import editable_customer
from patron.customers.selectors import (
    can_edit_customer,
    of_visible_customers,
)

router = Router()

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}



def _null_not_allowed(changes: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in changes and changes[name] is None:
            raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": name})


# ---------------------------------------------------------------- products



class ProductFilters(Schema):
    q: str | None = Field(None, max_length=100, description="Name or SKU contains this.")
    category: str | None = Field(None, max_length=100)
    sku: str | None = Field(None, max_length=60)
    external_id: ExternalId | None = None
    active: bool | None = None


@router.get("/products", response={200: Page[ProductOut], **ERRORS}, summary="List products", tags=["products"])
def list_products(request: HttpRequest, filters: Query[ProductFilters], params: Query[ListParams]):
    f = ProductFilter(
        contains=filters.q,
        category=filters.category,
        sku=filters.sku,
        external_id=filters.external_id,
        active=filters.active,
    )
    qs = filter_products(Product.objects.all(), f)
    qs = sorted_by(qs, params.sort, PRODUCT_SORTS, "name")
    if params.format == "csv":
        return csv_list("products", qs)
    return paginate(request, qs, params, lambda rows: [product_data(p) for p in rows])


def _product(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise not_found(_("There is no product %(id)s.") % {"id": product_id})
    return product


@router.get("/products/{product_id}", response={200: ProductOut, **ERRORS}, summary="Get a product", tags=["products"])
def get_product(request: HttpRequest, product_id: Id):
    return product_data(_product(product_id))


@router.post("/products", response={201: ProductOut, **ERRORS}, summary="Create a product", tags=["products"])
def create_product(request: HttpRequest, body: ProductIn):
    """Administrators only: the catalogue is shared by everyone."""
    require_admin(user_of(request))
    values = body.model_dump()
    is_active = values.pop("is_active")
    product = product_create(**values)
    if not is_active:
        product = product_update(product=product, changes={"is_active": False})
    return Status(201, product_data(product))


@router.patch(
    "/products/{product_id}", response={200: ProductOut, **ERRORS}, summary="Change a product", tags=["products"]
)
def update_product(request: HttpRequest, product_id: Id, body: ProductPatch):
    require_admin(user_of(request))
    product = _product(product_id)
    changes = Changes.of(body).values
    if changes.get("category", "") is None:
        changes["category"] = ""
    _null_not_allowed(changes, ("sku", "name", "list_price", "unit_cost", "currency", "is_active"))
    return product_data(product_update(product=product, changes=changes))


# ---------------------------------------------------------------- orders

# Money sorts by the base-currency amount, comparable across currencies.


class OrderFilters(Schema):
    customer_id: Id | None = None
    channel: SalesChannel | None = None
    external_id: ExternalId | None = None
    ordered_after: Moment | None = Field(None, description="At or after this time.")
    ordered_before: Moment | None = Field(None, description="Before this time.")


def _orders(qs: QuerySet[Order]) -> QuerySet[Order]:
    return qs.select_related("customer", "branch").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("line_no"))
    )


def _render_orders(rows: list[Order]) -> list[dict[str, Any]]:
    out = []
    for order in rows:
        lines = list(order.lines.all())
        out.append(
            order_data(
                order,
                lines,
                customer_external_id=order.customer.external_id,
                branch_code=order.branch.code if order.branch else None,
                skus={line.product_id: line.product.sku for line in lines},
            )
        )
    return out


@router.get("/orders", response={200: Page[OrderOut], **ERRORS}, summary="List orders", tags=["orders"])
def list_orders(request: HttpRequest, filters: Query[OrderFilters], params: Query[ListParams]):
    """Orders of the customers you may see; `format=csv` streams one row per line."""
    # The filter rules are the order list page's (commerce.selectors.filter_orders).
    f = OrderFilter(
        customer_id=filters.customer_id,
        channel=filters.channel or "",
        external_id=filters.external_id,
        ordered_after=filters.ordered_after,
        ordered_before=filters.ordered_before,
    )
    qs = filter_orders(visible_orders(user_of(request)), f)
    qs = sorted_by(qs, params.sort, ORDER_SORTS, "-ordered_at")
    if params.format == "csv":
        return csv_list("orders", qs)
    return paginate(request, _orders(qs), params, _render_orders)


def _order(user: User, order_id: int) -> Order:
    order = _orders(of_visible_customers(Order.objects.all(), user)).filter(pk=order_id).first()
    if order is None:
        raise not_found(_("There is no order %(id)s.") % {"id": order_id})
    return order


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS}, summary="Get an order", tags=["orders"])
def get_order(request: HttpRequest, order_id: Id):
    return _render_orders([_order(user_of(request), order_id)])[0]


def resolve_lines(lines: list[LineIn]) -> list[LineInput]:
    """Turn the body's lines into service inputs, loading the named products in one query each way."""
    by_id = {p.pk: p for p in Product.objects.filter(pk__in=[ln.product_id for ln in lines if ln.product_id])}
    by_ext = {
        p.external_id: p
        for p in Product.objects.filter(external_id__in=[ln.product_external_id for ln in lines if ln.product_external_id])
    }
    by_sku = {p.sku: p for p in Product.objects.filter(sku__in=[ln.product_sku for ln in lines if ln.product_sku])}
    resolved = []
    for number, line in enumerate(lines, start=1):
        if line.product_id is not None:
            product, ref = by_id.get(line.product_id), str(line.product_id)
        elif line.product_external_id is not None:
            product, ref = by_ext.get(line.product_external_id), line.product_external_id
        else:
            product, ref = by_sku.get(line.product_sku or ""), line.product_sku or ""
        if product is None:
            raise ApiError(
                422, "unknown_product", _("Line %(n)s: there is no product %(ref)s.") % {"n": number, "ref": ref}
            )
        resolved.append(LineInput(product, line.quantity, line.unit_price, line.unit_cost))
    return resolved


def _branch(code: str | None) -> Branch | None:
    if code is None:
        return None
    branch = Branch.objects.filter(code=code).first()
    if branch is None:
        raise ApiError(422, "unknown_branch", _("There is no branch with code %(code)s.") % {"code": code})
    return branch


@router.post("/orders", response={201: OrderOut, **ERRORS}, summary="Create an order", tags=["orders"])
def create_order(request: HttpRequest, body: OrderIn):
    """Record an order with its lines; the customer's totals and timeline show it at once.

    For many orders at a time, use `POST /ingest/orders`.
    """
    user = user_of(request)
    customer = editable_customer(user, customer_id=body.customer_id, customer_external_id=body.customer_external_id)
    order = order_create(
        customer=customer,
        channel=body.channel,
        ordered_at=body.ordered_at,
        lines=resolve_lines(body.lines),
        external_id=body.external_id,
        branch=_branch(body.branch),
        currency=body.currency,
    )
    return Status(201, _render_orders([_order(user, order.pk)])[0])


@router.patch("/orders/{order_id}", response={200: OrderOut, **ERRORS}, summary="Change an order", tags=["orders"])
def update_order(request: HttpRequest, order_id: Id, body: OrderPatch):
    """Change an order's fields; `lines`, if given, replaces all its lines. Totals follow."""
    user = user_of(request)
    order = _order(user, order_id)
    if not can_edit_customer(user, order.customer):
        raise forbidden(_("You can read this customer but not change it."))
    changes = Changes.of(body).values
    _null_not_allowed(changes, ("channel", "ordered_at", "currency", "lines"))
    lines = resolve_lines(body.lines) if body.lines is not None else None
    changes.pop("lines", None)
    if "branch" in changes:
        changes["branch"] = _branch(changes["branch"])
    order_update(order=order, changes=changes, lines=lines)
    return _render_orders([_order(user, order.pk)])[0]


# ---------------------------------------------------------------- cost events



class CostEventFilters(Schema):
    customer_id: Id | None = None
    kind: CostEventKind | None = None
    external_id: ExternalId | None = None
    occurred_after: Moment | None = None
    occurred_before: Moment | None = None


@router.get(
    "/cost-events", response={200: Page[CostEventOut], **ERRORS}, summary="List cost events", tags=["cost events"]
)
def list_cost_events(request: HttpRequest, filters: Query[CostEventFilters], params: Query[ListParams]):
    f = CostEventFilter(
        customer_id=filters.customer_id,
        kind=filters.kind,
        external_id=filters.external_id,
        occurred_after=filters.occurred_after,
        occurred_before=filters.occurred_before,
    )
    qs = filter_cost_events(visible_cost_events(user_of(request)), f)
    qs = sorted_by(qs, params.sort, COST_SORTS, "-occurred_at")
    if params.format == "csv":
        return csv_list("cost_events", qs)
    return paginate(request, qs, params, lambda rows: [cost_event_data(e) for e in rows])


def _cost_event(user: User, event_id: int) -> CostEvent:
    event = of_visible_customers(CostEvent.objects.select_related("customer"), user).filter(pk=event_id).first()
    if event is None:
        raise not_found(_("There is no cost event %(id)s.") % {"id": event_id})
    return event


@router.get(
    "/cost-events/{event_id}", response={200: CostEventOut, **ERRORS}, summary="Get a cost event", tags=["cost events"]
)
def get_cost_event(request: HttpRequest, event_id: Id):
    return cost_event_data(_cost_event(user_of(request), event_id))


@router.post(
    "/cost-events", response={201: CostEventOut, **ERRORS}, summary="Record a cost event", tags=["cost events"]
)
def create_cost_event(request: HttpRequest, body: CostEventIn):
    user = user_of(request)
    customer = editable_customer(user, customer_id=body.customer_id, customer_external_id=body.customer_external_id)
    values = body.model_dump(exclude={"customer_id", "customer_external_id"})
    return Status(201, cost_event_data(cost_event_create(customer=customer, **values)))


@router.patch(
    "/cost-events/{event_id}",
    response={200: CostEventOut, **ERRORS},
    summary="Change a cost event",
    tags=["cost events"],
)
def update_cost_event(request: HttpRequest, event_id: Id, body: CostEventPatch):
    user = user_of(request)
    event = _cost_event(user, event_id)
    if not can_edit_customer(user, event.customer):
        raise forbidden(_("You can read this customer but not change it."))
    changes = Changes.of(body).values
    if changes.get("note", "") is None:
        changes["note"] = ""
    _null_not_allowed(changes, ("kind", "amount", "currency", "occurred_at"))
    return cost_event_data(cost_event_update(event=event, changes=changes))
