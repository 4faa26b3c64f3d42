from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from patron.core.base_url import server_url_announce
from patron.generator.models import GeneratedDataset
from patron.insights.models import ScoringRun
from patron.web.demo import DEMO_PASSWORD, DEMO_USERS, demo_org_assign, demo_users_create
from patron.web.management.commands.serve import port_number

# The demo's team gives up on a case after three months (closed as "could not reach"), so the
# follow-ups a rep is asked to call back are recent ones, as in a company that works its queue.
DEMO_GIVE_UP_DAYS = 90


class Command(BaseCommand):
    help = "Set up the demo (demo users and a generated data set, once) and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=port_number, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Set up the data, then exit.")
        parser.add_argument(
            "--no-worker", action="store_true", help="Serve without starting the background worker beside it."
        )

    def handle(self, *args, **opts) -> None:
        if opts["customers"] < 1:
            raise CommandError("--customers must be a positive number.")
        call_command("migrate", interactive=False, verbosity=0)
        demo_users_create()
        if not GeneratedDataset.objects.exists():
            # The generator loads numpy and pandas: only when there is no demo data yet.
            from patron.generator.simulate import Population
            from patron.generator.writer import generate_dataset

            today = timezone.localdate()
            self.stdout.write(f"Generating {opts['customers']} demo customers (seed {opts['seed']}, up to {today})…")
            # The demo's history ends today, so recency, churn and P(alive) read as they would live.
            population = Population(end=today.isoformat(), follow_up_give_up_days=DEMO_GIVE_UP_DAYS)
            generate_dataset(opts["customers"], opts["seed"], progress=True, params=population)
        demo_org_assign()
        if not ScoringRun.objects.filter(status=ScoringRun.Status.DONE).exists():
            self.stdout.write("Scoring the demo customers…")
            call_command("score", verbosity=opts["verbosity"])
        self.stdout.write("")
        self.stdout.write(f"Database: {settings.DATABASES['default']['NAME']}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for spec in DEMO_USERS:
            self.stdout.write(f"  {spec.username:<8} {spec.role}")
        if opts["no_serve"]:
            return
        # Before the worker starts, so the emails it sends link to the server's own address.
        server_url_announce(opts["host"], opts["port"])
        worker = None if opts["no_worker"] else self._worker_start()
        try:
            call_command("serve", host=opts["host"], port=opts["port"], no_migrate=True)
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def _worker_start(self) -> subprocess.Popen[bytes]:
        """``patron worker`` as a child process: queued imports, emails and the nightly jobs run in
        the demo as they would in production. It is handed the demo's data folder and key (the
        data folder's own when none is configured), so it signs links as the server does."""
        data_dir = Path(settings.DATA_DIR)
        log_path = data_dir / "worker.log"
        environment = {**os.environ, "SECRET_KEY": settings.SECRET_KEY, "PATRON_DATA_DIR": str(data_dir)}
        with log_path.open("ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "patron.cli", "worker"],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.stdout.write(f"Background worker started (pid {worker.pid}, log {log_path}).")
        return worker
