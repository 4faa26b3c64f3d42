"""Turn DATABASE_URL into Django's DATABASES entry, with clear errors for bad values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from patron.core.sqlite import SQLITE_PRAGMAS, SQLITE_TIMEOUT

SUPPORTED_ENGINES = {
    "django.db.backends.sqlite3": "sqlite",
    "django.db.backends.postgresql": "postgresql",
}



def database_from_url(url: str | None, data_dir: Path) -> dict[str, Any]:
    """The embedded SQLite file under ``data_dir`` unless ``url`` names another database."""
    if not url:
        url = f"sqlite:///{data_dir / 'patron.sqlite3'}"
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL Patron understands ({url!r}): {exc}. "
            "Use sqlite:///path/to/file.sqlite3 or postgres://user@host:5432/name."
        ) from exc
    engine = config.get("ENGINE")
    if engine not in SUPPORTED_ENGINES:
        raise ImproperlyConfigured(
            f"DATABASE_URL names an unsupported database ({engine}); "
            "Patron runs on SQLite and PostgreSQL."
        )
    if engine == "django.db.backends.sqlite3":
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"DATABASE_URL {url!r} names no SQLite file.")
        if config["NAME"] != ":memory:":
            # A fresh clone has no data folder yet; SQLite cannot create the file without it.
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # WAL lets the web server read while the worker or an import writes; IMMEDIATE
            # transactions take the write lock up front instead of failing half-way.
            "init_command": "".join(f"PRAGMA {pragma}; " for pragma in SQLITE_PRAGMAS),
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_TIMEOUT,
        }
    else:
        config.setdefault("OPTIONS", {})
        config["OPTIONS"].setdefault("connect_timeout", 5)
        config["CONN_HEALTH_CHECKS"] = True
    config["TEST"] = {"NAME": config.get("TEST", {}).get("NAME")} if config.get("TEST") else {}
    return config


POOLERS = ("", "session", "transaction")


def pooler_settings(config: dict[str, Any], pooler: str) -> str:
    """Adjust ``config`` for a connection pooler between Patron and PostgreSQL; returns its mode.

    In transaction mode (PgBouncer's ``pool_mode = transaction``) consecutive transactions of
    one Django connection may run on different server connections, so nothing may outlive a
    transaction on the server: no server-side cursors (``.iterator()`` would open one, then read
    it from another connection) and no prepared statements (``core.rows.hot_cursor`` prepares
    the answer link's statements; psycopg prepares none with Django's client-side binding, and
    ``prepare_threshold=None`` keeps it so).
    """
    pooler = pooler.strip().lower()
    if pooler not in POOLERS:
        raise ImproperlyConfigured(
            f"PATRON_DB_POOLER must be empty, session or transaction, not {pooler!r} (docs/deploy.md)."
        )
    if pooler == "transaction" and config.get("ENGINE") == "django.db.backends.postgresql":
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        config.setdefault("OPTIONS", {})["prepare_threshold"] = None
    return pooler
