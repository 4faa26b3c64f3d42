"""Periodic jobs run by ``patron worker``, with no cron and no extra server.

A job is a django-tasks task that takes one argument, the key of its period ("2026-11-23T10:10"
for a ten-minute job, "2026Q4" for a quarterly one). Every ``interval`` seconds the worker's
scheduler thread computes each job's current key and enqueues the task unless a task with that
key is already in the queue table (django_tasks_db's DBTaskResult), so each period is enqueued
once, however often the scheduler wakes or restarts. Two worker processes may both enqueue the
same period in a race; jobs are written to be idempotent (a second run changes nothing).

Finished results older than a week are pruned daily (``prune_results``).

Apps register their jobs in ``AppConfig.ready``::

    scheduler.register(PeriodicJob("follow_ups_escalate", tasks.follow_ups_escalate, every(minutes=10)))
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections
from django.utils import timezone

from patron.core import workers

logger = logging.getLogger("patron.scheduler")

PeriodKey = Callable[[datetime], str]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any  # a django_tasks Task taking the period key
    period: PeriodKey


_JOBS: dict[str, PeriodicJob] = {}


def register(job: PeriodicJob) -> None:
    _JOBS[job.name] = job


def jobs() -> list[PeriodicJob]:
    return list(_JOBS.values())


def every(*, minutes: int) -> PeriodKey:
    """Periods of ``minutes`` aligned on the hour (for minutes dividing 60) in the site's time zone."""
    if minutes < 1:
        raise ValueError("minutes must be at least 1")

    def key(moment: datetime) -> str:
        local = timezone.localtime(moment)
        total = local.hour * 60 + local.minute
        start = total - total % minutes
        return f"{local.date().isoformat()}T{start // 60:02d}:{start % 60:02d}"

    return key


def daily(moment: datetime) -> str:
    return timezone.localtime(moment).date().isoformat()


def quarterly(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def enqueue_due(now: datetime | None = None) -> list[str]:
    """Enqueue each job whose current period has no task yet; returns "name:key" of those enqueued."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    done: list[str] = []
    for job in jobs():
        key = job.period(now)
        path = job.task.module_path
        if DBTaskResult.objects.filter(task_path=path, args_kwargs__args__0=key).exists():
            continue
        job.task.enqueue(key)
        done.append(f"{job.name}:{key}")
    return done


RESULTS_KEPT_DAYS = 7


def prune_results(*, now: datetime | None = None, days: int = RESULTS_KEPT_DAYS) -> int:
    """Delete finished task results older than ``days``; returns how many.

    Without it the queue table grows by a row per job period (1,440 a day for a one-minute job)
    and every scheduler pass scans it. Each task's newest result is kept, however old: it is how
    a quarterly job knows its current quarter is done.
    """
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    cutoff = (now or timezone.now()) - timedelta(days=days)
    newest = [
        DBTaskResult.objects.filter(task_path=path).order_by("-enqueued_at").values_list("pk", flat=True)[0]
        for path in DBTaskResult.objects.order_by().values_list("task_path", flat=True).distinct()
    ]
    finished = [TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]
    old = DBTaskResult.objects.filter(status__in=finished, finished_at__lt=cutoff).exclude(pk__in=newest)
    deleted, _ = old.delete()
    return deleted


def run(stop: threading.Event, *, interval: float = 30.0) -> None:
    """The worker's scheduler loop; errors are logged and the loop goes on. Each pass also puts
    back in the queue the tasks of this host's workers that died (``core.workers``)."""
    while not stop.is_set():
        try:
            workers.requeue_orphans()
            for item in enqueue_due():
                logger.info("scheduled %s", item)
        except Exception:
            logger.exception("scheduler pass failed")
        finally:
            close_old_connections()
        stop.wait(interval)


def start(*, interval: float = 30.0) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(stop,), kwargs={"interval": interval}, name="patron-scheduler", daemon=True)
    thread.start()
    return thread, stop
