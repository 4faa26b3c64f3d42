"""REST endpoints for batch ingestion and, for administrators, webhook subscriptions.

The batch endpoints read the body themselves: each item is validated on its own, so one bad
item is reported (with its index) and the others still land. The request body may be larger
than Django's form-data limit (``PATRON_API_MAX_BATCH_BYTES``, 64 MB by default).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import TypeAdapter, WithJsonSchema
from pydantic import ValidationError as PydanticValidationError

from patron.commerce.schemas import CostEventIn, OrderIn
from patron.core.apikit import (
    ApiError,
    Changes,
    ErrorOut,
    Id,
    InputSchema,
    ListParams,
    Name200,
    OutputSchema,
    Page,
    not_found,
    paginate,
    parse_json_body,
    require_admin,
    validation_message,
)
from patron.core.roles import user_of
from patron.customers.apikit import require_record_writer
from patron.engagement.schemas import InteractionIn
from patron.ingest.batch import ItemResult, error, events_ingest, orders_ingest, paused_gc
from patron.ingest.models import Webhook, WebhookDelivery, WebhookEvent
from patron.ingest.webhooks import (
    delivery_retry,
    webhook_create,
    webhook_ping,
    webhook_rotate_secret,
    webhook_update,
)

router = Router()

# Inline in the OpenAPI document (Django names several enums "Status").
DeliveryStatus = Annotated[
    WebhookDelivery.Status, WithJsonSchema({"type": "string", "enum": WebhookDelivery.Status.values})
]

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}


def max_items() -> int:
    return int(settings.PATRON_API_MAX_BATCH_ITEMS)


def max_bytes() -> int:
    return int(settings.PATRON_API_MAX_BATCH_BYTES)


class ItemResultOut(OutputSchema):
    index: int = Field(description="Position of the item in `items`, from 0.")
    status: str = Field(description="created, duplicate or error.")
    id: int | None = Field(None, description="The record's id (created, or the existing one for a duplicate).")
    external_id: str | None = None
    code: str | None = Field(None, description="For errors: a machine-readable reason.")
    message: str | None = None


class BatchOut(OutputSchema):
    created: int
    duplicates: int
    errors: int
    results: list[ItemResultOut]


def _read_items(request: HttpRequest) -> list[Any]:
    """The body's ``items`` list, read with the batch size limits (not Django's form limit)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_bytes():
        raise ApiError(413, "too_large", _("The request body is larger than %(n)d bytes.") % {"n": max_bytes()})
    raw = request.read(max_bytes() + 1)
    if len(raw) > max_bytes():
        raise ApiError(413, "too_large", _("The request body is larger than %(n)d bytes.") % {"n": max_bytes()})
    body = parse_json_body(raw)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ApiError(422, "invalid", _('The body must be an object with an "items" list.'))
    unknown = sorted(set(body) - {"items"})
    if unknown:
        raise ApiError(422, "invalid", _("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)})
    items = body["items"]
    if not items:
        raise ApiError(422, "invalid", _('"items" is empty.'))
    if len(items) > max_items():
        raise ApiError(
            413, "too_many_items", _("At most %(n)d items per request; split the batch.") % {"n": max_items()}
        )
    return items


def _parse(index: int, raw: Any, adapter: TypeAdapter) -> Any:
    try:
        return adapter.validate_python(raw)
    except PydanticValidationError as exc:
        return error(index, "invalid", validation_message(exc.errors(include_url=False)))


def _batch_response(results: list[ItemResult], only_problems: bool) -> HttpResponse:
    counts = {"created": 0, "duplicate": 0, "error": 0}
    for r in results:
        counts[r.status] += 1
    shown = [r for r in results if r.status != "created"] if only_problems else results
    body = {
        "created": counts["created"],
        "duplicates": counts["duplicate"],
        "errors": counts["error"],
        "results": [r.as_dict() for r in shown],
    }
    return HttpResponse(json.dumps(body, cls=DjangoJSONEncoder), content_type="application/json; charset=utf-8")


class BatchParams(Schema):
    results: str = Field(
        "all", pattern="^(all|problems)$", description="`problems` lists only duplicates and errors (smaller answers)."
    )


def _batch_doc(item_schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["items"],
                        "additionalProperties": False,
                        "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 10000, "items": item_schema}},
                    }
                }
            },
        }
    }


_order_adapter = TypeAdapter(OrderIn)
_cost_adapter = TypeAdapter(CostEventIn)
_interaction_adapter = TypeAdapter(InteractionIn)
_EVENT_ADAPTERS: dict[str, TypeAdapter[Any]] = {"cost_event": _cost_adapter, "interaction": _interaction_adapter}


def _event_item(kind: str, adapter: TypeAdapter[Any]) -> dict[str, Any]:
    """The JSON schema of an events item of ``kind``: the model's fields and ``"type": kind``."""
    schema = adapter.json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    schema = inline(schema)
    schema["properties"] = {"type": {"type": "string", "enum": [kind]}, **schema["properties"]}
    schema["required"] = ["type", *schema.get("required", [])]
    return schema


@router.post(
    "/ingest/orders",
    response={200: BatchOut, **ERRORS},
    summary="Ingest a batch of orders",
    tags=["ingest"],
    openapi_extra=_batch_doc(
        {"$ref": "#/components/schemas/OrderIn"},
        "Up to 10,000 orders, each as for POST /orders. Items are checked one by one.",
    ),
)
def ingest_orders(request: HttpRequest, params: Query[BatchParams]):
    """Create many orders in one call, with one result per item (created, duplicate or error).

    Good items land even when others fail. An order whose `external_id` exists already is a
    `duplicate` and changes nothing, so a batch can be sent again safely after a timeout.
    """
    user = user_of(request)
    require_record_writer(user)
    with paused_gc():
        raw_items = _read_items(request)
        parsed: list[tuple[int, OrderIn]] = []
        failed: list[ItemResult] = []
        for index, raw in enumerate(raw_items):
            item = _parse(index, raw, _order_adapter)
            if isinstance(item, ItemResult):
                failed.append(item)
            else:
                parsed.append((index, item))
        results = orders_ingest(user=user, items=parsed) if parsed else []
        merged = sorted([*results, *failed], key=lambda r: r.index)
        return _batch_response(merged, params.results == "problems")


@router.post(
    "/ingest/events",
    response={200: BatchOut, **ERRORS},
    summary="Ingest a batch of cost events and interactions",
    tags=["ingest"],
    openapi_extra=_batch_doc(
        {
            "description": 'An item with "type": "cost_event" (fields of CostEventIn) '
            'or "type": "interaction" (fields of InteractionIn).',
            "oneOf": [_event_item(kind, adapter) for kind, adapter in _EVENT_ADAPTERS.items()],
        },
        "Up to 10,000 cost-to-serve events and interactions, mixed.",
    ),
)
def ingest_events(request: HttpRequest, params: Query[BatchParams]):
    """Create many cost-to-serve events and interactions, each item tagged with its `type`."""
    user = user_of(request)
    require_record_writer(user)
    with paused_gc():
        raw_items = _read_items(request)
        parsed: list[tuple[int, CostEventIn | InteractionIn]] = []
        failed: list[ItemResult] = []
        for index, raw in enumerate(raw_items):
            if not isinstance(raw, dict):
                failed.append(error(index, "invalid", _("An item must be an object.")))
                continue
            fields = dict(raw)
            kind = fields.pop("type", None)
            adapter: TypeAdapter[Any] | None = _EVENT_ADAPTERS.get(kind) if isinstance(kind, str) else None
            if adapter is None:
                failed.append(error(index, "invalid", _('"type" must be cost_event or interaction.')))
                continue
            item = _parse(index, fields, adapter)
            if isinstance(item, ItemResult):
                failed.append(item)
            else:
                parsed.append((index, item))
        results = events_ingest(user=user, items=parsed) if parsed else []
        merged = sorted([*results, *failed], key=lambda r: r.index)
        return _batch_response(merged, params.results == "problems")


# ---------------------------------------------------------------- webhooks (administrators)


class WebhookOut(OutputSchema):
    id: int
    name: str
    url: str
    events: list[str]
    is_active: bool
    secret: str = Field(description="The HMAC-SHA256 key; keep it on the receiving side to verify signatures.")
    created_at: datetime
    updated_at: datetime


class WebhookIn(InputSchema):
    name: Name200
    url: str = Field(max_length=500, description="http:// or https:// URL that receives POSTs.")
    events: list[WebhookEvent] = Field(min_length=1, max_length=10)
    is_active: bool = True


class WebhookPatch(InputSchema):
    name: Name200 | None = None
    url: str | None = Field(None, max_length=500)
    events: list[WebhookEvent] | None = Field(None, min_length=1, max_length=10)
    is_active: bool | None = None


class DeliveryOut(OutputSchema):
    id: int
    delivery_id: str
    webhook_id: int
    event: str
    status: str
    attempts: int
    response_code: int | None
    error: str
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryFilters(Schema):
    status: DeliveryStatus | None = None
    event: str | None = Field(None, max_length=40)


def _webhook_data(w: Webhook) -> dict[str, Any]:
    return {
        "id": w.pk,
        "name": w.name,
        "url": w.url,
        "events": list(w.events or []),
        "is_active": w.is_active,
        "secret": w.secret,
        "created_at": w.created_at,
        "updated_at": w.updated_at,
    }


def _delivery_data(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.pk,
        "delivery_id": d.delivery_id,
        "webhook_id": d.webhook_id,
        "event": d.event,
        "status": d.status,
        "attempts": d.attempts,
        "response_code": d.response_code,
        "error": d.error,
        "created_at": d.created_at,
        "last_attempt_at": d.last_attempt_at,
        "next_attempt_at": d.next_attempt_at,
        "delivered_at": d.delivered_at,
    }


def _webhook(request: HttpRequest, webhook_id: int) -> Webhook:
    require_admin(user_of(request))
    webhook = Webhook.objects.filter(pk=webhook_id).first()
    if webhook is None:
        raise not_found(_("There is no webhook %(id)s.") % {"id": webhook_id})
    return webhook


@router.get("/webhooks", response={200: Page[WebhookOut], **ERRORS}, summary="List webhooks", tags=["webhooks"])
def list_webhooks(request: HttpRequest, params: Query[ListParams]):
    require_admin(user_of(request))
    return paginate(request, Webhook.objects.order_by("name", "pk"), params, lambda rows: [_webhook_data(w) for w in rows])


@router.post("/webhooks", response={201: WebhookOut, **ERRORS}, summary="Subscribe a webhook", tags=["webhooks"])
def create_webhook(request: HttpRequest, body: WebhookIn):
    """Administrators: subscribe a URL to events. The answer carries the signing secret."""
    user = user_of(request)
    require_admin(user)
    webhook = webhook_create(
        name=body.name, url=body.url, events=[str(e) for e in body.events], created_by=user, is_active=body.is_active
    )
    return Status(201, _webhook_data(webhook))


@router.get("/webhooks/{webhook_id}", response={200: WebhookOut, **ERRORS}, summary="Get a webhook", tags=["webhooks"])
def get_webhook(request: HttpRequest, webhook_id: Id):
    return _webhook_data(_webhook(request, webhook_id))


@router.patch(
    "/webhooks/{webhook_id}", response={200: WebhookOut, **ERRORS}, summary="Change a webhook", tags=["webhooks"]
)
def update_webhook(request: HttpRequest, webhook_id: Id, body: WebhookPatch):
    webhook = _webhook(request, webhook_id)
    changes = Changes.of(body).values
    for name in ("name", "url", "events", "is_active"):
        if name in changes and changes[name] is None:
            raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": name})
    if "events" in changes:
        changes["events"] = [str(e) for e in changes["events"]]
    return _webhook_data(webhook_update(webhook=webhook, changes=changes))


@router.delete("/webhooks/{webhook_id}", response={204: None, **ERRORS}, summary="Delete a webhook", tags=["webhooks"])
def delete_webhook(request: HttpRequest, webhook_id: Id):
    """Deletes the subscription and its delivery log."""
    _webhook(request, webhook_id).delete()
    return Status(204, None)


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response={200: WebhookOut, **ERRORS},
    summary="Replace a webhook's secret",
    tags=["webhooks"],
)
def rotate_secret(request: HttpRequest, webhook_id: Id):
    return _webhook_data(webhook_rotate_secret(webhook=_webhook(request, webhook_id)))


@router.post(
    "/webhooks/{webhook_id}/ping",
    response={202: DeliveryOut, **ERRORS},
    summary="Send a test delivery",
    tags=["webhooks"],
)
def ping(request: HttpRequest, webhook_id: Id):
    """Queue a `ping` event to this webhook; the worker sends it like any other."""
    with transaction.atomic():
        delivery = webhook_ping(webhook=_webhook(request, webhook_id))
    return Status(202, _delivery_data(delivery))


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response={200: Page[DeliveryOut], **ERRORS},
    summary="A webhook's delivery log",
    tags=["webhooks"],
)
def list_deliveries(request: HttpRequest, webhook_id: Id, filters: Query[DeliveryFilters], params: Query[ListParams]):
    webhook = _webhook(request, webhook_id)
    qs = WebhookDelivery.objects.filter(webhook=webhook)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.event:
        qs = qs.filter(event=filters.event)
    qs = qs.order_by("-created_at", "-pk")
    return paginate(request, qs, params, lambda rows: [_delivery_data(d) for d in rows])


@router.post(
    "/webhook-deliveries/{delivery_id}/retry",
    response={202: DeliveryOut, **ERRORS},
    summary="Send a delivery again",
    tags=["webhooks"],
)
def retry_delivery(request: HttpRequest, delivery_id: Id):
    require_admin(user_of(request))
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise not_found(_("There is no delivery %(id)s.") % {"id": delivery_id})
    with transaction.atomic():
        delivery_retry(delivery=delivery)
    return Status(202, _delivery_data(delivery))
