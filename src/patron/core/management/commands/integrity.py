from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from patron.core.integrity import breaches


class Command(BaseCommand):
    help = (
        "List the rows that break the database's rules (the models' CHECK and UNIQUE constraints, "
        "foreign keys), whether or not the database enforces them yet: run it on a copy before "
        "an upgrade (docs/upgrade.md). Exit status 1 if any row breaks a rule."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database to check.")

    def handle(self, *args, **opts) -> None:
        using = opts["database"]
        tables = set(connections[using].introspection.table_names())
        checked = [m for m in apps.get_models() if m._meta.db_table in tables]
        missing = sorted(m._meta.db_table for m in apps.get_models() if m._meta.managed and m not in checked)
        if missing:
            self.stderr.write(f"Not checked (no table yet; run `patron migrate`): {', '.join(missing)}")
        found = breaches(checked, using)
        for breach in found:
            self.stdout.write(str(breach))
        if found:
            total = sum(b.count for b in found)
            raise CommandError(
                f"{'1 row breaks' if total == 1 else f'{total} rows break'} the database's rules (listed above).",
                returncode=1,
            )
        self.stderr.write(f"No row breaks a rule ({len(checked)} tables checked).")
