"""Webhooks delivered to a real HTTP receiver on loopback: signature, retries, the log."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patron.ingest import webhooks
from patron.ingest.delivery import sign, verify_signature
from patron.ingest.models import Webhook, WebhookDelivery
from patron.ingest.tasks import deliver, sweep
from patron.ingest.webhooks import (
    UnknownEventError,
    emit,
    emit_many,
    webhook_create,
)
from tests.api.conftest import client_for
from tests.factories import make_customer, make_order, make_product

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class Receiver:
    """An HTTP server on 127.0.0.1 that records requests and answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[dict] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"boom" if status >= 500 else b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def run_worker() -> None:
    call_command("worker", batch=True, no_schedule=True, interval=0)


def assert_signed(request: dict, secret: str) -> dict:
    headers = request["headers"]
    assert headers["X-Patron-Signature"].startswith("sha256=")
    assert verify_signature(secret, request["body"], headers["X-Patron-Timestamp"], headers["X-Patron-Signature"])
    assert not verify_signature("whsec_wrong", request["body"], headers["X-Patron-Timestamp"], headers["X-Patron-Signature"])
    assert not verify_signature(
        secret, request["body"] + b" ", headers["X-Patron-Timestamp"], headers["X-Patron-Signature"]
    )
    return json.loads(request["body"])


@pytest.mark.django_db(transaction=True)
def test_new_order_is_signed_and_delivered_by_the_worker(receiver, alice):
    hook = webhook_create(name="ERP", url=receiver.url, events=["order.created"])
    customer = make_customer("Buyer", owner=alice, external_id="C-7")
    order = make_order(customer, product=make_product(sku="SKU-9"), quantity=2, external_id="O-7")
    assert receiver.requests == []  # nothing is sent by the writing request itself
    run_worker()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    body = assert_signed(request, hook.secret)
    assert request["headers"]["X-Patron-Event"] == "order.created"
    assert body["event"] == "order.created" and body["id"] == request["headers"]["X-Patron-Delivery"]
    assert body["data"]["id"] == order.pk and body["data"]["external_id"] == "O-7"
    assert body["data"]["customer_external_id"] == "C-7"
    assert body["data"]["lines"][0]["product_sku"] == "SKU-9" and body["data"]["revenue"] == "200.00"
    log = WebhookDelivery.objects.get()
    assert (log.status, log.attempts, log.response_code, log.error) == ("delivered", 1, 200, "")
    assert log.delivered_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_500_is_retried_after_a_backoff(receiver, alice, settings):
    settings.PATRON_WEBHOOK_RETRY_SECONDS = 0.5
    receiver.statuses = [500]
    hook = webhook_create(name="Flaky", url=receiver.url, events=["order.created"])
    make_order(make_customer(owner=alice), external_id="O-500")
    run_worker()
    log = WebhookDelivery.objects.get()
    assert (log.status, log.attempts, log.response_code) == ("retrying", 1, 500)
    assert "HTTP 500" in log.error and "boom" in log.error
    assert timedelta(seconds=0.4) <= log.next_attempt_at - log.last_attempt_at <= timedelta(seconds=0.6)
    run_worker()  # not due yet: nothing is sent
    assert len(receiver.requests) == 1
    time.sleep(0.6)
    run_worker()
    log.refresh_from_db()
    assert (log.status, log.attempts, log.response_code, log.error) == ("delivered", 2, 200, "")
    assert len(receiver.requests) == 2
    first, second = (json.loads(r["body"]) for r in receiver.requests)
    assert first == second  # the same delivery, with the same id, sent again
    assert_signed(receiver.requests[1], hook.secret)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_sends_nothing(receiver, alice):
    webhook_create(name="ERP", url=receiver.url, events=["order.created"])
    customer = make_customer(owner=alice)
    with pytest.raises(RuntimeError), transaction.atomic():
        make_order(customer, external_id="GHOST")
        raise RuntimeError("abort")
    run_worker()
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_gives_up_after_the_last_attempt_and_logs_why(receiver, alice, settings, django_capture_on_commit_callbacks):
    # The immediate backend cannot defer, so the retries follow each other at once.
    settings.TASKS = IMMEDIATE
    settings.PATRON_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [503, 503, 503, 503]
    webhook_create(name="Down", url=receiver.url, events=["order.created"])
    customer = make_customer(owner=alice)
    with django_capture_on_commit_callbacks(execute=True):
        make_order(customer)
    log = WebhookDelivery.objects.get()
    assert (log.status, log.attempts, log.response_code) == ("failed", 3, 503)
    assert len(receiver.requests) == 3
    assert log.next_attempt_at is None and "HTTP 503" in log.error
    deliver([log.pk])  # a failed delivery is not sent again on its own
    assert len(receiver.requests) == 3


@pytest.mark.django_db
def test_unreachable_receiver_is_logged_and_retried(alice, settings, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    settings.PATRON_WEBHOOK_MAX_ATTEMPTS = 2
    webhook_create(name="Nowhere", url="http://127.0.0.1:1/hook", events=["order.created"])
    with django_capture_on_commit_callbacks(execute=True):
        make_order(make_customer(owner=alice))
    log = WebhookDelivery.objects.get()
    assert log.status == "failed" and log.attempts == 2 and log.response_code is None
    assert "refused" in log.error.lower()


@pytest.mark.django_db
def test_only_active_subscribers_of_the_event_get_a_delivery(receiver, alice):
    webhook_create(name="Orders", url=receiver.url, events=["order.created"])
    webhook_create(name="Feedback", url=receiver.url, events=["response.received", "follow_up.opened"])
    webhook_create(name="Off", url=receiver.url, events=["order.created"], is_active=False)
    make_order(make_customer(owner=alice))
    assert list(WebhookDelivery.objects.values_list("webhook__name", flat=True)) == ["Orders"]
    assert emit("follow_up.overdue", {"id": 1}) == 0
    queued = emit("response.received", {"id": 5, "score": Decimal("9"), "at": timezone.now()})
    assert queued == 1
    stored = WebhookDelivery.objects.get(event="response.received").payload
    assert stored["data"]["score"] == "9" and stored["event"] == "response.received"
    with pytest.raises(UnknownEventError):
        emit("order.deleted", {})


@pytest.mark.django_db
def test_batch_ingestion_emits_one_event_per_created_order(receiver, alice):
    webhook_create(name="Orders", url=receiver.url, events=["order.created"])
    make_product(sku="A")
    make_customer("M", owner=alice, external_id="M-1")
    items = [
        {"external_id": f"B-{n}", "customer_external_id": "M-1", "channel": "web",
         "ordered_at": "2025-01-01T00:00:00+00:00", "lines": [{"product_sku": "A", "quantity": 1}]}
        for n in (1, 2, 2)
    ]
    result = client_for(alice).post("/ingest/orders", {"items": items}).json()
    assert result["created"] == 2
    events = WebhookDelivery.objects.filter(event="order.created")
    assert sorted(d.payload["data"]["external_id"] for d in events) == ["B-1", "B-2"]


def test_signature_check_refuses_replays():
    body = b'{"event":"order.created"}'
    now = time.time()
    stamp = str(int(now))
    signature = sign("whsec_x", stamp, body)
    assert verify_signature("whsec_x", body, stamp, signature, now=now)
    assert not verify_signature("whsec_x", body, stamp, signature, now=now + 301)
    assert not verify_signature("whsec_x", body, str(int(now) + 1), signature, now=now)
    assert not verify_signature("whsec_x", body, "not-a-number", signature, now=now)


@pytest.mark.django_db
def test_webhook_api_is_for_administrators(root, alice, receiver, settings, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    as_root, as_alice = client_for(root), client_for(alice)
    assert as_alice.get("/webhooks").status_code == 403
    assert as_alice.post("/webhooks", {"name": "x", "url": receiver.url, "events": ["order.created"]}).status_code == 403
    bad_event = as_root.post("/webhooks", {"name": "x", "url": receiver.url, "events": ["order.exploded"]})
    assert bad_event.status_code == 422
    bad_url = as_root.post("/webhooks", {"name": "x", "url": "ftp://example.com/", "events": ["order.created"]})
    assert bad_url.status_code == 422 and "url" in json.dumps(bad_url.json()).lower()
    created = as_root.post("/webhooks", {"name": "CX", "url": receiver.url, "events": ["follow_up.opened"]})
    assert created.status_code == 201
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    assert Webhook.objects.get(pk=hook["id"]).created_by == root
    with django_capture_on_commit_callbacks(execute=True):
        pinged = as_root.post(f"/webhooks/{hook['id']}/ping")
    assert pinged.status_code == 202
    log = as_root.get(f"/webhooks/{hook['id']}/deliveries").json()
    assert log["count"] == 1
    assert_signed(receiver.requests[-1], hook["secret"])
    rotated = as_root.post(f"/webhooks/{hook['id']}/rotate-secret").json()
    assert rotated["secret"] != hook["secret"]
    assert as_root.patch(f"/webhooks/{hook['id']}", {"is_active": False}).json()["is_active"] is False
    assert as_root.delete(f"/webhooks/{hook['id']}").status_code == 204
    assert not Webhook.objects.filter(pk=hook["id"]).exists()


@pytest.mark.django_db
def test_the_sweep_sends_deliveries_whose_task_was_lost(receiver, alice, settings):
    # No on-commit callbacks run in this test's transaction: as if the process died after commit.
    settings.TASKS = IMMEDIATE
    hook = webhook_create(name="ERP", url=receiver.url, events=["order.created"])
    make_order(make_customer(owner=alice))
    log = WebhookDelivery.objects.get()
    assert log.status == "pending" and receiver.requests == []
    assert sweep() == 0  # too recent: its own task may still be on the way
    WebhookDelivery.objects.filter(pk=log.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert sweep() == 1
    log.refresh_from_db()
    assert log.status == "delivered" and len(receiver.requests) == 1
    assert_signed(receiver.requests[0], hook.secret)


@pytest.mark.django_db
def test_an_event_nobody_listens_to_costs_no_query_and_a_new_subscription_is_heard_at_once(
    receiver, django_assert_num_queries
):
    emit("order.created", {"id": 0})  # reads which events have subscribers
    with django_assert_num_queries(0):
        assert emit("order.created", {"id": 1}) == 0
        assert emit("follow_up.opened", {"id": 1}) == 0
    webhook_create(name="ERP", url=receiver.url, events=["order.created"])
    assert emit("order.created", {"id": 2}) == 1
    assert emit("follow_up.opened", {"id": 2}) == 0


@pytest.mark.django_db
def test_subscriptions_changed_elsewhere_are_heard_within_the_ttl_and_never_used_stale(receiver, monkeypatch):
    hook = webhook_create(name="ERP", url=receiver.url, events=["order.created"])
    assert emit("order.created", {"id": 1}) == 1
    # Another process deactivates it (no signal reaches this one): subscribers are read before writing.
    Webhook.objects.filter(pk=hook.pk).update(is_active=False)
    assert emit("order.created", {"id": 2}) == 0
    # Another process subscribes to a new event: heard once the TTL has passed.
    Webhook.objects.bulk_create([Webhook(name="BI", url=receiver.url, events=["response.received"])])
    assert emit("response.received", {"id": 3}) == 0
    monkeypatch.setattr(webhooks, "LISTENING_TTL", -1.0)
    assert emit("response.received", {"id": 4}) == 1


@pytest.mark.django_db
def test_many_payloads_are_stored_with_one_insert_and_arrive_intact(receiver, settings, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    one = webhook_create(name="A", url=receiver.url, events=["response.received"])
    two = webhook_create(name="B", url=receiver.url, events=["response.received"])
    payloads = [{"id": n, "comment": "送货太慢 \"quoted\"", "score": Decimal("9.5"), "at": timezone.now()} for n in range(3)]
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert emit_many("response.received", payloads) == 6
    table = WebhookDelivery._meta.db_table
    if connection.vendor == "sqlite":  # PostgreSQL's COPY does not pass through Django's query log
        assert sum(f'INSERT INTO "{table}"' in q["sql"] for q in queries.captured_queries) == 1
    assert len(receiver.requests) == 6
    by_hook: dict[str, list[dict]] = {}
    for request in receiver.requests:
        delivery = WebhookDelivery.objects.get(delivery_id=request["headers"]["X-Patron-Delivery"])
        secret = one.secret if delivery.webhook_id == one.pk else two.secret
        body = assert_signed(request, secret)
        assert body["id"] == delivery.delivery_id and body["event"] == "response.received"
        by_hook.setdefault(delivery.webhook.name, []).append(body["data"])
    for name in ("A", "B"):
        data = sorted(by_hook[name], key=lambda d: d["id"])
        assert [d["id"] for d in data] == [0, 1, 2]
        assert data[0]["comment"] == "送货太慢 \"quoted\"" and data[0]["score"] == "9.5"
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
