"""Sending webhook deliveries: signed POSTs, one attempt each, and when to try again.

Nothing here queues work: ``attempt`` returns the retries it scheduled and ``lost`` the
deliveries whose task was lost; the tasks (``ingest.tasks``) enqueue them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.ingest.models import Webhook, WebhookDelivery

SIGNATURE_HEADER = "X-Patron-Signature"
TIMESTAMP_HEADER = "X-Patron-Timestamp"
REPLAY_TOLERANCE = 300  # seconds
MAX_BACKOFF = timedelta(hours=6)


def retry_base() -> float:
    return float(settings.PATRON_WEBHOOK_RETRY_SECONDS)


def max_attempts() -> int:
    return int(settings.PATRON_WEBHOOK_MAX_ATTEMPTS)


def timeout() -> float:
    return float(settings.PATRON_WEBHOOK_TIMEOUT)


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


def attempt(delivery_ids: Iterable[int], *, can_defer: bool) -> tuple[dict[str, int], dict[datetime, list[int]]]:
    """Attempt each due delivery once. Returns counts by outcome (for the task log) and the
    deliveries to try again, by when; without ``can_defer`` (a backend that cannot wait) at once."""
    outcome = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    retry_at: dict[datetime, list[int]] = {}
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
    return outcome, retry_at


def lost(*, older_than: timedelta = timedelta(minutes=5)) -> list[int]:
    """Deliveries that are due but whose task was lost (crash between commit and enqueue)."""
    cutoff = timezone.now() - older_than
    return list(
        WebhookDelivery.objects.filter(
            Q(status=WebhookDelivery.Status.PENDING, created_at__lt=cutoff)
            | Q(status=WebhookDelivery.Status.RETRYING, next_attempt_at__lt=cutoff)
        ).values_list("pk", flat=True)[:10000]
    )


