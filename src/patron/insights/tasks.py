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


@task()
def nps_figures_refresh(period: str) -> bool:
    """Periodic (core.scheduler), every 10 minutes: the NPS page's precomputed figures, skipped
    while no NPS answer was added or removed and no scoring run finished since."""
    # Imported here so registering the job at start-up does not load pandas.
    from patron.insights import sqlite_worker
    from patron.insights.nps_refresh import nps_figures_refresh as refresh

    try:
        return refresh(only_if_changed=True)
    finally:
        sqlite_worker.close()  # no reader process lingers in the worker between jobs
