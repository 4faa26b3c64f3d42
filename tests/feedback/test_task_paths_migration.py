"""Tasks queued before the upgrade still run after it: the migrations point them at the modules
their functions moved to (feedback.jobs, insights.tasks)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tasks_db.models import DBTaskResult

from patron.core import scheduler
from patron.feedback import jobs
from patron.insights import tasks as insight_tasks

BEFORE = [("feedback", "0006_integrity_constraints"), ("insights", "0006_integrity_constraints")]


@pytest.mark.django_db(transaction=True)
def test_queued_tasks_follow_their_functions():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    queued = {
        "trigger_invite": jobs.trigger_invite.enqueue(1, 2, None, "order:3").id,
        "reviews_create_quarterly": jobs.reviews_create_quarterly.enqueue("2026Q4").id,
        "nps_figures_refresh": insight_tasks.nps_figures_refresh.enqueue("2026-11-23T10:10").id,
    }
    old = {
        "trigger_invite": "patron.feedback.tasks.trigger_invite",
        "reviews_create_quarterly": "patron.feedback.tasks.reviews_create_quarterly",
        "nps_figures_refresh": "patron.feedback.tasks.nps_figures_refresh",
    }
    for name, pk in queued.items():  # as the previous release stored them
        DBTaskResult.objects.filter(pk=pk).update(task_path=old[name])

    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    paths = {str(pk): path for pk, path in DBTaskResult.objects.values_list("pk", "task_path")}
    assert paths[queued["trigger_invite"]] == jobs.trigger_invite.module_path == "patron.feedback.jobs.trigger_invite"
    assert paths[queued["reviews_create_quarterly"]] == jobs.reviews_create_quarterly.module_path
    assert paths[queued["nps_figures_refresh"]] == insight_tasks.nps_figures_refresh.module_path
    # The scheduler knows this quarter's reviews job is queued: it does not queue it again.
    moment = datetime(2026, 11, 23, 10, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert "reviews_create_quarterly:2026Q4" not in scheduler.enqueue_due(moment)
