"""Background jobs of the insights app, run by `patron worker`."""

from __future__ import annotations

from django_tasks import task

from patron.insights.services import scoring_run_execute


@task()
def nightly_scoring() -> int:
    """Score every customer as of today; returns the run id."""
    return scoring_run_execute().pk
