"""Outbound webhooks: subscribers to Patron's events, delivered by the worker, signed, with
retries and a log.

Apps that produce events publish them through ``patron.core.events`` and never name this app;
``IngestConfig.ready`` subscribes ``emit_many`` to every event in ``EVENTS``::

    from patron.core import events
    events.publish("response.received", {"id": response.pk, "customer_id": ..., "score": 9})

``emit`` records one delivery per active webhook subscribed to the event, in the caller's
transaction, and enqueues their sending when that transaction commits: a rolled-back write
sends nothing, a committed one is never forgotten (a periodic sweep re-enqueues deliveries whose
task was lost). The payload must be JSON-serialisable (Decimal, date and datetime are converted
to strings). ``emit_many`` records the deliveries of many payloads with one insert.

Which events anyone listens to is kept per process (``listening``): an event nobody subscribes
to costs no query at all. A subscription saved or deleted in this process is seen at once; one
changed in another process within ``LISTENING_TTL`` seconds. When someone listens, the
subscribers are read from the database, so a delivery never goes to a deleted or deactivated
webhook.

What a receiver gets: a POST with a JSON body
``{"id": "<delivery id>", "event": "order.created", "created_at": "<ISO 8601>", "data": {...}}``
and the headers ``X-Patron-Event``, ``X-Patron-Delivery``, ``X-Patron-Timestamp`` (Unix seconds)
and ``X-Patron-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>." + body`` keyed with
the webhook's secret. ``delivery.verify_signature`` is the reference check (docs/api.md shows it for
receivers): it also refuses timestamps older than five minutes, so a captured request cannot be
replayed later.

A 2xx answer within ``TIMEOUT`` seconds is a delivery; anything else (other status, redirect,
timeout, refused connection) is retried with exponential backoff — ``RETRY_BASE`` seconds, then
twice as long each time — up to ``MAX_ATTEMPTS`` attempts, after which the delivery is marked
failed. Settings: PATRON_WEBHOOK_RETRY_SECONDS (60), PATRON_WEBHOOK_MAX_ATTEMPTS (8),
PATRON_WEBHOOK_TIMEOUT (10).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core import bulk
from patron.ingest.models import Webhook, WebhookDelivery, WebhookEvent, new_webhook_secret
from patron.ingest.tasks import enqueue_deliveries

logger = logging.getLogger("patron.webhooks")

EVENTS: tuple[str, ...] = tuple(WebhookEvent.values)


class UnknownEventError(ValueError):
    pass


# ---------------------------------------------------------------- emitting

LISTENING_TTL = 5.0  # seconds a process trusts its list of events that have subscribers
_listened: tuple[float, frozenset[str]] | None = None
_listened_lock = threading.Lock()


def _remember(hooks: list[Webhook]) -> frozenset[str]:
    global _listened
    events = frozenset(e for w in hooks for e in (w.events or []) if isinstance(e, str))
    with _listened_lock:
        _listened = (time.monotonic(), events)
    return events


def subscribers(event: str) -> list[Webhook]:
    # Filtered in Python: the table is small, and SQLite has no JSON "contains" lookup.
    hooks = list(Webhook.objects.filter(is_active=True))
    _remember(hooks)  # the same read says which events are listened to
    return [w for w in hooks if event in (w.events or [])]


def listening(event: str) -> bool:
    """Whether an active webhook subscribes to ``event``; one query every ``LISTENING_TTL``
    seconds per process, none in between (answers and orders ask on every write)."""
    known = _listened
    if known is None or time.monotonic() - known[0] > LISTENING_TTL:
        return event in _remember(list(Webhook.objects.filter(is_active=True).only("events")))
    return event in known[1]


def subscriptions_changed(**_kwargs: Any) -> None:
    """Signal receiver (Webhook saved or deleted): read the subscriptions again next time,
    and once more after the change commits, so a reader in between cannot keep a stale list."""
    global _listened
    with _listened_lock:
        _listened = None

    def forget() -> None:
        global _listened
        with _listened_lock:
            _listened = None

    transaction.on_commit(forget)


def emit(event: str, payload: Mapping[str, Any]) -> int:
    """Queue ``payload`` for every active webhook subscribed to ``event``; sent after commit.

    ``event`` is one of ``EVENTS``. Returns the number of deliveries queued.
    """
    return emit_many(event, [payload])


def emit_many(event: str, payloads: Iterable[Mapping[str, Any]]) -> int:
    """``emit`` for many payloads of one event (batch ingestion); payloads are read only if someone listens."""
    if event not in EVENTS:
        raise UnknownEventError(f"unknown webhook event {event!r}; known: {', '.join(EVENTS)}")
    if not listening(event):
        return 0
    hooks = subscribers(event)
    if not hooks:
        return 0
    now = timezone.now()
    stamp = json.dumps(now.isoformat())
    rows: list[tuple[int, str, str, str, datetime]] = []
    for payload in payloads:
        data = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False)
        for hook in hooks:
            delivery_id = str(uuid.uuid4())
            body = f'{{"id": "{delivery_id}", "event": "{event}", "created_at": {stamp}, "data": {data}}}'
            rows.append((hook.pk, event, delivery_id, body, now))
    if not rows:
        return 0
    ids = _insert_deliveries(rows)
    transaction.on_commit(lambda: enqueue_deliveries(ids))
    return len(ids)


_DELIVERY_COLUMNS = ("webhook_id", "event", "delivery_id", "payload", "created_at")


def _insert_deliveries(rows: list[tuple[int, str, str, str, datetime]]) -> list[int]:
    """Write the deliveries (payloads already JSON text) with one statement; returns their ids."""
    if len(rows) == 1:
        webhook_id, event, delivery_id, body, _now = rows[0]
        delivery = WebhookDelivery.objects.create(
            webhook_id=webhook_id, event=event, delivery_id=delivery_id, payload=json.loads(body)
        )
        return [delivery.pk]
    # One executemany (SQLite) or COPY (PostgreSQL) for the whole batch, ids taken up front;
    # atomic so the ids are allocated under the transaction that writes them.
    with transaction.atomic(savepoint=False):
        ids = bulk.allocate_ids(WebhookDelivery, len(rows))
        bulk.insert(WebhookDelivery, ("id", *_DELIVERY_COLUMNS), [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
    return ids


# ---------------------------------------------------------------- managing subscriptions


def webhook_create(
    *, name: str, url: str, events: Iterable[str], created_by: Any = None, is_active: bool = True
) -> Webhook:
    webhook = Webhook(
        name=name, url=url, events=list(dict.fromkeys(events)), created_by=created_by, is_active=is_active
    )
    webhook.full_clean()
    webhook.save()
    return webhook


def webhook_update(*, webhook: Webhook, changes: Mapping[str, Any]) -> Webhook:
    changes = dict(changes)
    unknown = set(changes) - {"name", "url", "events", "is_active"}
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, code="read_only"
        )
    if "events" in changes:
        changes["events"] = list(dict.fromkeys(changes["events"]))
    for name, value in changes.items():
        setattr(webhook, name, value)
    webhook.full_clean()
    if changes:
        webhook.save(update_fields=[*changes, "updated_at"])
    return webhook


def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    webhook.secret = new_webhook_secret()
    webhook.save(update_fields=["secret", "updated_at"])
    return webhook


def delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery once more now (an administrator's action after fixing the receiver).

    Its attempts keep counting, so a manual retry that fails is not retried again on its own.
    """
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "next_attempt_at"])
    transaction.on_commit(lambda: enqueue_deliveries([delivery.pk]))
    return delivery


def webhook_ping(*, webhook: Webhook) -> WebhookDelivery:
    """Queue a ``ping`` delivery to one webhook, whatever its events, to test the receiver."""
    delivery_id = str(uuid.uuid4())
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event="ping",
        delivery_id=delivery_id,
        payload={
            "id": delivery_id,
            "event": "ping",
            "created_at": timezone.now().isoformat(),
            "data": {"webhook_id": webhook.pk},
        },
    )
    transaction.on_commit(lambda: enqueue_deliveries([delivery.pk]))
    return delivery
