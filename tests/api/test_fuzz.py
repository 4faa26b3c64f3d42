"""API fuzzing: Schemathesis drives every operation of ``/api/v1/openapi.json`` in process.

For an administrator's token and a rep's, Schemathesis generates requests from the document —
valid ones (positive) and ones that break it (negative) — and calls the WSGI application with
them. Every answer must be below 500, have a status the operation declares, a declared content
type, and a body that matches the declared schema. Path ids are drawn both freely and from records
that exist, so the answers for real records are checked too. Bounded and repeatable: a fixed
number of examples per operation, derandomized, each request rolled back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from patron.commerce.services import LineInput, cost_event_create, order_create
from patron.core.tokens import token_create
from patron.customers.services import contact_create
from patron.engagement.services import interaction_create, task_create
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.ingest.models import WebhookDelivery
from patron.ingest.webhooks import webhook_create
from patron.sales.services import lead_create, opportunity_create
from tests.factories import make_customer, make_product

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Examples per operation and role; the whole file stays within about two minutes on SQLite.
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def in_process():
    """Call the WSGI application inside the test's transaction, as Django's test client does:
    without closing the connection at the end of each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@dataclass
class Records:
    """Ids of records the rep owns (the administrator sees them too), by path parameter name."""

    ids: dict[str, int]


@pytest.fixture
def records(alice) -> Records:
    webhook = webhook_create(name="hook", url="http://127.0.0.1:9/hook", events=["order.created"])
    customer = make_customer("Fuzz", owner=alice, external_id="C-F", email="f@example.com", consent_survey=True,
                             tags=["vip"])
    product = make_product(sku="SKU-F", price=10, cost=5)
    at = timezone.now() - timedelta(days=2)
    order = order_create(customer=customer, channel="web", ordered_at=at, lines=[LineInput(product, 1)])
    event = cost_event_create(customer=customer, kind="ticket", amount=Decimal("1.00"), occurred_at=at)
    contact = contact_create(customer=customer, name="Li")
    interaction = interaction_create(customer=customer, channel="call", subject="Hi", occurred_at=at, contact=contact)
    task = task_create(customer=customer, title="Call")
    survey = survey_create(name="NPS", kind="nps")
    response_create(survey=survey, customer=customer, score=3, channel="api", comment="slow")
    delivery = WebhookDelivery.objects.filter(webhook=webhook).first()
    assert delivery is not None
    lead = lead_create(name="Fuzz lead", owner=alice)
    opportunity = opportunity_create(name="Fuzz deal", customer=customer, amount=Decimal("5.00"))
    return Records({
        "customer_id": customer.pk, "contact_id": contact.pk, "product_id": product.pk, "order_id": order.pk,
        "event_id": event.pk, "interaction_id": interaction.pk, "task_id": task.pk, "survey_id": survey.pk,
        "webhook_id": webhook.pk, "delivery_id": delivery.pk, "lead_id": lead.pk, "opportunity_id": opportunity.pk,
    })


def _operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


def _fuzz(app: Any, user: Any, records: Records, mode: GenerationMode) -> dict[str, str]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    _token, raw = token_create(user=user)
    headers = {"Authorization": f"Bearer {raw}"}
    failures: dict[str, str] = {}
    operations = list(_operations(schema))
    assert len(operations) >= 40  # the document lists the whole API

    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        strategy = operation.as_strategy(generation_mode=mode)
        if names and all(name in records.ids for name in names):
            existing = {name: records.ids[name] for name in names}
            strategy = st.one_of(operation.as_strategy(generation_mode=mode, path_parameters=existing), strategy)

        @settings(max_examples=EXAMPLES[mode], derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: Any) -> None:
            with transaction.atomic():  # every request starts from the same records
                response = case.call(headers=headers)
                transaction.set_rollback(True)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # Schemathesis reports a group of failures
            failures[operation.label] = str(exc)[:3000]
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("role", ["admin", "rep"])
def test_every_operation_holds_to_the_document(in_process, records, root, alice, role, mode):
    failures = _fuzz(in_process, root if role == "admin" else alice, records, mode)
    assert not failures, "\n\n".join(f"== {label}\n{report}" for label, report in failures.items())
