"""Worker processes, and the tasks of those that died.

A worker killed while it runs a task (``kill -9``, the out-of-memory killer, a power cut) leaves
the task marked RUNNING in django-tasks-db's table, and no worker picks it up again. So ``patron
worker`` names itself after its host, process id and the process's start time, and when it
starts (and at each scheduler pass) it puts back in the queue the RUNNING tasks of workers of
this host whose process is gone. Tasks are written to be run again (imports by external id,
scoring runs per day, invitations by their hand-over marker, alerts by marker columns), so a
re-run finishes the work without doing any of it twice.

A worker on another host cannot be checked from here: its tasks are re-queued when a worker
starts again on that host. A task whose workers died ``MAX_ATTEMPTS`` times (one that kills its
worker) is marked failed instead.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger("patron.worker")

MAX_ATTEMPTS = 5


def _host() -> str:
    return socket.gethostname()[:40]


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a reused pid is another process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            # Field 22; the command name (field 2) may hold spaces, so count after its ")".
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def worker_id() -> str:
    """This process's worker id: ``host:pid:start`` (at most 64 characters, as django-tasks-db allows)."""
    pid = os.getpid()
    return f"{_host()}:{pid}:{_started(pid)}"


def is_gone(worker: str) -> bool:
    """True if ``worker`` (an id from :func:`worker_id`) ran on this host and its process has ended.

    Ids of other hosts, or not in this form (workers started by ``db_worker`` directly), are not
    known to be gone."""
    host, _, rest = worker.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # a live process of another user
    return started not in ("", "0") and _started(pid) not in (started, "0")


def is_running(worker: str) -> bool:
    """True if ``worker`` is a process of this host that is still running."""
    host, _, rest = worker.partition(":")
    return host == _host() and rest.partition(":")[0].isdigit() and not is_gone(worker)


def requeue_orphans() -> tuple[int, int]:
    """Put back in the queue the tasks of this host's dead workers; returns (re-queued, failed)."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    requeued = failed = 0
    for pk, workers in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).values_list("pk", "worker_ids"):
        if not workers or not is_gone(workers[-1]):
            continue
        # Only if still RUNNING: another worker starting at the same moment may have done it.
        running = DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING)
        if len(workers) >= MAX_ATTEMPTS:
            changed = running.update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path=f"{__name__}.WorkerDied",
                traceback=f"The worker died while running this task, {len(workers)} times: {', '.join(workers)}.",
            )
            failed += changed
        else:
            changed = running.update(status=TaskResultStatus.READY, started_at=None)
            requeued += changed
        if changed:
            logger.warning("task %s: its worker %s is gone; %s", pk, workers[-1], "failed" if len(workers) >= MAX_ATTEMPTS else "queued again")
    return requeued, failed


class WorkerDied(Exception):
    """Recorded on a task whose workers kept dying while they ran it."""


HEARTBEAT_INTERVAL = 15.0  # seconds; /healthz's threshold (PATRON_HEALTH_WORKER_MAX_AGE) is larger
HEARTBEATS_KEPT = timedelta(days=1)  # rows of workers that stopped, kept for a look in the admin


def heartbeat_age(now: datetime | None = None) -> float | None:
    """Seconds since the newest heartbeat of any worker; None when no worker ever beat."""
    from patron.core.models import WorkerHeartbeat  # here: see beat()

    newest = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
    if newest is None:
        return None
    return max(0.0, ((now or timezone.now()) - newest).total_seconds())


# Without /healthz's threshold (0: not checked there) a worker silent this long counts as stopped.
WORKER_SILENT_AFTER = 120


def worker_missing(now: datetime | None = None) -> bool:
    """True when no worker has beaten within /healthz's threshold: the periodic jobs (escalation,
    alerts, survey sending, the nightly scoring) are not running, and pages that rely on them say so."""
    age = heartbeat_age(now)
    return age is None or age > (settings.PATRON_HEALTH_WORKER_MAX_AGE_SECONDS or WORKER_SILENT_AFTER)


def beat(worker: str, started_at: datetime) -> None:
    """Record that ``worker`` is alive now; forget workers silent for a day."""
    # Here, not at the top: insights.models imports this module while the models are loading.
    from patron.core.models import WorkerHeartbeat

    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"beat_at": now, "started_at": started_at})
    WorkerHeartbeat.objects.filter(beat_at__lt=now - HEARTBEATS_KEPT).delete()


def heartbeat(stop: threading.Event, worker: str, started_at: datetime, *, interval: float) -> None:
    """The worker's heartbeat loop, in a thread of its own: it beats while a long task (a scoring
    run) keeps the worker's main loop busy. Errors (a database restarting) are logged; it goes on."""
    while not stop.wait(interval):
        try:
            beat(worker, started_at)
        except Exception:
            logger.exception("worker heartbeat failed")
        finally:
            close_old_connections()


def start_heartbeat(worker: str, *, interval: float = HEARTBEAT_INTERVAL) -> tuple[threading.Thread, threading.Event]:
    """Beat once now (so even ``worker --batch`` leaves its mark), then every ``interval`` seconds."""
    started_at = timezone.now()
    beat(worker, started_at)
    stop = threading.Event()
    thread = threading.Thread(
        target=heartbeat,
        args=(stop, worker, started_at),
        kwargs={"interval": interval},
        name="patron-heartbeat",
        daemon=True,
    )
    thread.start()
    return thread, stop
