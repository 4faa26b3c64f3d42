from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.models import Branch, Region, Role
from patron.core.services import user_create


class Command(BaseCommand):
    help = "Create a Patron user with a role. Prints the password when it was generated."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help="One of: " + ", ".join(Role.values))
        parser.add_argument("--password", help="Checked against the password rules; generated if omitted.")
        parser.add_argument("--email", default="")
        parser.add_argument("--branch", action="append", default=[], help="Branch code a manager covers (repeatable).")
        parser.add_argument("--region", action="append", default=[], help="Region code a manager covers (repeatable).")

    def handle(self, *args, **opts) -> None:
        branches = list(Branch.objects.filter(code__in=opts["branch"]))
        regions = list(Region.objects.filter(code__in=opts["region"]))
        missing = sorted(set(opts["branch"]) - {b.code for b in branches}) + sorted(
            set(opts["region"]) - {r.code for r in regions}
        )
        if missing:
            raise CommandError(f"Unknown branch or region code: {', '.join(missing)}")
        try:
            user, password = user_create(
                username=opts["username"],
                role=opts["role"],
                password=opts["password"],
                email=opts["email"],
                branches=branches,
                regions=regions,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Created {user.username} ({user.get_role_display()}).")
        if opts["password"] is None:
            self.stdout.write(f"Password: {password}")
