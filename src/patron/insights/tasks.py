"""Background jobs of the insights app, run by `patron worker`."""

from __future__ import annotations

from datetime import date

from django_tasks import task


@task()
def nightly_scoring(period_key: str) -> int:
    """Score every customer as of the scheduled day (the scheduler's daily key); returns the run id.

    Re-running the same day rewrites that day's run, so a retry or a second worker is harmless.
    """
    # Imported here so registering the job at start-up does not load the analytics stack.
    from patron.insights.services import scoring_run_execute

    return scoring_run_execute(as_of=date.fromisoformat(period_key)).pk
