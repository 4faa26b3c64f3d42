from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.base_url import server_url_announce, unreachable
from patron.web.server import serve


def port_number(value: str) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValueError(value)
    return port


class Command(BaseCommand):
    help = "Serve the web application (gunicorn) after applying migrations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=port_number, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, **opts) -> None:
        if opts["workers"] < 1 or opts["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        if not opts["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        # Static files served by WhiteNoise from STATIC_ROOT, compressed once here.
        call_command("collectstatic", interactive=False, verbosity=0)
        links_start = server_url_announce(opts["host"], opts["port"])
        self.stdout.write(f"Patron is running at http://{opts['host']}:{opts['port']}/  (Ctrl+C to stop)")
        self.stdout.write(f"Survey links and QR codes start with {links_start}/")
        if unreachable(links_start):
            self.stdout.write(
                "  They open on this machine only: set PATRON_BASE_URL to the public address, or run "
                "with --host 0.0.0.0 so that phones and other computers on the network can open them."
            )
        serve(opts["host"], opts["port"], opts["workers"], opts["threads"])
