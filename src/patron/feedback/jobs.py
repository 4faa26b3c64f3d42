"""Background jobs run by ``patron worker`` that start further work: the periodic jobs
(``core.scheduler``) and a trigger's invitation once its delay passed. They call the services,
which queue the messages of ``feedback.tasks``."""

from __future__ import annotations

from django_tasks import task

from patron.feedback.services import follow_ups, invitations, reviews


@task()
def follow_ups_alert(period: str) -> dict[str, int]:
    """Periodic (core.scheduler), every minute: email owners their new follow-ups."""
    return follow_ups.follow_up_alerts_send()


@task()
def trigger_invite(trigger_id: int, customer_id: int, branch_id: int | None, source: str) -> dict[str, int]:
    batch = invitations.trigger_invite_customer(
        trigger_id=trigger_id, customer_id=customer_id, branch_id=branch_id, source=source
    )
    if batch is None:
        return {"queued": 0, "skipped": 0}
    return {"queued": len(batch.queued), "skipped": len(batch.skipped)}


@task()
def follow_ups_escalate(period: str) -> int:
    """Periodic (core.scheduler): escalate overdue follow-ups to the owner's manager."""
    return len(follow_ups.follow_ups_escalate())


@task()
def reviews_create_quarterly(period: str) -> int:
    """Periodic (core.scheduler), once per quarter: a review task per key account."""
    return reviews.reviews_create_for_quarter(quarter=period)
