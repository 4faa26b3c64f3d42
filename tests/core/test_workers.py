"""Tasks left RUNNING by a worker that died go back in the queue (core.workers)."""

from __future__ import annotations

import os
import subprocess

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from patron.core import workers
from patron.core.tasks import task_results_prune

pytestmark = pytest.mark.django_db


def _dead_worker() -> str:
    child = subprocess.Popen(["true"])
    child.wait()
    host = workers.worker_id().split(":")[0]
    return f"{host}:{child.pid}:1"


def test_a_worker_id_names_this_process_and_tells_a_dead_one():
    me = workers.worker_id()
    host, pid, started = me.split(":")
    assert int(pid) == os.getpid() and started.isdigit() and len(me) <= 64
    assert not workers.is_gone(me) and workers.is_running(me)
    assert workers.is_gone(_dead_worker())
    # Another host, or an id not in this form, is not known to be gone.
    assert not workers.is_gone(f"elsewhere:{pid}:1") and not workers.is_gone("a-random-id")
    # A live pid that started at another time is another process: the worker it names is gone.
    assert workers.is_gone(f"{host}:{pid}:1")


def _running(*worker_ids: str) -> DBTaskResult:
    result = task_results_prune.enqueue("2026-01-01")
    row = DBTaskResult.objects.get(pk=result.id)
    row.status = TaskResultStatus.RUNNING
    row.worker_ids = list(worker_ids)
    row.save()
    return row


def test_orphans_are_queued_again_and_one_that_kills_its_workers_fails():
    dead = _dead_worker()
    orphan = _running(dead)
    live = _running(workers.worker_id())
    poison = _running(*[dead] * workers.MAX_ATTEMPTS)
    assert workers.requeue_orphans() == (1, 1)
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses[orphan.pk] == TaskResultStatus.READY
    assert statuses[live.pk] == TaskResultStatus.RUNNING
    assert statuses[poison.pk] == TaskResultStatus.FAILED
    assert "WorkerDied" in DBTaskResult.objects.get(pk=poison.pk).exception_class_path
