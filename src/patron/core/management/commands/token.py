from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.models import User
from patron.core.tokens import token_create, token_revoke, tokens_of


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"There is no user named {username}.")
    return user


class Command(BaseCommand):
    help = "Manage REST API tokens: create (prints the token alone on standard output), list, revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token; it is printed once and never stored.")
        create.add_argument("--user", required=True, help="The token acts as this user, with what they may see.")
        create.add_argument("--name", default="", help="A label to tell tokens apart.")
        listing = sub.add_parser("list", help="List a user's tokens (never the tokens themselves).")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a token by its id (see list).")
        revoke.add_argument("id", type=int)

    def handle(self, *args, **opts) -> None:
        action = opts["action"]
        try:
            if action == "create":
                _token, raw = token_create(user=_user(opts["user"]), name=opts["name"])
                # Alone on stdout so scripts can capture it: TOKEN=$(patron token create --user x)
                self.stdout.write(raw)
            elif action == "list":
                self._list(_user(opts["user"]))
            else:
                token = token_revoke(token_id=opts["id"])
                self.stderr.write(f"Revoked token {token.pk} ({token.prefix}…) of {token.user.username}.")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

    def _list(self, user: User) -> None:
        tokens = list(tokens_of(user))
        if not tokens:
            self.stderr.write(f"{user.username} has no API tokens.")
            return
        self.stdout.write(f"{'id':>6}  {'prefix':<13} {'created':<20} {'last used':<20} {'status':<8} name")
        for t in tokens:
            created = t.created_at.strftime("%Y-%m-%d %H:%M")
            used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "-"
            status = "active" if t.is_active else "revoked"
            self.stdout.write(f"{t.pk:>6}  {t.prefix + '…':<13} {created:<20} {used:<20} {status:<8} {t.name}")
