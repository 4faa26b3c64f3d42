"""Pull the frames the scoring pipeline needs straight from the database, in bulk.

Raw SQL with the casts done by the database (epoch seconds, floats): building millions of
Python datetimes and Decimals would cost more than the models themselves. On SQLite the
whole-book queries are read through ADBC as Arrow columns (see :func:`_fetch_columnar`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote

import pandas as pd
from django.apps import apps
from django.conf import settings
from django.db import connection, connections

from patron.analytics.pipeline import ScoringInputs
from patron.insights import sqlite_worker

logger = logging.getLogger(__name__)

CHUNK = 200_000
T = TypeVar("T")


def _epoch(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"
    # '%%' because queries always go out with a parameter list, which turns '%%' into '%'.
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _real(column: str) -> str:
    return (
        f"CAST({column} AS DOUBLE PRECISION)"
        if connection.vendor == "postgresql"
        else f"CAST({column} AS REAL)"
    )


def _fetch(sql: str, columns: Sequence[str], params: Sequence[Any] = ()) -> pd.DataFrame:
    frame = _fetch_columnar(sql, columns) if not params else None
    if frame is not None:
        return frame
    parts: list[pd.DataFrame] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        while rows := cursor.fetchmany(CHUNK):
            parts.append(pd.DataFrame.from_records(rows, columns=list(columns)))
    if not parts:
        return _empty(columns)
    return pd.concat(parts, ignore_index=True)


def fetch_frame(sql: str, columns: Sequence[str]) -> pd.DataFrame:
    """A whole-table read for another app's bulk job (the NPS figures), the way this module reads:
    Arrow columns through ADBC where possible, else the cursor."""
    return _fetch(sql, columns)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})


def sqlite_file() -> str | None:
    """The SQLite file another connection can read the same data from, else None.

    Inside a transaction this connection may hold writes no other connection sees yet (a test's
    transaction, a caller's atomic block), and an in-memory database has no file at all.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return None
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return name


def reads_elsewhere() -> bool:
    """Whether whole-table reads go through other connections (ADBC), which see the same data
    from any thread: not inside a transaction, not on an in-memory database."""
    return sqlite_file() is not None or _postgres_uri() is not None


def _postgres_uri() -> str | None:
    """A libpq URI to the same PostgreSQL database for another connection, else None.

    None inside a transaction, for the same reason as :func:`sqlite_file`.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    s = connection.settings_dict
    user = quote(str(s.get("USER") or ""), safe="")
    password = quote(str(s.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = str(s.get("HOST") or "")
    if host.startswith("/"):  # a socket directory goes in the query, not the authority
        return f"postgresql://{auth}/{quote(str(s['NAME']), safe='')}?host={quote(host, safe='')}"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}{host}{port}/{quote(str(s['NAME']), safe='')}"


def _fetch_columnar(sql: str, columns: Sequence[str]) -> pd.DataFrame | None:
    """The whole-book extract through ADBC: the rows arrive as Arrow columns, not Python tuples.

    About three times less CPU than the cursor (2.0 s instead of 6.0 s for the 100,000-customer
    book of bench/results/scoring.md on SQLite): no tuple, int or float object per value. On
    PostgreSQL the driver reads with binary COPY. Same frame as the cursor path: ints int64
    (float64 with NaN where NULL), reals float64, text str. None when not applicable, so the
    caller reads through the cursor.
    """
    path, uri = sqlite_file(), _postgres_uri()
    if path is None and uri is None:
        return None
    # Django's cursor turns '%%' into '%'; ADBC sends the text as it is.
    text = sql.replace("%%", "%")
    if path is not None:
        # In a child process: the driver's own copy of SQLite must not share this process's
        # file locks with Django's (see sqlite_worker).
        try:
            table = sqlite_worker.read(path, text)
        except (sqlite_worker.WorkerError, OSError):
            # E.g. a column NULL in the first 1,024 rows and REAL later: the driver fixes each
            # column's type on the first rows and refuses to change it.
            logger.warning("columnar read failed; reading through the cursor", exc_info=True)
            return None
    else:
        import adbc_driver_postgresql.dbapi as adbc  # here: only whole-book runs need the driver

        try:
            with adbc.connect(uri) as con, con.cursor() as cursor:
                cursor.execute(text)
                table = cursor.fetch_arrow_table()
        except (adbc.Error, OSError):
            logger.warning("columnar read failed; reading through the cursor", exc_info=True)
            return None
    if table.num_rows == 0:
        return _empty(columns)
    frame = table.rename_columns(list(columns)).to_pandas()
    for name in columns:
        if frame[name].isna().all():
            frame[name] = pd.Series([None] * len(frame), dtype=object)  # as the cursor gives
        elif pd.api.types.is_integer_dtype(frame[name]) and frame[name].dtype != "int64":
            frame[name] = frame[name].astype("int64")  # PostgreSQL's integer and smallint
    return frame


def _local_time(seconds: pd.Series) -> pd.Series:
    """Epoch seconds to naive local time, so days and quarters follow the business's calendar."""
    stamps = pd.to_datetime(pd.to_numeric(seconds), unit="s", utc=True)  # None -> NaT
    return stamps.dt.tz_convert(settings.TIME_ZONE).dt.tz_localize(None)


def _with_time(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    frame[column] = _local_time(frame[column]) if len(frame) else pd.Series(dtype="datetime64[ns]")
    return frame


def orders_frame(customer_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Orders in the base currency; an order waiting for a rate is left out, as from the totals."""
    where, params = _customer_filter("customer_id", customer_ids, converted=True)
    frame = _fetch(
        f"SELECT id, customer_id, {_epoch('ordered_at')}, {_real('base_revenue')}, {_real('base_cost_of_goods')} "
        f"FROM commerce_order{where}",
        ["order_id", "customer_id", "date", "revenue", "cogs"],
        params,
    )
    return _with_time(frame, "date")


def lines_frame() -> pd.DataFrame:
    frame = _fetch(
        "SELECT order_id, product_id FROM commerce_orderline", ["order_id", "product_id"]
    )
    return frame.astype({"order_id": "int64", "product_id": "int64"}) if len(frame) else frame


def costs_frame(customer_ids: Sequence[int] | None = None) -> pd.DataFrame:
    where, params = _customer_filter("customer_id", customer_ids, converted=True)
    frame = _fetch(
        f"SELECT customer_id, {_epoch('occurred_at')}, {_real('base_amount')} FROM commerce_costevent{where}",
        ["customer_id", "date", "amount"],
        params,
    )
    return _with_time(frame, "date")


def interactions_frame(customer_ids: Sequence[int] | None = None) -> pd.DataFrame:
    where, params = _customer_filter("customer_id", customer_ids)
    frame = _fetch(
        f"SELECT customer_id, {_epoch('occurred_at')}, channel FROM engagement_interaction{where}",
        ["customer_id", "date", "kind"],
        params,
    )
    return _with_time(frame, "date")


def customers_frame() -> pd.DataFrame:
    return _fetch("SELECT id FROM customers_customer", ["customer_id"])


def customer_facts_frame() -> pd.DataFrame:
    """Who owns each customer and the facts the dashboards count (profit to date, orders, contacts)."""
    contact = connection.ops.quote_name(apps.get_model("customers", "Contact")._meta.db_table)
    frame = _fetch(
        f"SELECT c.id, c.owner_id, c.branch_id, c.region_id, {_real('c.profit_total')}, c.order_count, "
        f"CASE WHEN EXISTS (SELECT 1 FROM {contact} ct WHERE ct.customer_id = c.id) THEN 1 ELSE 0 END "
        "FROM customers_customer c",
        [
            "customer_id",
            "owner_id",
            "branch_id",
            "region_id",
            "profit_total",
            "order_count",
            "has_contact",
        ],
    )
    return frame


def nps_frame(customer_ids: Sequence[int] | None = None) -> pd.DataFrame | None:
    """NPS answers, when the feedback app records them (score 0-10 on an NPS survey)."""
    model = _model("feedback", "Response")
    if model is None:
        return None
    table = model._meta.db_table
    fields = {f.name for f in model._meta.get_fields()}
    if not {"customer", "score", "created_at"} <= fields:
        return None
    where, params = _customer_filter("customer_id", customer_ids)
    extra = " AND " if where else " WHERE "
    frame = _fetch(
        f"SELECT customer_id, {_epoch('created_at')}, score FROM {table}{where}{extra}"
        "customer_id IS NOT NULL AND score IS NOT NULL",
        ["customer_id", "date", "score"],
        params,
    )
    return _with_time(frame, "date")


def follow_ups_frame(customer_ids: Sequence[int] | None = None) -> pd.DataFrame | None:
    model = _model("feedback", "FollowUp")
    if model is None:
        return None
    fields = {f.name for f in model._meta.get_fields()}
    if not {"customer", "opened_at", "closed_at"} <= fields:
        return None
    where, params = _customer_filter("customer_id", customer_ids)
    frame = _fetch(
        f"SELECT customer_id, {_epoch('opened_at')}, {_epoch('closed_at')} FROM {model._meta.db_table}{where}",
        ["customer_id", "opened_at", "closed_at"],
        params,
    )
    return _with_time(_with_time(frame, "opened_at"), "closed_at")


def inputs(customer_ids: Sequence[int] | None = None) -> ScoringInputs:
    customers = (
        customers_frame()
        if customer_ids is None
        else pd.DataFrame({"customer_id": list(customer_ids)})
    )
    readers: dict[str, Callable[[], pd.DataFrame]] = {
        "orders": lambda: orders_frame(customer_ids),
        "lines": lines_frame if customer_ids is None else lambda: lines_for_orders([]),
        "costs": lambda: costs_frame(customer_ids),
        "interactions": lambda: interactions_frame(customer_ids),
    }
    big = _read_all(readers, parallel=customer_ids is None)
    return ScoringInputs(
        customers=customers,
        nps=nps_frame(customer_ids),
        follow_ups=follow_ups_frame(customer_ids),
        **big,
    )


def _read_all(
    readers: dict[str, Callable[[], pd.DataFrame]], *, parallel: bool
) -> dict[str, pd.DataFrame]:
    """Run the readers; the whole book's through ADBC two at a time.

    Each columnar read runs on its own connection (on SQLite in a reader process, see
    sqlite_worker) and this thread mostly waits for it outside the GIL: on two cores the four
    largest tables of a 1M-customer book came in 5.2 s instead of 9.3. Only when the data is
    read through ADBC (decided here, in the caller's thread: a transaction or an in-memory
    database keeps everything on this connection).
    """
    if not parallel or not reads_elsewhere():
        return {name: read() for name, read in readers.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(in_thread, read) for name, read in readers.items()}
        return {name: future.result() for name, future in futures.items()}


def in_thread(work: Callable[[], T]) -> T:
    """Run ``work`` (in a worker thread) and close the database connections it opened there."""
    try:
        return work()
    finally:
        connections.close_all()  # a read that fell back to the cursor opened this thread's own


def _customer_filter(
    column: str, customer_ids: Sequence[int] | None, *, converted: bool = False
) -> tuple[str, list[int]]:
    """The WHERE clause for these customers (all if None); ``converted`` also leaves out money
    records waiting for an exchange rate."""
    rate = " AND exchange_rate IS NOT NULL" if converted else ""
    if customer_ids is None:
        return (" WHERE exchange_rate IS NOT NULL" if converted else ""), []
    ids = [int(i) for i in customer_ids]
    if not ids:
        return f" WHERE {column} IS NULL AND 1 = 0", []
    return f" WHERE {column} IN ({', '.join(['%s'] * len(ids))}){rate}", ids


def _model(app_label: str, name: str) -> Any:
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def lines_for_orders(order_ids: Sequence[int]) -> pd.DataFrame:
    ids = [int(i) for i in order_ids]
    if not ids:
        return pd.DataFrame(
            {"order_id": pd.Series(dtype="int64"), "product_id": pd.Series(dtype="int64")}
        )
    return _fetch(
        f"SELECT order_id, product_id FROM commerce_orderline WHERE order_id IN ({', '.join(['%s'] * len(ids))})",
        ["order_id", "product_id"],
        ids,
    )
