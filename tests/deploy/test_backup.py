"""``patron backup`` and ``patron restore`` round trips on a populated book, comparing every row
of every table, and their one-line refusals (exit status 2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import Database

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def tables(database: Database) -> list[str]:
    if database.vendor == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    else:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    return [name for (name,) in database.sql(query)]


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    return {
        table: sorted(database.sql(f'SELECT * FROM "{table}"'), key=repr)  # noqa: S608 - names from the catalogue
        for table in tables(database)
    }


def other_database(faultdb: Database, tmp_path: Path, name: str) -> Database:
    """An empty database of the same kind as ``faultdb``'s."""
    if faultdb.vendor == "sqlite":
        data = tmp_path / name
        data.mkdir()
        return Database({**faultdb.env, "PATRON_DATA_DIR": str(data)}, "sqlite", str(data / "patron.sqlite3"), faultdb.logs)
    import psycopg

    base, _, test_name = faultdb.target.rpartition("/")
    target = f"{test_name}_{name}"
    with psycopg.connect(faultdb.target, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{target}"')
        db.execute(f'CREATE DATABASE "{target}"')
    url = f"{base}/{target}"
    return Database({**faultdb.env, "DATABASE_URL": url}, "postgresql", url, faultdb.logs)


def drop(database: Database) -> None:
    if database.vendor == "postgresql":
        import psycopg

        name = database.target.rpartition("/")[2]
        with psycopg.connect(database.env["DATABASE_URL"].rpartition("/")[0] + "/postgres", autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write(database: Database, statement: str) -> None:
    if database.vendor == "sqlite":
        import sqlite3

        with sqlite3.connect(database.target, timeout=30) as db:
            db.execute(statement)
    else:
        import psycopg

        with psycopg.connect(database.target, autocommit=True) as db:
            db.execute(statement)  # type: ignore[arg-type]


def refused(result: Any, text: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], lines


def test_backup_and_restore_give_back_every_row_of_every_table(faultdb, tmp_path):
    for step in (
        ["generate", "--customers", "150", "--seed", "7", "--no-progress"],
        ["score", "--as-of", "2025-06-30", "--verbosity", "0"],
        ["createuser", "backup-admin", "--role", "admin", "--password", "backup-Pass-2025"],
        ["worker", "--batch", "--no-schedule"],
    ):
        result = faultdb.run(*step)
        assert result.returncode == 0, (step, result.stderr)
    before = snapshot(faultdb)
    assert before["customers_customer"] and before["insights_customerscore"] and before["core_workerheartbeat"]
    assert before["core_user"] and before["commerce_orderline"]

    backup = tmp_path / "patron.backup"
    made = faultdb.run("backup", "--out", str(backup))
    assert made.returncode == 0, made.stderr
    assert backup.stat().st_mode & 0o077 == 0  # readable by its owner only: it holds the whole book
    refused(faultdb.run("backup", "--out", str(backup)), "already exists; use --force")
    assert faultdb.run("backup", "--out", str(backup), "--force").returncode == 0
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]

    # Into an empty database.
    fresh = other_database(faultdb, tmp_path, "restored")
    try:
        restored = fresh.run("restore", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert snapshot(fresh) == before
        # Then over changed rows, which needs --force.
        write(fresh, "UPDATE customers_customer SET name = 'changed'")
        write(fresh, "DELETE FROM core_workerheartbeat")
        refused(fresh.run("restore", str(backup)), "not empty; use --force")
        changed = fresh.value("SELECT count(*) FROM customers_customer WHERE name = 'changed'")
        assert changed > 0
        # A backup cut short (a full disk, a copy interrupted) is refused and changes nothing.
        truncated = tmp_path / "truncated.backup"
        truncated.write_bytes(backup.read_bytes()[: backup.stat().st_size // 3])
        cut = fresh.run("restore", str(truncated), "--force")
        assert cut.returncode == 2 and len(cut.stderr.strip().splitlines()) == 1, cut.stderr
        assert fresh.value("SELECT count(*) FROM customers_customer WHERE name = 'changed'") == changed
        again = fresh.run("restore", str(backup), "--force")
        assert again.returncode == 0, again.stderr
        assert snapshot(fresh) == before
        # The restored database is a working one: the next migrate has nothing to do, and writes go on.
        check = fresh.run("migrate", "--check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert fresh.run("createuser", "after-restore", "--role", "rep", "--password", "after-Pass-2025").returncode == 0
    finally:
        drop(fresh)


def test_restore_refuses_what_is_not_a_backup_of_this_kind(faultdb, tmp_path):
    missing = tmp_path / "missing.backup"
    refused(faultdb.run("restore", str(missing)), "does not exist")
    text = tmp_path / "notes.txt"
    text.write_text("not a backup\n")
    refused(faultdb.run("restore", str(text)), "is not a Patron backup")
    other = tmp_path / "other.backup"
    if faultdb.vendor == "sqlite":
        other.write_bytes(b"PGDMP" + bytes(100))
        refused(faultdb.run("restore", str(other)), "is a PostgreSQL backup, but DATABASE_URL names a SQLite database")
        import sqlite3

        foreign = tmp_path / "foreign.sqlite3"
        with sqlite3.connect(foreign) as db:
            db.execute("CREATE TABLE t (x)")
        refused(faultdb.run("restore", str(foreign)), "not one of Patron's")
    else:
        other.write_bytes(b"SQLite format 3\x00" + bytes(100))
        refused(faultdb.run("restore", str(other)), "is a SQLite backup, but DATABASE_URL names a PostgreSQL database")
        broken = tmp_path / "broken.backup"
        broken.write_bytes(b"PGDMP" + bytes(100))
        refused(faultdb.run("restore", str(broken)), "pg_restore failed")
        # Without PostgreSQL's client programs on the PATH.
        no_tools = {"PATH": str(Path(os.__file__).parent)}
        refused(faultdb.run("backup", "--out", str(tmp_path / "x.backup"), **no_tools), "pg_dump was not found")
    refused(faultdb.run("backup", "--out", str(tmp_path / "no" / "such" / "folder.backup")), "does not exist")
    refused(faultdb.run("backup", "--out", str(tmp_path)), "is a folder")
