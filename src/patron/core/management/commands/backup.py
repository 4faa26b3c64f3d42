from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from patron.core.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the whole database to one file: SQLite through its online backup API, PostgreSQL "
        "with pg_dump --format=custom (docs/deploy.md). Safe while the server and the worker run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="the backup file to write")
        parser.add_argument("--force", action="store_true", help="replace the file if it exists")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            kind = backup(opts["out"], force=opts["force"])
        except BackupError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        self.stdout.write(_("Backed up the %(kind)s database to %(file)s.") % {"kind": names[kind], "file": opts["out"]})
