from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from patron.core import scheduler, workers
from patron.core.audit import set_default_source


class Command(BaseCommand):
    help = "Run the background worker: queued tasks from the database (no broker needed) and periodic jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue-name", default="*", help="Queues to run ('*' for all).")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle.")
        parser.add_argument("--max-tasks", type=int, default=None, help="Stop after this many tasks.")
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then stop.")
        parser.add_argument(
            "--no-schedule", action="store_true", help="Do not enqueue periodic jobs (see patron.core.scheduler)."
        )
        parser.add_argument(
            "--schedule-interval", type=float, default=30.0, help="Seconds between checks for due periodic jobs."
        )
        parser.add_argument(
            "--heartbeat-interval",
            type=float,
            default=workers.HEARTBEAT_INTERVAL,
            help="Seconds between the worker's heartbeats (reported by /healthz).",
        )

    def handle(self, *args, **opts) -> None:
        if opts["heartbeat_interval"] <= 0:
            raise CommandError(_("--heartbeat-interval must be more than 0 seconds."), returncode=2)
        set_default_source("worker")
        # Tasks left RUNNING by a worker of this host that died go back in the queue first.
        workers.requeue_orphans()
        worker_id = workers.worker_id()
        kwargs = {
            "queue_name": opts["queue_name"],
            "interval": opts["interval"],
            "startup_delay": False,
            "worker_id": worker_id,
        }
        if opts["max_tasks"] is not None:
            kwargs["max_tasks"] = opts["max_tasks"]
        _beating, stop_heartbeat = workers.start_heartbeat(worker_id, interval=opts["heartbeat_interval"])
        stop = None
        if opts["batch"]:
            kwargs["batch"] = True
            if not opts["no_schedule"]:
                scheduler.enqueue_due()  # once, so a batch run also does what is due
        elif not opts["no_schedule"]:
            _thread, stop = scheduler.start(interval=opts["schedule_interval"])
        try:
            call_command("db_worker", **kwargs)
        finally:
            stop_heartbeat.set()
            if stop is not None:
                stop.set()
