"""Statements for paths that run on every click (the public answer link).

``obj.save(force_insert=True)`` compiles its INSERT afresh each call, which costs more CPU than
the database spends on the row. ``insert`` builds the statement once per model and reuses it;
values go through each field's ``get_db_prep_save``, as the ORM does, so they are stored alike.
No ``pre_save``/``post_save`` signals are sent: use it only for models nothing listens to.

``hot_cursor`` runs such statements, on PostgreSQL as server-side prepared statements: parsed
and planned once per connection instead of on every click, and the parameters sent apart from
the SQL instead of quoted into it by Python. The rest of Patron keeps Django's client-side
binding (``DATABASES`` has no ``server_side_binding``), so only these few statements are prepared.
Behind a connection pooler in transaction mode, ``PATRON_DB_POOLER=transaction`` (or
``PATRON_DB_PREPARE=0``) turns them off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.conf import settings
from django.db import connections
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model

_INSERTS: dict[tuple[str, type[Model]], tuple[str, list[Field[Any, Any]]]] = {}


def _insert_sql(alias: str, model: type[Model]) -> tuple[str, list[Field[Any, Any]]]:
    key = (alias, model)
    found = _INSERTS.get(key)
    if found is None:
        connection = connections[alias]
        qn = connection.ops.quote_name
        pk = model._meta.pk
        assert pk is not None
        fields = [f for f in model._meta.concrete_fields if f is not pk]
        sql = (
            f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(str(f.column)) for f in fields)}) "  # noqa: S608 - names from the model
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        if connection.features.can_return_columns_from_insert:
            sql += f" RETURNING {qn(str(pk.column))}"
        found = _INSERTS[key] = (sql, fields)
    return found


def _prepare() -> bool:
    # A pooler in transaction mode hands each transaction any server connection (config.database).
    return bool(settings.PATRON_DB_PREPARE) and settings.PATRON_DB_POOLER != "transaction"


@contextmanager
def hot_cursor(using: str = "default") -> Iterator[CursorWrapper]:
    """A cursor for a statement every click runs (prepared on PostgreSQL, see the module)."""
    connection = connections[using]
    # Logged queries (DEBUG, tests counting them) keep Django's cursor, whose log shows the SQL.
    if connection.vendor != "postgresql" or not _prepare() or connection.queries_logged:
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    # Only server-binding cursors prepare; Django's own (client-side binding) cursors never do.
    raw.prepare_threshold = 0
    cursor_class: Any = ServerBindingCursor  # psycopg's Cursor, which takes the connection
    # _prepare_cursor wraps it as connection.cursor() would (query logging, execute wrappers).
    with cast(Any, connection)._prepare_cursor(cursor_class(raw)) as cursor:
        yield cursor


def insert(obj: Model, using: str = "default") -> Model:
    """INSERT ``obj`` (a new object with every field set or defaulted) and set its primary key."""
    sql, fields = _insert_sql(using, type(obj))
    connection = connections[using]
    params = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    with hot_cursor(using) as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0] if connection.features.can_return_columns_from_insert else cursor.lastrowid
    obj._state.adding = False
    obj._state.db = using
    return obj


_CHAINS: dict[tuple[Any, ...], tuple[str, list[Field[Any, Any]], list[Field[Any, Any]]]] = {}


def _chain_sql(
    alias: str, update: str, model: type[Model], child: type[Model] | None, link: str
) -> tuple[str, list[Field[Any, Any]], list[Field[Any, Any]]]:
    key = (alias, update, model, child, link)
    found = _CHAINS.get(key)
    if found is None:
        connection = connections[alias]
        qn = connection.ops.quote_name

        def insert(m: type[Model], source: str, linked: str = "") -> tuple[str, list[Field[Any, Any]]]:
            fields = [f for f in m._meta.concrete_fields if f is not m._meta.pk]
            values = ", ".join(
                f"{source}.id" if f.attname == linked else f"CAST(%s AS {f.cast_db_type(connection)})"
                for f in fields
            )
            pk = qn(str(m._meta.pk.column))  # type: ignore[union-attr]
            sql = (
                f"INSERT INTO {qn(m._meta.db_table)} ({', '.join(qn(str(f.column)) for f in fields)}) "  # noqa: S608 - names from the model
                f"SELECT {values} FROM {source} RETURNING {pk} AS id"
            )
            return sql, [f for f in fields if f.attname != linked]

        first, fields = insert(model, "claimed")
        sql = f"WITH claimed AS ({update}), made AS ({first})"
        child_fields: list[Field[Any, Any]] = []
        if child is not None:
            second, child_fields = insert(child, "made", link)
            sql += f", child AS ({second}) SELECT made.id, (SELECT id FROM child) FROM made"  # noqa: S608
        else:
            sql += " SELECT made.id, NULL FROM made"
        found = _CHAINS[key] = (sql, fields, child_fields)
    return found


def insert_if_updated(
    update: str, params: list[Any], obj: Model, child: Model | None = None, link: str = "", using: str = "default"
) -> bool:
    """PostgreSQL only: in one statement, run ``update`` (an ``UPDATE … RETURNING id``) and, only
    if it changed a row, INSERT ``obj``, then ``child`` with its field ``link`` set to obj's key.

    One round trip and, outside a transaction, one commit, where the same as separate statements
    takes five (BEGIN, UPDATE, INSERT, INSERT, COMMIT). Sets the objects' keys; returns False
    (and writes nothing) when the UPDATE matched no row.
    """
    connection = connections[using]
    sql, fields, child_fields = _chain_sql(using, update, type(obj), type(child) if child else None, link)
    values = [*params, *(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields)]
    if child is not None:
        values += [f.get_db_prep_save(getattr(child, f.attname), connection) for f in child_fields]
    with hot_cursor(using) as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    for made, pk in ((obj, row[0]), (child, row[1])):
        if made is not None:
            made.pk = pk
            made._state.adding = False
            made._state.db = using
    if child is not None:
        setattr(child, link, obj.pk)
    return True
