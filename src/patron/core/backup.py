"""``patron backup`` and ``patron restore``: a whole database to one file and back.

SQLite: Python's ``sqlite3`` online backup API, which copies a consistent snapshot while the
server and the worker keep writing (write-ahead log included); the backup is itself a SQLite
database. PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore``, PostgreSQL's own tools,
which must be installed (Debian: ``postgresql-client``) and not older than the server.

Nothing is half-written: a backup goes to a temporary file next to FILE, renamed into place when
complete. A SQLite restore is one backup-API copy onto the database (one transaction); a
PostgreSQL restore drops Patron's tables and loads the dump in one transaction (``pg_restore``'s
SQL streamed into ``psql --single-transaction``), so a failure leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.db import connections
from django.utils.translation import gettext as _

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one line for the user."""


def _settings(using: str) -> dict[str, Any]:
    return connections[using].settings_dict


def vendor(using: str = "default") -> str:
    return connections[using].vendor


def file_kind(path: Path) -> str | None:
    """``"sqlite"``, ``"postgresql"`` (a pg_dump custom-format archive) or None."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(_("Cannot read %(file)s: %(error)s.") % {"file": path, "error": exc.strerror}) from exc
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    return None


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            _("%(tool)s was not found: install PostgreSQL's client programs (Debian: postgresql-client), "
              "the same major version as the server or newer.") % {"tool": name}
        )
    return found


def _pg_env(using: str) -> dict[str, str]:
    """The connection as libpq environment variables: the password never appears in a process list."""
    settings = _settings(using)
    env = dict(os.environ)
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):
        if settings.get(key):
            env[variable] = str(settings[key])
    options = settings.get("OPTIONS", {})
    if options.get("sslmode"):
        env["PGSSLMODE"] = str(options["sslmode"])
    env.setdefault("PGCONNECT_TIMEOUT", "5")
    return env


def _run(command: list[str], env: dict[str, str], what: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    # The tools found by _tool, arguments built here: no shell, nothing from a request.
    result = subprocess.run(command, env=env, capture_output=True, check=False, **kwargs)  # noqa: S603
    if result.returncode != 0:
        lines = [line for line in result.stderr.decode(errors="replace").splitlines() if line.strip()]
        detail = lines[0] if lines else f"exit status {result.returncode}"
        raise BackupError(_("%(what)s failed: %(detail)s") % {"what": what, "detail": detail.strip()})
    return result


def _temporary_beside(path: Path) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    return Path(name)


def backup(out: Path, *, force: bool = False, using: str = "default") -> str:
    """Write the database to ``out``; returns the kind written (``sqlite`` or ``postgresql``)."""
    if out.is_dir():
        raise BackupError(_("%(file)s is a folder; name the backup file to write.") % {"file": out})
    if out.exists() and not force:
        raise BackupError(_("%(file)s already exists; use --force to replace it.") % {"file": out})
    if not out.parent.is_dir():
        raise BackupError(_("The folder of %(file)s does not exist.") % {"file": out})
    kind = vendor(using)
    if kind == "postgresql":
        tool = _tool("pg_dump")
    partial = _temporary_beside(out)
    try:
        if kind == "sqlite":
            _sqlite_copy(Path(_settings(using)["NAME"]), partial)
        else:
            _run([tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"], _pg_env(using), "pg_dump")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return kind


def _sqlite_copy(source: Path, target: Path) -> None:
    if str(source) == ":memory:" or not source.exists():
        raise BackupError(_("The SQLite database %(file)s does not exist.") % {"file": source})
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        # A self-contained file: no write-ahead log beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _sqlite_tables(db: sqlite3.Connection) -> set[str]:
    return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _pg_tables(using: str) -> list[str]:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        return [name for (name,) in cursor.fetchall()]


def _pg_functions(using: str) -> list[str]:
    """The functions of the schema that no extension owns (the audit log's trigger function):
    the archive creates them again, so they go with the tables."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = current_schema() AND NOT EXISTS ("
            "  SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
            " ORDER BY 1"
        )
        return [name for (name,) in cursor.fetchall()]


def is_empty(using: str = "default") -> bool:
    """No migration was ever applied here (a new database, or one without Patron's tables)."""
    connection = connections[using]
    if "django_migrations" not in connection.introspection.table_names():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM django_migrations LIMIT 1")
        return cursor.fetchone() is None


def restore(source: Path, *, force: bool = False, using: str = "default") -> str:
    """Replace the database with the backup ``source``; returns its kind."""
    if not source.is_file():
        raise BackupError(_("%(file)s does not exist or is not a file.") % {"file": source})
    kind = file_kind(source)
    if kind is None:
        raise BackupError(
            _("%(file)s is not a Patron backup (neither a SQLite database nor a pg_dump custom-format file).")
            % {"file": source}
        )
    target = vendor(using)
    if kind != target:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            _("%(file)s is a %(kind)s backup, but DATABASE_URL names a %(target)s database.")
            % {"file": source, "kind": names[kind], "target": names[target]}
        )
    if kind == "sqlite":
        _check_sqlite_backup(source)
    else:
        pg_restore, psql = _tool("pg_restore"), _tool("psql")
        _run([pg_restore, "--list", str(source)], _pg_env(using), "pg_restore")  # a readable archive
    if not force and not is_empty(using):
        raise BackupError(_("The database is not empty; use --force to replace everything in it with the backup."))
    if kind == "sqlite":
        connections[using].close()
        target_path = Path(_settings(using)["NAME"])
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target_path, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        tables, functions = _pg_tables(using), _pg_functions(using)
        connections[using].close()
        _pg_load(source, tables, functions, pg_restore, psql, _pg_env(using))
    return kind


def _pg_load(
    source: Path, tables: list[str], functions: list[str], pg_restore: str, psql: str, env: dict[str, str]
) -> None:
    """Drop ``tables`` and ``functions`` and load the archive in one transaction: pg_restore writes the SQL, psql
    runs it, streamed through here so a large book is never held in memory. psql commits only
    once pg_restore has finished without error; otherwise it is killed and nothing is changed."""
    drop = ["--command=SELECT 1"]
    if tables:
        quoted = ", ".join('"' + name.replace('"', '""') + '"' for name in tables)
        drop = [f"--command=DROP TABLE IF EXISTS {quoted} CASCADE"]
    if functions:
        # regprocedure text: the name with its argument types, quoted where needed.
        drop.append(f"--command=DROP FUNCTION IF EXISTS {', '.join(functions)} CASCADE")
    with tempfile.TemporaryFile() as read_errors, tempfile.TemporaryFile() as load_errors:
        # Fixed programs found by _tool, arguments built here: no shell, nothing from a request.
        loader = subprocess.Popen(  # noqa: S603
            [psql, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1", *drop, "--file=-"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=load_errors,
        )
        reader = subprocess.Popen(  # noqa: S603
            [pg_restore, "--no-owner", "--no-privileges", "--file=-", str(source)],
            env=env, stdout=subprocess.PIPE, stderr=read_errors,
        )
        assert reader.stdout is not None and loader.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # psql stopped on an error: reported below
            shutil.copyfileobj(reader.stdout, loader.stdin, 1 << 20)
        reader.stdout.close()
        reader.wait()
        killed = loader.poll() is None and reader.returncode != 0
        if killed:
            loader.kill()  # before the end of its input: the transaction is rolled back
        else:
            with contextlib.suppress(BrokenPipeError):
                loader.stdin.close()
        loader.wait()
        failed = ("psql", load_errors, loader.returncode) if loader.returncode != 0 and not killed else None
        if failed is None and reader.returncode != 0:
            failed = ("pg_restore", read_errors, reader.returncode)
        if failed is not None:
            name, errors, code = failed
            errors.seek(0)
            lines = [line for line in errors.read().decode(errors="replace").splitlines() if line.strip()]
            detail = lines[0].strip() if lines else f"exit status {code}"
            raise BackupError(_("%(what)s failed: %(detail)s") % {"what": name, "detail": detail})


def _check_sqlite_backup(source: Path) -> None:
    try:
        db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            problem = db.execute("PRAGMA quick_check").fetchone()[0]
            tables = _sqlite_tables(db)
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(_("%(file)s is not a readable SQLite database: %(error)s.") % {"file": source, "error": exc}) from exc
    if problem != "ok":
        raise BackupError(_("%(file)s is damaged: %(error)s.") % {"file": source, "error": problem})
    if "django_migrations" not in tables:
        raise BackupError(_("%(file)s is a SQLite database, but not one of Patron's.") % {"file": source})
