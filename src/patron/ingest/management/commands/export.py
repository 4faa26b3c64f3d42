"""``patron export KIND --format csv|xlsx|parquet --out FILE [--user NAME]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from patron.core.models import User
from patron.ingest import export


class Command(BaseCommand):
    help = (
        "Export records (customers with their figures and scores, contacts, products, orders with one row "
        "per line, interactions, cost events, tasks) to CSV (UTF-8 with BOM), XLSX or Parquet. The CSV and "
        "XLSX files import back with `patron import` unchanged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="One of: " + ", ".join(export.export_kinds()))
        parser.add_argument("--format", choices=export.FORMATS, help="Default: from --out's extension, else csv.")
        parser.add_argument("--out", required=True, help="The file to write (replaced when complete).")
        parser.add_argument("--user", help="Export only what this user may see (default: everything).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **opts: Any) -> None:
        kind: str = opts["kind"]
        if kind not in export.export_kinds():
            raise CommandError(
                _("Unknown kind %(kind)s; choose one of: %(kinds)s.")
                % {"kind": kind, "kinds": ", ".join(export.export_kinds())}
            )
        out = Path(opts["out"])
        fmt = opts["format"] or (out.suffix.lstrip(".").lower() if out.suffix.lstrip(".").lower() in export.FORMATS else "csv")
        if not out.parent.resolve().is_dir():
            raise CommandError(_("The folder %(dir)s does not exist.") % {"dir": out.parent})
        user = None
        if opts["user"]:
            user = User.objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(_("There is no user named %(name)s.") % {"name": opts["user"]})
        total = export.count(kind, user=user)
        console = Console(stderr=True)
        show = not opts["no_progress"] and console.is_terminal
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not show,
        ) as progress:
            task = progress.add_task(_("Exporting %(kind)s") % {"kind": kind}, total=total or None)
            try:
                rows = export.export_to_file(
                    kind, fmt, out, user=user, progress=lambda n: progress.advance(task, n)
                )
            except OSError as exc:
                raise CommandError(_("Could not write %(file)s: %(error)s") % {"file": out, "error": exc}) from exc
        self.stdout.write(
            _("Wrote %(rows)d rows of %(kind)s to %(file)s (%(format)s).")
            % {"rows": rows, "kind": kind, "file": out, "format": fmt}
        )
