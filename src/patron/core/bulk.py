"""The bulk layer: rows written many at a time, and the settings of a long bulk write.

Writing: ids allocated up front (``allocate_ids``), rows inserted with one executemany (SQLite)
or one COPY (PostgreSQL) per table and batch (``insert``), updates with one executemany
(``update``; set-based on PostgreSQL). Two further ways in for data that is already columnar:
``insert_columns`` (one executemany of column arrays, the generator's chunks) and ``copy_table``
(an Arrow table as one CSV COPY on PostgreSQL, the columnar import's lines). Callers pass Python
values (aware datetimes, Decimals, dates); this module turns them into what each database driver stores, the way Django's fields would, without building
model instances. Every write must run inside the batch's transaction: on SQLite that
transaction holds the write lock from its first statement (IMMEDIATE), so ids taken here cannot
be taken by anyone else. The domain apps build on it (``commerce.bulk`` writes orders and adds
their totals); imports, the batch API and webhook deliveries write through it.

Settings: ``fewer_gc_passes`` and ``sqlite_bulk_write`` for a process's long bulk writes
(imports, scoring runs), restored afterwards.
"""

from __future__ import annotations

import gc
import io
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection, models


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Collect garbage less often during the work, and not through what existed before it.

    Bulk work builds hundreds of thousands of small objects that hold no cycles (rows, lists);
    with the default thresholds the cyclic collector walks them, and all of Django, again and
    again. Objects a process froze itself (the web server before it forks, ``web.server.warm``)
    stay frozen: ``gc.unfreeze`` would release them too, so this only freezes, and unfreezes,
    when nothing is frozen yet.
    """
    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(max(thresholds[0], 50_000), thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()


def sqlite_write_pragmas(cache_kib: int | None = None) -> list[str]:
    """The pragmas of a bulk write (:func:`sqlite_bulk_write`), for any connection that does one."""
    pragmas = ["wal_autocheckpoint = 16384"]  # pages of 4 KiB: every 64 MB
    if cache_kib is not None:
        pragmas.append(f"cache_size = {-int(cache_kib)}")
    return pragmas


@contextmanager
def sqlite_bulk_write(*, cache_kib: int | None = None) -> Iterator[None]:
    """SQLite: checkpoint the write-ahead log every 64 MB instead of every 4 MB, and optionally
    a larger page cache, during the work; one checkpoint at the end. Elsewhere nothing.

    Every batch still commits (durability and crash recovery unchanged, synchronous stays
    NORMAL); the pages each batch touches (customer rows, indexes all over the file) are just no
    longer copied into the database file after every batch. A page cache is allocated as used.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        previous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA cache_size")
        cache = int(cursor.fetchone()[0])
        for pragma in sqlite_write_pragmas(cache_kib):
            cursor.execute(f"PRAGMA {pragma}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {previous}")
            cursor.execute(f"PRAGMA cache_size = {cache}")
            if not connection.in_atomic_block:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


# ---------------------------------------------------------------- writing

Converter = Callable[[Any], Any] | None


def _sqlite_datetime(value: datetime | None) -> str | None:
    # Django keeps SQLite datetimes as naive UTC text: "YYYY-MM-DD HH:MM:SS[.ffffff]".
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def converters(model: type[models.Model], columns: Sequence[str]) -> list[Converter]:
    """One converter per column (None where the driver takes the Python value as it is)."""
    out: list[Converter] = []
    for name in columns:
        field = model._meta.get_field(name)
        if connection.vendor != "sqlite":
            out.append(None)
        elif isinstance(field, models.DateTimeField):
            out.append(_sqlite_datetime)
        else:
            # Django registers sqlite3 adapters for Decimal (str) and date (ISO).
            out.append(None)
    return out


def _prepare(rows: Sequence[Sequence[Any]], convert: list[Converter]) -> Sequence[Sequence[Any]]:
    if not any(convert):
        return rows
    pairs = [(i, c) for i, c in enumerate(convert) if c is not None]
    # The same moment recurs (a batch's created_at, an order's time on its lines): convert once.
    seen: dict[Any, Any] = {}
    prepared = []
    for row in rows:
        values = list(row)
        for i, c in pairs:
            value = values[i]
            try:
                values[i] = seen[value]
            except KeyError:
                values[i] = seen[value] = c(value)
        prepared.append(values)
    return prepared


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return connection.ops.quote_name(str(field.column))


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for ``model``, taken before the rows are written."""
    if count <= 0:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("allocate_ids must run inside the batch's transaction")
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # AUTOINCREMENT tables never reuse an id: start above both the highest row and the
            # highest id ever handed out (sqlite_sequence), which explicit inserts then raise.
            cursor.execute(
                f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {_table(model)}), 0))",
                [table],
            )
            start = int(cursor.fetchone()[0]) + 1
            return list(range(start, start + count))
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
        )
        return [int(r[0]) for r in cursor.fetchall()]


def _missing_defaults(model: type[models.Model], columns: Sequence[str]) -> tuple[list[str], list[Any]]:
    """The concrete columns the caller did not give, with their model defaults, so a field
    another app adds later (with a default) never breaks an import."""
    given = set(columns)
    names: list[str] = []
    values: list[Any] = []
    for field in model._meta.concrete_fields:
        if field.attname in given or field.name in given or field.primary_key:
            continue
        names.append(field.attname)
        values.append(field.get_default())
    return names, values


def _sqlite_literal(value: Any, convert: Converter) -> str:
    """``value`` written into an SQLite statement, as its driver would have bound it."""
    if convert is not None:
        value = convert(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | Decimal) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    if isinstance(value, date):
        value = value.isoformat()
    if isinstance(value, str):
        # SQLite's string literal doubles quotes; Django's cursor reads "%" as a placeholder's.
        return "'" + value.replace("'", "''").replace("%", "%%") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (values in ``columns`` order) with the fastest path the database has.

    ``constants`` are columns with the same value on every row (a campaign's id, a timestamp):
    SQLite gets them written once into the statement, so each row binds only what varies (about
    a third less per row for the campaign members); COPY gets them on every row.
    """
    if not rows:
        return
    constants = dict(constants or {})
    extra_names, extra_values = _missing_defaults(model, [*columns, *constants])
    if connection.vendor == "postgresql" and constants:
        extra_names, extra_values = [*constants, *extra_names], [*constants.values(), *extra_values]
        constants = {}
    if extra_names:
        columns = [*columns, *extra_names]
        rows = [[*row, *extra_values] for row in rows]
    names = ", ".join(_column(model, c) for c in [*columns, *constants])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            # Django's wrapper turns the driver's errors into django.db's (IntegrityError, ...).
            with connection.wrap_database_errors, raw.copy(f"COPY {_table(model)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        literals = [
            _sqlite_literal(value, convert)
            for value, convert in zip(constants.values(), converters(model, list(constants)), strict=True)
        ]
        marks = ", ".join(["%s"] * len(columns) + literals)
        cursor.executemany(
            f"INSERT INTO {_table(model)} ({names}) VALUES ({marks})",  # noqa: S608 - names from the model
            _prepare(rows, converters(model, columns)),
        )


def update(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``UPDATE ... SET columns WHERE id``: each row is the values in ``columns`` order, then the id.

    SQLite: one executemany (a statement per row costs little in process). PostgreSQL: one
    ``UPDATE ... FROM (VALUES ...)`` per chunk of rows, each value cast to its column's type, since a
    statement per row costs a round of parsing and planning each (78,240 rows: 13 s, set-based 2 s).
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        _update_from_values(model, columns, rows)
        return
    assignments = ", ".join(f"{_column(model, c)} = %s" for c in columns)
    convert = [*converters(model, columns), None]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {_table(model)} SET {assignments} WHERE id = %s",  # noqa: S608 - names from the model
            _prepare(rows, convert),
        )


def _update_from_values(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    types = []
    for name in columns:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)
        types.append(field.db_type(connection))
    assignments = ", ".join(f"{_column(model, c)} = v.c{i}::{t}" for i, (c, t) in enumerate(zip(columns, types, strict=True)))
    names = ", ".join(["id", *(f"c{i}" for i in range(len(columns)))])
    row_marks = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    per = max(1, 30_000 // (len(columns) + 1))  # well below PostgreSQL's 65,535 parameters
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            params = [value for row in chunk for value in (row[-1], *row[:-1])]
            cursor.execute(
                f"UPDATE {_table(model)} SET {assignments} "  # noqa: S608 - names and types from the model
                f"FROM (VALUES {', '.join([row_marks] * len(chunk))}) AS v({names}) WHERE {_table(model)}.id = v.id",
                params,
            )


def _column_default(field: models.Field) -> Any:
    value = field.get_default()
    return float(value) if isinstance(value, Decimal) else value


def insert_columns(model: type[models.Model], columns: Mapping[str, Sequence[Any]], n: int) -> None:
    """INSERT ``n`` rows given column by column (keyed by attname) with one executemany.

    The values must already be what the driver binds (floats for decimals, ISO strings or
    datetimes): this path is for columnar producers (the generator), which convert whole arrays
    at once. Every concrete field is written: from ``columns``, else its default, else NULL; a
    required field with neither is an error rather than a silent NULL.
    """
    if n == 0:
        return
    provided = dict(columns)
    names: list[str] = []
    values: list[Iterable[Any]] = []
    for f in model._meta.concrete_fields:
        if f.attname in provided:
            column = provided.pop(f.attname)
            if len(column) != n:
                raise ValueError(f"{model.__name__}.{f.attname}: {len(column)} values for {n} rows")
            names.append(str(f.column))
            values.append(column)
        elif f.primary_key or (f.null and not f.has_default()):
            continue
        else:
            default = _column_default(f)
            if default is None and not f.null:
                raise ValueError(f"No value and no default for {model.__name__}.{f.name}.")
            names.append(str(f.column))
            values.append(itertools.repeat(default, n))
    if provided:
        raise ValueError(f"{model.__name__} has no fields {sorted(provided)}")
    cols, marks = ", ".join(connection.ops.quote_name(c) for c in names), ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {_table(model)} ({cols}) VALUES ({marks})",  # noqa: S608 - names from the model
            zip(*values),  # type: ignore[arg-type]  # noqa: B905 - any iterable binds; repeat() columns are endless
        )


def copy_table(model: type[models.Model], columns: Sequence[str], table: pa.Table) -> None:
    """PostgreSQL only: COPY an Arrow table (columns in ``columns`` order) as one CSV block,
    written by Arrow, so no Python object is made per cell."""
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
    names = ", ".join(_column(model, c) for c in columns)
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(
        f"COPY {_table(model)} ({names}) FROM STDIN WITH (FORMAT csv)"
    ) as copy:
        copy.write(buffer.getbuffer())
