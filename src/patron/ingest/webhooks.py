"""Outbound webhooks: ``emit`` an event, the worker delivers it, signed, with retries and a log.

For the apps that produce events there is one function::

    from patron.ingest.webhooks import emit
    emit("response.received", {"id": response.pk, "customer_id": ..., "score": 9})

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
the webhook's secret. ``verify_signature`` is the reference check (docs/api.md shows it for
receivers): it also refuses timestamps older than five minutes, so a captured request cannot be
replayed later.

A 2xx answer within ``TIMEOUT`` seconds is a delivery; anything else (other status, redirect,
timeout, refused connection) is retried with exponential backoff — ``RETRY_BASE`` seconds, then
twice as long each time — up to ``MAX_ATTEMPTS`` attempts, after which the delivery is marked
failed. Settings: PATRON_WEBHOOK_RETRY_SECONDS (60), PATRON_WEBHOOK_MAX_ATTEMPTS (8),
PATRON_WEBHOOK_TIMEOUT (10).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.ingest.models import Webhook, WebhookDelivery, WebhookEvent

logger = logging.getLogger("patron.webhooks")

EVENTS: tuple[str, ...] = tuple(WebhookEvent.values)
SIGNATURE_HEADER = "X-Patron-Signature"
TIMESTAMP_HEADER = "X-Patron-Timestamp"
REPLAY_TOLERANCE = 300  # seconds
# Deliveries per task: one task row per batch of orders, not per order.
TASK_BATCH = 100
MAX_BACKOFF = timedelta(hours=6)


def retry_base() -> float:
    return float(settings.PATRON_WEBHOOK_RETRY_SECONDS)


def max_attempts() -> int:
    return int(settings.PATRON_WEBHOOK_MAX_ATTEMPTS)


def timeout() -> float:
    return float(settings.PATRON_WEBHOOK_TIMEOUT)


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
    from patron.imports import writer

    # One executemany (SQLite) or COPY (PostgreSQL) for the whole batch, ids taken up front;
    # atomic so the ids are allocated under the transaction that writes them.
    with transaction.atomic(savepoint=False):
        ids = writer.allocate_ids(WebhookDelivery, len(rows))
        writer.insert(WebhookDelivery, ("id", *_DELIVERY_COLUMNS), [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
    return ids


def enqueue_deliveries(ids: list[int], *, run_after: datetime | None = None) -> None:
    from patron.ingest.tasks import deliver_webhooks

    task = deliver_webhooks
    if run_after is not None and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    for start in range(0, len(ids), TASK_BATCH):
        try:
            task.enqueue(ids[start : start + TASK_BATCH])
        except Exception:
            # The deliveries are recorded; the periodic sweep enqueues them again.
            logger.exception("could not enqueue webhook deliveries %s", ids[start : start + TASK_BATCH])


# ---------------------------------------------------------------- signing


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC-SHA256 of ``"<timestamp>." + body``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: str, body: bytes, timestamp: str, signature: str, *, tolerance: int = REPLAY_TOLERANCE, now: float | None = None
) -> bool:
    """True if ``signature`` signs ``body`` at ``timestamp`` and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


# ---------------------------------------------------------------- delivering


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is not a delivery: following it would turn the POST into a GET elsewhere.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2×base, 4×base… at most six hours."""
    return min(timedelta(seconds=retry_base() * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def _post(webhook: Webhook, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the delivery once; returns (HTTP status or None, error text or "")."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - http(s) only: Webhook.url's validator
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Patron-Webhooks/1",
            "X-Patron-Event": delivery.event,
            "X-Patron-Delivery": delivery.delivery_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
        },
    )
    try:
        with _opener.open(request, timeout=timeout()) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, f"HTTP {exc.code}" + (f": {detail}" if detail else "")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)[:500]


def deliver(delivery_ids: Iterable[int]) -> dict[str, int]:
    """Attempt each due delivery once; schedule retries. Returns counts by outcome (for the task log)."""
    from patron.ingest.tasks import deliver_webhooks

    outcome = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    retry_at: dict[datetime, list[int]] = {}
    can_defer = deliver_webhooks.get_backend().supports_defer
    now = timezone.now()
    for delivery in WebhookDelivery.objects.select_related("webhook").filter(pk__in=list(delivery_ids)):
        if delivery.status not in (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING):
            outcome["skipped"] += 1
            continue
        if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
            outcome["skipped"] += 1  # a sweep enqueued it early; its own task comes later
            continue
        # Claim the attempt, so a second task running the same delivery does not send it twice.
        claimed = WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(
            attempts=F("attempts") + 1, last_attempt_at=timezone.now()
        )
        if not claimed:
            outcome["skipped"] += 1
            continue
        delivery.attempts += 1
        webhook = delivery.webhook
        if not webhook.is_active:
            code, error = None, _("The webhook was deactivated.")
            final = True
        else:
            code, error = _post(webhook, delivery)
            final = False
        delivery.response_code = code
        delivery.last_attempt_at = timezone.now()
        if code is not None and 200 <= code < 300:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = delivery.last_attempt_at
            delivery.next_attempt_at = None
            delivery.error = ""
            outcome["delivered"] += 1
        elif final or delivery.attempts >= max_attempts():
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            delivery.error = error
            outcome["failed"] += 1
        else:
            delivery.status = WebhookDelivery.Status.RETRYING
            # A backend that cannot defer (the immediate one, in tests) retries at once.
            wait = backoff(delivery.attempts) if can_defer else timedelta(0)
            delivery.next_attempt_at = delivery.last_attempt_at + wait
            delivery.error = error
            retry_at.setdefault(delivery.next_attempt_at, []).append(delivery.pk)
            outcome["retrying"] += 1
        delivery.save(
            update_fields=["status", "response_code", "error", "last_attempt_at", "next_attempt_at", "delivered_at"]
        )
    for moment, ids in retry_at.items():
        enqueue_deliveries(ids, run_after=moment)
    return outcome


def sweep(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Re-enqueue deliveries that are due but whose task was lost (crash between commit and enqueue)."""
    cutoff = timezone.now() - older_than
    ids = list(
        WebhookDelivery.objects.filter(
            Q(status=WebhookDelivery.Status.PENDING, created_at__lt=cutoff)
            | Q(status=WebhookDelivery.Status.RETRYING, next_attempt_at__lt=cutoff)
        ).values_list("pk", flat=True)[:10000]
    )
    if ids:
        enqueue_deliveries(ids)
    return len(ids)


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
    from patron.ingest.models import new_webhook_secret

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
