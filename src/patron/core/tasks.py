"""Background jobs of the core app, run by ``patron worker``."""

from __future__ import annotations

from django_tasks import task

from patron.core import scheduler


@task()
def task_results_prune(period: str) -> int:
    """Periodic (daily): delete finished task results older than a week."""
    return scheduler.prune_results()
