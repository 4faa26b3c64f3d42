"""Background work of the ingest app, run by ``patron worker``."""

from __future__ import annotations

from django_tasks import task

from patron.ingest import webhooks


@task()
def deliver_webhooks(delivery_ids: list[int]) -> dict[str, int]:
    """Attempt these webhook deliveries once each; failures are re-enqueued with backoff."""
    return webhooks.deliver(delivery_ids)


@task()
def webhooks_sweep(period: str) -> int:
    """Every ten minutes: re-enqueue deliveries whose task was lost. ``period`` is the scheduler's key."""
    return webhooks.sweep()
