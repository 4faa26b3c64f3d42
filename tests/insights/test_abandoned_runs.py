"""A scoring run whose process was killed shows as abandoned, is marked failed by the next run
of another day, resumed by the next run of its day; a run under way is not started twice. The
process killed for real: tests/faults/test_scoring_kill.py."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from django.utils import timezone

from patron.core import workers
from patron.insights.models import ScoringRun
from patron.insights.services import ScoringRunBusyError, scoring_run_execute, scoring_runs_abandon

pytestmark = pytest.mark.django_db


def _process(command: list[str]) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen(command)
    host = workers.worker_id().split(":")[0]
    return child, f"{host}:{child.pid}:{workers._started(child.pid)}"


def _started(day: str, runner: str) -> ScoringRun:
    return ScoringRun.objects.create(as_of=date.fromisoformat(day), started_at=timezone.now(), runner=runner)


def test_a_killed_run_shows_as_abandoned_and_is_marked_failed(client, root):
    child, runner = _process(["true"])
    child.wait()
    run = _started("2025-07-31", runner)
    assert run.abandoned
    client.force_login(root)
    assert "Abandoned" in client.get("/models/").content.decode()
    assert scoring_runs_abandon() == 1
    run.refresh_from_db()
    assert run.status == ScoringRun.Status.FAILED and "Abandoned" in run.error and not run.abandoned


def test_a_run_under_way_elsewhere_is_not_started_twice():
    child, runner = _process(["sleep", "60"])
    try:
        _started("2025-07-31", runner)
        with pytest.raises(ScoringRunBusyError, match="already running"):
            scoring_run_execute(as_of=date(2025, 7, 31))
        assert scoring_runs_abandon() == 0  # alive: left alone
    finally:
        child.kill()
        child.wait()


@pytest.mark.django_db
def test_the_nightly_job_leaves_a_day_already_scored_as_it_is():
    from patron.insights.tasks import nightly_scoring

    day = date(2026, 3, 2)
    finished = timezone.now()
    run = ScoringRun.objects.create(
        as_of=day, status=ScoringRun.Status.DONE, started_at=finished, finished_at=finished, n_customers=7
    )
    assert nightly_scoring.call(day.isoformat()) == run.pk
    run.refresh_from_db()
    # Not rewritten: same attempt, same finish, still done.
    assert (run.status, run.attempts, run.finished_at, run.n_customers) == ("done", 1, finished, 7)
