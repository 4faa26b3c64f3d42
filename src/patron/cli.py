"""The ``patron`` command: Django's manage.py under the product's name.

Configuration errors (a malformed DATABASE_URL, an unreachable database) end with one clear
line and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "patron"
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    try:
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
