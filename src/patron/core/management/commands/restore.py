from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from patron.core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Replace the database with a backup made by `patron backup` (of the same kind of database). "
        "Stop `patron serve` and `patron worker` first (docs/deploy.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the backup file")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that is not empty (everything in it is lost)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            restore(opts["file"], force=opts["force"])
        except BackupError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(
            _("Restored %(file)s. Run `patron migrate` if this version of Patron is newer than the backup.")
            % {"file": opts["file"]}
        )
