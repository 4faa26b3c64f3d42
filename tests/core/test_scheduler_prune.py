"""The daily prune of finished task results keeps the queue table small and the periodic jobs right."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from patron.core import scheduler
from patron.feedback import jobs as tasks

pytestmark = pytest.mark.django_db


def _result(task, key: str, *, status: str, days_ago: float) -> str:
    pk = task.enqueue(key).id
    at = timezone.now() - timedelta(days=days_ago)
    DBTaskResult.objects.filter(pk=pk).update(status=status, enqueued_at=at, finished_at=at)
    return pk


def test_old_finished_results_go_each_tasks_newest_and_unfinished_ones_stay():
    old_alerts = [_result(tasks.follow_ups_alert, f"2026-01-0{d}T10:00", status="SUCCESSFUL", days_ago=30 - d) for d in (1, 2)]
    recent = _result(tasks.follow_ups_alert, "2026-11-22T10:00", status="SUCCESSFUL", days_ago=1)
    quarter = _result(tasks.reviews_create_quarterly, "2026Q3", status="SUCCESSFUL", days_ago=60)
    failed = _result(tasks.follow_ups_escalate, "2026-01-01T10:00", status="FAILED", days_ago=40)
    newer_escalation = _result(tasks.follow_ups_escalate, "2026-01-02T10:00", status="FAILED", days_ago=39)
    waiting = tasks.follow_ups_escalate.enqueue("2026-01-03T10:00").id
    DBTaskResult.objects.filter(pk=waiting).update(enqueued_at=timezone.now() - timedelta(days=30))

    # The escalation job's newest result is the waiting one, so both its failures go.
    assert scheduler.prune_results() == 4
    left = {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)}
    assert left == {recent, quarter, waiting}
    assert not left & {*old_alerts, failed, newer_escalation}
    # The quarterly job still finds its quarter done, so it is not run again.
    assert DBTaskResult.objects.filter(
        status=TaskResultStatus.SUCCESSFUL, args_kwargs__args__0="2026Q3"
    ).exists()
