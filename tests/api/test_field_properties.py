"""Property-based: every date, time and number field of the API, fed anything, answers below 500.

The fields come from the OpenAPI document (body properties at any depth, query and path
parameters), so a field added to a schema is covered without touching this file. Each request
starts from a valid one for its operation (``BASELINES``) with one field replaced by a value that
Hypothesis draws: dates across the whole calendar with offsets up to ±23:59, naive times, huge and
negative numbers, NaN, infinities, exponents, text. The answer must be below 500, declared for the
operation, and an error in the API's shape; a date that a write accepted must leave the data
readable (the customer's timeline and the lists' CSV still answer 200).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.utils import timezone as dj_timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.campaigns.services import segment_create
from patron.commerce.services import LineInput, cost_event_create, order_create
from patron.customers.services import contact_create
from patron.engagement.services import interaction_create, task_create
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.ingest.webhooks import webhook_create
from patron.sales.services import lead_create, opportunity_create
from tests.api.conftest import client_for
from tests.factories import make_customer, make_product

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1"
EXAMPLES = 8  # drawn values per field, after the fixed edge values


# ---------------------------------------------------------------- fields from the OpenAPI document


def _openapi() -> dict[str, Any]:
    from patron.config.api import api

    return api.get_openapi_schema(path_prefix=PREFIX + "/")


@dataclass(frozen=True)
class FieldRef:
    method: str
    path: str  # as in the document: /api/v1/orders/{order_id}
    where: str  # body, query or path
    name: str  # dotted; "[]" steps into every item of an array: lines.[].quantity
    kind: str  # date, date-time, integer or number

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.where}:{self.name}"


def _field_kinds(schema: dict[str, Any], resolve: Callable[[dict[str, Any]], dict[str, Any]]) -> set[str]:
    schema = resolve(schema)
    kinds = set()
    for alt in schema.get("anyOf", schema.get("oneOf", [schema])):
        alt = resolve(alt)
        if alt.get("format") in ("date", "date-time"):
            kinds.add(alt["format"])
        elif alt.get("type") in ("integer", "number"):
            kinds.add(alt["type"])
    return kinds


def api_fields(doc: dict[str, Any]) -> list[FieldRef]:
    components = doc["components"]["schemas"]

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    found: list[FieldRef] = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            def add(where: str, name: str, schema: dict[str, Any], method: str = method, path: str = path) -> None:
                kinds = _field_kinds(schema, resolve)
                # A field that takes a number or a date-time is tested as the richer kind.
                for kind in ("date-time", "date", "number", "integer"):
                    if kind in kinds:
                        found.append(FieldRef(method.upper(), path, where, name, kind))
                        return

            def walk(schema: dict[str, Any], prefix: str) -> None:
                schema = resolve(schema)
                for alt in schema.get("anyOf", schema.get("oneOf", [schema])):
                    alt = resolve(alt)
                    if alt.get("type") == "object" or "properties" in alt:
                        for name, sub in alt.get("properties", {}).items():
                            add("body", prefix + name, sub)
                            walk(sub, prefix + name + ".")
                    elif alt.get("type") == "array" and "items" in alt:
                        add("body", prefix + "[]", alt["items"])
                        walk(alt["items"], prefix + "[].")

            for parameter in operation.get("parameters", []):
                add(parameter["in"], parameter["name"], parameter.get("schema", {}))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                walk(body, "")
    return list(dict.fromkeys(found))


DOC = _openapi()
FIELDS = api_fields(DOC)


# ---------------------------------------------------------------- a valid request per operation


@dataclass
class World:
    customer: int
    contact: int
    product: int
    order: int
    cost_event: int
    interaction: int
    task: int
    survey: int
    webhook: int
    delivery: int
    segment: int
    campaign: int = 0
    lead: int = 0
    opportunity: int = 0


@pytest.fixture
def world(root, alice) -> World:
    from patron.ingest.models import WebhookDelivery

    webhook = webhook_create(name="hook", url="http://127.0.0.1:9/hook", events=["order.created"])
    customer = make_customer("Prop", owner=alice, external_id="C-P", email="p@example.com", consent_survey=True)
    product = make_product(sku="SKU-P", price=10, cost=5)
    at = dj_timezone.now() - timedelta(days=2)
    order = order_create(customer=customer, channel="web", ordered_at=at, lines=[LineInput(product, 1)])
    event = cost_event_create(customer=customer, kind="ticket", amount=Decimal("1.00"), occurred_at=at)
    contact = contact_create(customer=customer, name="Li")
    interaction = interaction_create(customer=customer, channel="call", subject="Hi", occurred_at=at, contact=contact)
    task = task_create(customer=customer, title="Call")
    survey = survey_create(name="NPS", kind="nps")
    response_create(survey=survey, customer=customer, score=3, channel="api")
    segment = segment_create(name="Segment", filter={"clv_min": 0}, created_by=root)
    lead = lead_create(name="Lead", owner=alice)
    opportunity = opportunity_create(name="Deal", customer=customer, amount=Decimal("10.00"))
    return World(customer.pk, contact.pk, product.pk, order.pk, event.pk, interaction.pk, task.pk, survey.pk,
                 webhook.pk, WebhookDelivery.objects.filter(webhook=webhook).values_list("pk", flat=True).first(),
                 segment.pk, _campaign(segment.pk, root), lead.pk, opportunity.pk)


def _campaign(segment_id: int, root: Any) -> int:
    from datetime import date

    from patron.campaigns.campaign_services import campaign_create

    values = {"name": "C", "segment_id": segment_id, "channel": "phone", "starts_on": date(2025, 3, 1),
              "ends_on": date(2025, 3, 31)}
    return campaign_create(values=values, created_by=root).pk


AT = "2025-03-05T10:00:00+08:00"


def _report_campaign(w: World) -> int:
    """A campaign launched two days ago with the world's customer in its treatment group."""
    from patron.campaigns.models import Campaign, CampaignMember

    launched = dj_timezone.now() - timedelta(days=2)
    campaign, created = Campaign.objects.get_or_create(
        name="Report", defaults={"channel": "email", "starts_on": launched.date(), "ends_on": launched.date(),
                                 "status": "launched", "launched_at": launched})
    if created:
        CampaignMember.objects.create(campaign=campaign, customer_id=w.customer, group="treatment", channel="email")
    return campaign.pk


def _order(w: World) -> dict[str, Any]:
    return {"customer_id": w.customer, "channel": "web", "ordered_at": AT,
            "lines": [{"product_id": w.product, "quantity": "2", "unit_price": "10.00", "unit_cost": "5.00"}]}


def _cost_event(w: World) -> dict[str, Any]:
    return {"customer_id": w.customer, "kind": "ticket", "amount": "3.00", "occurred_at": AT}


def _interaction(w: World) -> dict[str, Any]:
    return {"customer_id": w.customer, "channel": "call", "subject": "S", "occurred_at": AT, "contact_id": w.contact}


# (method, path) -> path parameters and body of a valid request (query parameters start empty).
BASELINES: dict[tuple[str, str], Callable[[World], tuple[dict[str, int], Any]]] = {
    ("GET", "/customers"): lambda w: ({}, None),
    ("POST", "/customers"): lambda w: ({}, {"name": "New", "acquired_on": "2020-01-01", "acquisition_cost": "1.00"}),
    ("GET", "/customers/{customer_id}"): lambda w: ({"customer_id": w.customer}, None),
    ("PATCH", "/customers/{customer_id}"): lambda w: ({"customer_id": w.customer}, {}),
    ("GET", "/customers/{customer_id}/timeline"): lambda w: ({"customer_id": w.customer}, None),
    ("GET", "/customers/{customer_id}/privacy-export"): lambda w: ({"customer_id": w.customer}, None),
    ("POST", "/customers/{customer_id}/privacy-erase"): lambda w: ({"customer_id": w.customer}, None),
    ("GET", "/audit"): lambda w: ({}, None),
    ("GET", "/contacts"): lambda w: ({}, None),
    ("POST", "/contacts"): lambda w: ({}, {"customer_id": w.customer, "name": "Wu"}),
    ("GET", "/contacts/{contact_id}"): lambda w: ({"contact_id": w.contact}, None),
    ("PATCH", "/contacts/{contact_id}"): lambda w: ({"contact_id": w.contact}, {}),
    ("GET", "/products"): lambda w: ({}, None),
    ("POST", "/products"): lambda w: ({}, {"sku": "SKU-NEW", "name": "New", "list_price": "1.00", "unit_cost": "1.00"}),
    ("GET", "/products/{product_id}"): lambda w: ({"product_id": w.product}, None),
    ("PATCH", "/products/{product_id}"): lambda w: ({"product_id": w.product}, {}),
    ("GET", "/orders"): lambda w: ({}, None),
    ("POST", "/orders"): lambda w: ({}, _order(w)),
    ("GET", "/orders/{order_id}"): lambda w: ({"order_id": w.order}, None),
    ("PATCH", "/orders/{order_id}"): lambda w: ({"order_id": w.order}, {"lines": _order(w)["lines"]}),
    ("GET", "/cost-events"): lambda w: ({}, None),
    ("POST", "/cost-events"): lambda w: ({}, _cost_event(w)),
    ("GET", "/cost-events/{event_id}"): lambda w: ({"event_id": w.cost_event}, None),
    ("PATCH", "/cost-events/{event_id}"): lambda w: ({"event_id": w.cost_event}, {}),
    ("GET", "/interactions"): lambda w: ({}, None),
    ("POST", "/interactions"): lambda w: ({}, _interaction(w)),
    ("GET", "/interactions/{interaction_id}"): lambda w: ({"interaction_id": w.interaction}, None),
    ("PATCH", "/interactions/{interaction_id}"): lambda w: ({"interaction_id": w.interaction}, {}),
    ("GET", "/tasks"): lambda w: ({}, None),
    ("POST", "/tasks"): lambda w: ({}, {"customer_id": w.customer, "title": "T", "due_at": AT}),
    ("GET", "/tasks/{task_id}"): lambda w: ({"task_id": w.task}, None),
    ("PATCH", "/tasks/{task_id}"): lambda w: ({"task_id": w.task}, {}),
    ("GET", "/leads"): lambda w: ({}, None),
    ("POST", "/leads"): lambda w: ({}, {"name": "L"}),
    ("GET", "/leads/{lead_id}"): lambda w: ({"lead_id": w.lead}, None),
    ("PATCH", "/leads/{lead_id}"): lambda w: ({"lead_id": w.lead}, {}),
    ("POST", "/leads/{lead_id}/convert"): lambda w: ({"lead_id": w.lead}, None),
    ("GET", "/opportunities"): lambda w: ({}, None),
    ("POST", "/opportunities"): lambda w: ({}, {"name": "O", "customer_id": w.customer, "amount": "1.00",
                                               "expected_close": "2030-01-31"}),
    ("GET", "/opportunities/{opportunity_id}"): lambda w: ({"opportunity_id": w.opportunity}, None),
    ("PATCH", "/opportunities/{opportunity_id}"): lambda w: ({"opportunity_id": w.opportunity}, {}),
    ("GET", "/opportunities/{opportunity_id}/stages"): lambda w: ({"opportunity_id": w.opportunity}, None),
    ("POST", "/ingest/orders"): lambda w: ({}, {"items": [_order(w)]}),
    ("POST", "/ingest/events"): lambda w: ({}, {"items": [{"type": "cost_event", **_cost_event(w)},
                                                          {"type": "interaction", **_interaction(w)}]}),
    ("GET", "/webhooks"): lambda w: ({}, None),
    ("GET", "/webhooks/{webhook_id}"): lambda w: ({"webhook_id": w.webhook}, None),
    ("PATCH", "/webhooks/{webhook_id}"): lambda w: ({"webhook_id": w.webhook}, {}),
    ("DELETE", "/webhooks/{webhook_id}"): lambda w: ({"webhook_id": w.webhook}, None),
    ("POST", "/webhooks/{webhook_id}/rotate-secret"): lambda w: ({"webhook_id": w.webhook}, None),
    ("POST", "/webhooks/{webhook_id}/ping"): lambda w: ({"webhook_id": w.webhook}, None),
    ("GET", "/webhooks/{webhook_id}/deliveries"): lambda w: ({"webhook_id": w.webhook}, None),
    ("POST", "/webhook-deliveries/{delivery_id}/retry"): lambda w: ({"delivery_id": w.delivery}, None),
    ("GET", "/surveys/{survey_id}"): lambda w: ({"survey_id": w.survey}, None),
    ("POST", "/surveys/{survey_id}/invitations"): lambda w: (
        {"survey_id": w.survey}, {"customers": [w.customer], "channel": "link"}),
    ("GET", "/responses"): lambda w: ({}, None),
    ("POST", "/responses"): lambda w: ({}, {"survey": w.survey, "score": 5, "customer": w.customer}),
    ("GET", "/follow-ups"): lambda w: ({}, None),
    ("GET", "/rates"): lambda w: ({}, None),
    ("POST", "/rates"): lambda w: ({}, {"currency": "USD", "date": "2025-03-05", "rate": "7.1"}),
    ("GET", "/segments"): lambda w: ({}, None),
    ("POST", "/segments"): lambda w: ({}, {"name": "S", "filter": {"last_order_after": "2020-01-01"}}),
    ("GET", "/segments/{segment_id}"): lambda w: ({"segment_id": w.segment}, None),
    ("PATCH", "/segments/{segment_id}"): lambda w: ({"segment_id": w.segment}, {"filter": {}}),
    ("DELETE", "/segments/{segment_id}"): lambda w: ({"segment_id": w.segment}, None),
    ("GET", "/segments/{segment_id}/customers"): lambda w: ({"segment_id": w.segment}, None),
    ("GET", "/segments/{segment_id}/uplift"): lambda w: ({"segment_id": w.segment}, None),
    ("GET", "/campaigns/{campaign_id}/report"): lambda w: ({"campaign_id": _report_campaign(w)}, None),
    ("POST", "/campaigns/{campaign_id}/report/refresh"): lambda w: ({"campaign_id": _report_campaign(w)}, None),
    ("POST", "/campaigns/{campaign_id}/responses"): lambda w: (
        {"campaign_id": _report_campaign(w)},
        {"customer_id": w.customer, "at": (dj_timezone.now() - timedelta(hours=1)).isoformat(), "revenue": "5.00"}),
    ("POST", "/campaigns/simulate"): lambda w: ({}, {
        "segment_id": w.segment, "channel": "email", "offer": "10% off", "offer_product_id": w.product,
        "control_share": 0.2, "cost": 100, "response_window_days": 30}),
    ("GET", "/campaigns"): lambda w: ({}, None),
    ("POST", "/campaigns"): lambda w: ({}, {"name": "C", "segment_id": w.segment, "channel": "mail",
                                           "starts_on": "2025-03-01", "ends_on": "2025-03-31", "cost": "1.00"}),
    ("GET", "/campaigns/{campaign_id}"): lambda w: ({"campaign_id": w.campaign}, None),
    ("PATCH", "/campaigns/{campaign_id}"): lambda w: ({"campaign_id": w.campaign}, {}),
    ("DELETE", "/campaigns/{campaign_id}"): lambda w: ({"campaign_id": w.campaign}, None),
    ("POST", "/campaigns/{campaign_id}/launch"): lambda w: ({"campaign_id": w.campaign}, {}),
    ("GET", "/campaigns/{campaign_id}/members"): lambda w: ({"campaign_id": w.campaign}, None),
    ("GET", "/campaigns/{campaign_id}/skipped"): lambda w: ({"campaign_id": w.campaign}, None),
    ("GET", "/campaigns/{campaign_id}/call-list"): lambda w: ({"campaign_id": w.campaign}, None),
    ("GET", "/campaigns/{campaign_id}/mailing.csv"): lambda w: ({"campaign_id": w.campaign}, None),
}


def _key(field: FieldRef) -> tuple[str, str]:
    return field.method, field.path.removeprefix(PREFIX)


def test_every_operation_with_a_date_or_number_field_has_a_baseline():
    missing = sorted({f"{m} {p}" for m, p in map(_key, FIELDS) if (m, p) not in BASELINES})
    assert not missing, f"add a valid request to BASELINES for: {missing}"
    kinds = {f.kind for f in FIELDS}
    assert kinds == {"date", "date-time", "integer", "number"}  # the enumeration finds every kind
    names = {f.name for f in FIELDS}
    assert {"ordered_at", "lines.[].quantity", "items.[].ordered_at", "acquired_on", "ordered_after"} <= names


# ---------------------------------------------------------------- values


OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


def _iso_moments() -> st.SearchStrategy[str]:
    aware = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                         timezones=OFFSETS)
    naive = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
    return st.one_of(aware.map(datetime.isoformat), naive.map(datetime.isoformat), st.text(max_size=30))


def _iso_days() -> st.SearchStrategy[str]:
    return st.one_of(st.dates().map(date.isoformat), st.text(max_size=12))


def _numbers() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["1e400", "-0", "0.001", "1E+30", "12.345", "", " 1 "]),
        st.text(max_size=10),
    )


EDGES: dict[str, list[Any]] = {
    "date-time": ["9999-12-31T23:59:59-08:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59+00:00",
                  "0001-01-01T00:00:00-23:59", "2199-12-31T23:59:59-23:59", "1900-01-01T00:00:00+23:59",
                  "2025-03-05T10:00:00"],
    "date": ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01", "1900-01-01", "2199-12-31"],
    "number": [2**63, -(2**63) - 1, 10**30, -1, 0, "NaN", "Infinity", "-Infinity", "1e400", 1e308, 0.1],
    "integer": [2**63, -(2**63) - 1, 2**31, 10**30, -1, 0, 1.5, "1"],
}
STRATEGIES = {"date-time": _iso_moments(), "date": _iso_days(), "number": _numbers(), "integer": _numbers()}


# ---------------------------------------------------------------- the requests


def _set(container: Any, steps: list[str], value: Any) -> None:
    step, rest = steps[0], steps[1:]
    for key in range(len(container)) if step == "[]" else [step]:
        if not rest:
            container[key] = value
            continue
        if isinstance(container, dict) and key not in container:
            container[key] = {}
        _set(container[key], rest, value)


def _as_param(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _request(field: FieldRef, world: World, value: Any) -> tuple[str, dict[str, str], str | None]:
    """The URL, query and JSON body of the operation's valid request with ``field`` set to ``value``."""
    path_params, body = BASELINES[_key(field)](world)
    params: dict[str, Any] = dict(path_params)
    query: dict[str, str] = {}
    if field.where == "path":
        params[field.name] = _as_param(value)
    elif field.where == "query":
        query[field.name] = _as_param(value)
    else:
        body = json.loads(json.dumps(body))
        steps = field.name.split(".")
        if steps[0] == "[]" and isinstance(body, dict):
            body = [body]  # an operation that takes one item or a list of them: the list form
        _set(body, steps, value)
    url = field.path
    for name, param in params.items():
        url = url.replace("{" + name + "}", str(param))
    return url, query, None if body is None else json.dumps(body)


def _declared(field: FieldRef) -> set[int]:
    responses = DOC["paths"][field.path][field.method.lower()]["responses"]
    return {int(code) for code in responses}


READS = ("/customers/{customer}/timeline", "/orders?format=csv", "/cost-events?format=csv",
         "/interactions?format=csv", "/tasks?format=csv", "/customers?format=csv")


def _check(api: Any, field: FieldRef, world: World, value: Any) -> None:
    url, query, body = _request(field, world, value)
    with transaction.atomic():  # each request on the same world: rolled back afterwards
        call = getattr(api.client, field.method.lower())
        if body is None:
            response = call(url, query, headers=api._headers())
        else:
            response = call(url + ("?" + urlencode(query) if query else ""), data=body,
                            content_type="application/json", headers=api._headers())
        status = response.status_code
        where = (str(field), value, status, response.content[:300])
        assert status < 500, where
        if status >= 400:
            assert set(response.json()) == {"code", "message", "details"}, where
        # A path value that matches no route is the API's catch-all 404.
        assert status in _declared(field) or (status == 404 and field.where == "path"), where
        if field.kind in ("date", "date-time") and field.method in ("POST", "PATCH") and status < 300:
            # A time that was accepted can be read back: the timeline, the lists and their CSV
            # (which show it in the site's time zone).
            for read in READS:
                after = api.client.get(PREFIX + read.format(customer=world.customer), headers=api._headers())
                assert after.status_code == 200, (*where, read, after.content[:300])
                if after.streaming:
                    b"".join(after.streaming_content)
        transaction.set_rollback(True)


@pytest.mark.slow
@pytest.mark.parametrize("field", FIELDS, ids=str)
def test_field_never_answers_500(root, world, field):
    api = client_for(root)
    for value in EDGES[field.kind]:
        _check(api, field, world, value)

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(value=STRATEGIES[field.kind])
    def drawn(value: Any) -> None:
        _check(api, field, world, value)

    drawn()
