"""Background jobs of the insights app, run by `patron worker`."""

from __future__ import annotations

from datetime import date

from django_tasks import task

from patron.insights.models import ScoringRun


@task()
def nightly_scoring(period_key: str) -> int:
    """Score every customer as of the scheduled day (the scheduler's daily key); returns the run id.

    A day already scored (by ``patron score``, the demo's set-up or an earlier attempt) is left as
    it is: rewriting it would take its scores off the pages and /healthz for the run's length, to
    compute the same figures. A day whose run failed or was abandoned is run again.
    """
    # Imported here so registering the job at start-up does not load the analytics stack.
    from patron.insights.services import scoring_run_execute

    day = date.fromisoformat(period_key)
    done = ScoringRun.objects.filter(as_of=day, status=ScoringRun.Status.DONE).values_list("pk", flat=True).first()
    if done is not None:
        return done
    return scoring_run_execute(as_of=day).pk


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
