"""Copy a generated SQLite database into PostgreSQL, table by table with COPY.

``patron generate`` writes 1,000,000 customers into SQLite in about half an hour but into
PostgreSQL in well over an hour (its bulk writer goes through the ORM's batches). The pages
benchmark needs the same data in PostgreSQL; this copies it row for row:

    createdb -h 127.0.0.1 -U postgres patron1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/patron1m .venv/bin/patron migrate
    .venv/bin/python bench/copy_to_postgres.py --source /tmp/patron1m.sqlite3 \\
        --target postgres://postgres@127.0.0.1:5432/patron1m

Both databases must be at the same migration (the target freshly migrated). Every table of the
target that Django's migrations made is emptied first (``TRUNCATE``), then filled from the source
with ``COPY``; foreign keys are not checked during the copy (``session_replication_role =
replica``: the source's constraints already held), sequences are set past the largest id, and the
tables are analysed. Row counts are compared table by table at the end.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time

import psycopg
from psycopg import sql

BATCH = 50_000


def tables(pg: psycopg.Connection) -> list[str]:
    rows = pg.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'django_migrations' "
        "ORDER BY tablename"
    ).fetchall()
    return [r[0] for r in rows]


def columns(pg: psycopg.Connection, table: str) -> list[str]:
    rows = pg.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def copy_table(src: sqlite3.Connection, pg: psycopg.Connection, table: str) -> int:
    names = columns(pg, table)
    source_names = {r[1] for r in src.execute(f'PRAGMA table_info("{table}")')}
    missing = [n for n in names if n not in source_names]
    if missing:
        raise SystemExit(
            f"{table}: columns {missing} are not in the source: migrate both to the same state"
        )
    quoted = ", ".join('"' + n + '"' for n in names)
    cursor = src.execute(f'SELECT {quoted} FROM "{table}"')
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    n = 0
    with pg.cursor().copy(statement) as copy:
        while batch := cursor.fetchmany(BATCH):
            for row in batch:
                copy.write_row(row)
            n += len(batch)
    return n


def reset_sequences(pg: psycopg.Connection) -> None:
    rows = pg.execute(
        "SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(c.relname), a.attname) "
        "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL"
    ).fetchall()
    for table, column, sequence in rows:
        pg.execute(
            sql.SQL("SELECT setval({}, COALESCE((SELECT max({}) FROM {}), 0) + 1, false)").format(
                sql.Literal(sequence), sql.Identifier(column), sql.Identifier(table)
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the SQLite file")
    parser.add_argument(
        "--target", required=True, help="postgres://… of a freshly migrated database"
    )
    args = parser.parse_args()
    src = sqlite3.connect(f"file:{args.source}?mode=ro", uri=True)
    started = time.perf_counter()
    with psycopg.connect(args.target) as pg:
        pg.execute("SET TimeZone = 'UTC'")  # Django stores naive UTC datetimes in SQLite
        pg.execute("SET session_replication_role = replica")
        names = tables(pg)
        pg.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(map(sql.Identifier, names))
            )
        )
        copied = {}
        for table in names:
            t = time.perf_counter()
            copied[table] = copy_table(src, pg, table)
            if copied[table]:
                print(
                    f"{table}: {copied[table]:,} rows in {time.perf_counter() - t:.1f} s",
                    flush=True,
                )
        reset_sequences(pg)
        pg.execute("SET session_replication_role = DEFAULT")
        pg.commit()
        pg.autocommit = True
        pg.execute("ANALYZE")
        wrong = []
        for table in names:
            (count,) = pg.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
            (source_count,) = src.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            if count != source_count:
                wrong.append(f"{table}: {count} rows, source {source_count}")
    if wrong:
        sys.exit("row counts differ: " + "; ".join(wrong))
    total = sum(copied.values())
    print(
        f"copied {total:,} rows from {len(names)} tables in {time.perf_counter() - started:.0f} s; counts match"
    )


if __name__ == "__main__":
    main()
