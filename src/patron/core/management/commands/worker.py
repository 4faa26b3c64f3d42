from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the background worker: queued tasks from the database (no broker needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue-name", default="*", help="Queues to run ('*' for all).")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle.")
        parser.add_argument("--max-tasks", type=int, default=None, help="Stop after this many tasks.")
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then stop.")

    def handle(self, *args, **opts) -> None:
        kwargs = {"queue_name": opts["queue_name"], "interval": opts["interval"], "startup_delay": False}
        if opts["max_tasks"] is not None:
            kwargs["max_tasks"] = opts["max_tasks"]
        if opts["batch"]:
            kwargs["batch"] = True
        call_command("db_worker", **kwargs)
