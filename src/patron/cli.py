"""The ``patron`` command: Django's manage.py under the product's name.

Configuration errors (a malformed DATABASE_URL, an unreachable database, no secret key where
one is required) end with one clear line and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import os
import sys

# Commands that serve or send signed links (or check a deployment): in production they need the
# key from the environment, one value for the server and the worker (patron.config.secret_key).
_NEEDS_CONFIGURED_KEY = {"serve", "runserver", "worker", "db_worker"}


def needs_configured_key(argv: list[str]) -> str | None:
    """The command as a user would name it if it needs the configured key, else None."""
    command = argv[1] if len(argv) > 1 else ""
    if command == "check" and "--deploy" in argv[2:]:
        return "check --deploy"
    return command if command in _NEEDS_CONFIGURED_KEY else None


def missing_key_message(command: str) -> str | None:
    """Why ``patron COMMAND`` may not run with these settings, or None."""
    from django.conf import settings

    if settings.PATRON_SECRET_KEY_CONFIGURED or settings.DEBUG or settings.TESTING:
        return None
    return (
        f"patron {command}: SECRET_KEY is not set. It signs the survey and unsubscribe links: set "
        "SECRET_KEY (or PATRON_SECRET_KEY) to one long random value for the server and the worker, "
        "e.g. the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(50))' "
        "(docs/configuration.md). On a development machine PATRON_DEBUG=1 uses the data folder's key."
    )


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    # Changes made by a command are audit-logged as the command line's (core.audit).
    os.environ.setdefault("PATRON_AUDIT_SOURCE", "cli")
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "patron"
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    try:
        command = needs_configured_key(argv)
        if command and (message := missing_key_message(command)):
            sys.stderr.write(message + "\n")
            sys.exit(2)
        from django.core.management import execute_from_command_line

        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"patron: configuration error: {exc}\n")
        sys.exit(2)
    except DatabaseError as exc:
        # Includes OperationalError (unreachable server, wrong credentials, locked file).
        sys.stderr.write(f"patron: database error: {str(exc).strip()}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
