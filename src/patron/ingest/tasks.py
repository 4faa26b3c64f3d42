"""Background work of the ingest app, run by ``patron worker``: sending webhook deliveries."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django_tasks import task

from patron.ingest import delivery

logger = logging.getLogger("patron.webhooks")

# Deliveries per task: one task row per batch of orders, not per order.
TASK_BATCH = 100


@task()
def deliver_webhooks(delivery_ids: list[int]) -> dict[str, int]:
    """Attempt these webhook deliveries once each; failures are re-enqueued with backoff."""
    return deliver(delivery_ids)


@task()
def webhooks_sweep(period: str) -> int:
    """Every ten minutes: re-enqueue deliveries whose task was lost. ``period`` is the scheduler's key."""
    return sweep()


def deliver(delivery_ids: Iterable[int]) -> dict[str, int]:
    """Attempt each due delivery once; schedule retries. Returns counts by outcome (for the task log)."""
    outcome, retry_at = delivery.attempt(delivery_ids, can_defer=deliver_webhooks.get_backend().supports_defer)
    for moment, ids in retry_at.items():
        enqueue_deliveries(ids, run_after=moment)
    return outcome


def sweep(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Re-enqueue deliveries that are due but whose task was lost (crash between commit and enqueue)."""
    ids = delivery.lost(older_than=older_than)
    if ids:
        enqueue_deliveries(ids)
    return len(ids)


def enqueue_deliveries(ids: list[int], *, run_after: datetime | None = None) -> None:
    """Queue the sending of these deliveries, ``TASK_BATCH`` per task (no earlier than ``run_after``)."""
    task = deliver_webhooks
    if run_after is not None and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    for start in range(0, len(ids), TASK_BATCH):
        try:
            task.enqueue(ids[start : start + TASK_BATCH])
        except Exception:
            # The deliveries are recorded; the periodic sweep enqueues them again.
            logger.exception("could not enqueue webhook deliveries %s", ids[start : start + TASK_BATCH])
