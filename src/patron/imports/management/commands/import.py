"""``patron import KIND FILE``: bulk import from CSV or XLSX with a progress bar.

Exit codes: 0 every row landed (created, updated or unchanged); 1 some rows were rejected (they
are listed and written to FILE.errors.csv; the good rows landed); 2 the input is unusable
(unknown kind, unreadable file, unknown or wrong mapping, unknown user) and nothing was written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from patron.core.audit import acting
from patron.core.dbstats import BULK_ROWS, refresh_planner_statistics
from patron.core.models import AuditSource, User
from patron.imports.engine import (
    DEFAULT_BATCH_SIZE,
    ImportInputError,
    ImportOptions,
    ImportResult,
    run_import,
)
from patron.imports.kinds.registry import IMPORTERS
from patron.imports.models import DateOrder
from patron.imports.services import import_job_record, import_mapping_save, mapping_resolve


class Command(BaseCommand):
    help = (
        "Import customers, contacts, products, orders (one row per line), interactions or cost events "
        "from CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) or XLSX. Exit code 0: all rows landed; 1: some "
        "rows were rejected (see FILE.errors.csv); 2: unusable input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="One of: " + ", ".join(IMPORTERS))
        parser.add_argument("file", help="A .csv or .xlsx file.")
        parser.add_argument(
            "--mapping",
            help="A saved mapping's name, or a JSON file {\"file column\": \"field\"}. Default: the "
            "columns Patron's export writes, matched by name.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check every row and report; write nothing.")
        parser.add_argument("--encoding", help="CSV encoding (default: detected; UTF-8 or GB18030).")
        parser.add_argument("--date-order", choices=DateOrder.values, help="How to read 05/03/2024.")
        parser.add_argument("--delimiter", help="CSV delimiter (default: detected from the header).")
        parser.add_argument("--sheet", help="XLSX sheet name (default: the first sheet).")
        parser.add_argument("--user", help="Import as this user: their visibility and ownership rules apply.")
        parser.add_argument("--save-mapping", metavar="NAME", help="Save the mapping used under this name.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per transaction.")

    def handle(self, *args: Any, **opts: Any) -> None:
        kind: str = opts["kind"]
        path = Path(opts["file"])
        if kind not in IMPORTERS:
            raise CommandError(
                _("Unknown kind %(kind)s; choose one of: %(kinds)s.") % {"kind": kind, "kinds": ", ".join(IMPORTERS)},
                returncode=2,
            )
        user = None
        if opts["user"]:
            user = User.objects.filter(username=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(_("No active user named %(name)s.") % {"name": opts["user"]}, returncode=2)
        if opts["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."), returncode=2)
        columns = None
        date_order = opts["date_order"]
        try:
            if opts["mapping"]:
                columns, saved_order = mapping_resolve(kind=kind, name_or_path=opts["mapping"])
                date_order = date_order or saved_order
            options = ImportOptions(
                kind=kind,
                columns=columns,
                date_order=date_order,
                encoding=opts["encoding"],
                delimiter=opts["delimiter"],
                sheet=opts["sheet"],
                dry_run=opts["dry_run"],
                batch_size=opts["batch_size"],
                user=user,
            )
            with acting(user, source=AuditSource.CLI, label=f"import {Path(path).name}"):
                result = self._run(path, options)
        except ImportInputError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if opts["save_mapping"]:
            import_mapping_save(
                kind=kind, name=opts["save_mapping"], columns=result.mapping, date_order=date_order or "", user=user
            )
        if not options.dry_run:
            import_job_record(
                user=user, path=path, result=result, mapping_name=opts["mapping"] or "", date_order=date_order or ""
            )
        self._report(result)
        if result.rejected:
            sys.exit(1)

    def _run(self, path: Path, options: ImportOptions) -> ImportResult:
        console = Console(stderr=True)
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=False,
        )
        description = _("Checking %(kind)s") if options.dry_run else _("Importing %(kind)s")
        with progress:
            task = progress.add_task(description % {"kind": options.kind}, total=None, rate="—")

            def on_batch(result: ImportResult, batch: list[Any]) -> None:
                elapsed = progress.tasks[0].elapsed or 0
                rate = f"{result.processed / elapsed:,.0f}" if elapsed else "—"
                progress.update(
                    task, completed=result.processed, total=max(result.total_estimate or 0, result.processed), rate=rate
                )
                for row in batch:
                    if row.errors:
                        console.print(
                            _("line %(line)s: %(error)s") % {"line": row.line, "error": " ".join(row.errors)},
                            markup=False,
                            highlight=False,
                        )

            try:
                result = run_import(path, options, on_batch=on_batch)
                if not result.dry_run and result.created + result.updated >= BULK_ROWS:
                    refresh_planner_statistics()
            except KeyboardInterrupt:
                console.print(_("Stopped. Whole batches already imported stay; run the same command again to complete."))
                raise
        return result

    def _report(self, result: ImportResult) -> None:
        out = self.stdout
        counts = {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
        }
        out.write(
            _("%(kind)s: %(rows)s rows read from %(file)s (%(format)s%(encoding)s).")
            % {
                "kind": result.kind,
                "rows": result.processed,
                "file": result.path,
                "format": result.format.upper(),
                "encoding": f", {result.encoding}" if result.encoding else "",
            }
        )
        # Two whole sentences, not a verb spliced in: word order differs between languages.
        if result.dry_run:
            summary = _("Would be created: %(created)s, updated: %(updated)s, unchanged: %(unchanged)s, rejected: %(rejected)s.")
        else:
            summary = _("Created: %(created)s, updated: %(updated)s, unchanged: %(unchanged)s, rejected: %(rejected)s.")
        out.write(summary % counts)
        if result.ignored_columns:
            out.write(_("Columns not imported: %(columns)s.") % {"columns": ", ".join(result.ignored_columns)})
        if result.missing_columns:
            out.write(
                _("The mapping names columns the file lacks: %(columns)s.") % {"columns": ", ".join(result.missing_columns)}
            )
        if result.error_file:
            out.write(
                _("Rejected rows, with their line and the reason, are in %(path)s: fix them there and import that file.")
                % {"path": result.error_file}
            )
        if result.duplicates_flagged:
            out.write(
                _("%(n)s possible duplicate pairs flagged: review them on the Possible duplicates page.")
                % {"n": result.duplicates_flagged}
            )
        if result.dry_run:
            out.write(_("Dry run: nothing was written to the database."))
