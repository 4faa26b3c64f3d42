"""The key that signs survey, unsubscribe and comment links (Django's SECRET_KEY).

In production it comes from the environment (``SECRET_KEY`` or ``PATRON_SECRET_KEY``), the same
value for the web server and the worker: the worker signs the links in the emails it sends and
the server checks them. Without it (the demo, the tests, a developer's machine) Patron makes a
random key once and keeps it in the data folder, readable by its owner only, so a fresh clone
works with no configuration and no two installations share a key. There is no built-in fallback
key: a key anyone can read in the source lets anyone forge links.

``patron serve``, ``patron worker`` and ``patron check --deploy`` refuse to start without a key
from the environment unless ``PATRON_DEBUG`` (or ``PATRON_TESTING``) is on (see ``patron.cli``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

ENVIRONMENT_NAMES = ("SECRET_KEY", "PATRON_SECRET_KEY")
FILE_NAME = "secret_key"
# What the demo once signed links with; refused as a key, so links it signed stay refused.
PUBLISHED_KEYS = frozenset({"patron-insecure-development-key-change-me-in-production"})


def from_environment(environ: Mapping[str, str]) -> str:
    """The configured key, or "" when neither variable is set."""
    for name in ENVIRONMENT_NAMES:
        value = environ.get(name, "").strip()
        if value:
            if value in PUBLISHED_KEYS:
                raise ImproperlyConfigured(
                    f"{name} is the development key published in Patron's source; set a random one "
                    "(see docs/configuration.md)."
                )
            return value
    return ""


def local_key(data_dir: Path) -> str:
    """The data folder's key, made on first use, readable by its owner only.

    Written whole to a temporary file, then linked into place: a process starting at the same
    moment reads either no file (and links its own, which loses) or the complete key.
    """
    path = data_dir / FILE_NAME
    try:
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.")  # mode 0600
            try:
                with os.fdopen(fd, "w", encoding="ascii") as out:
                    out.write(secrets.token_urlsafe(50) + "\n")
                with contextlib.suppress(FileExistsError):
                    os.link(temporary, path)
            finally:
                os.unlink(temporary)
        return _read(path)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"no SECRET_KEY is set and the key file {path} cannot be used ({exc.strerror or exc}); "
            "set SECRET_KEY (see docs/configuration.md)"
        ) from exc


def _read(path: Path) -> str:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        path.chmod(0o600)  # copied around with looser permissions: the owner's again
    try:
        key = path.read_text(encoding="ascii").strip()
    except ValueError:
        key = ""
    if len(key) < 50:
        raise ImproperlyConfigured(
            f"the key file {path} holds no usable key; delete it to have a new one made, or set SECRET_KEY"
        )
    return key
