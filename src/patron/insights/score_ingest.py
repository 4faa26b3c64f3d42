"""The scoring run's history rows written to SQLite through ADBC, as Arrow columns.

At a million customers the cursor path spent most of the write turning every score into a
Python object and binding it again one row at a time (``executemany``). Here the numeric columns
go from numpy to Arrow without a Python object per value, and the driver binds each row in C
without holding the GIL. Same rows, same values, same transactions (one per chunk: delete the
chunk's rows, insert them) as :func:`patron.insights.services._write_chunks`; tests compare the
two. Used only where another connection sees the same data (a committed SQLite file); elsewhere,
and if the driver refuses, the cursor path writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

logger = logging.getLogger(__name__)

Chunk = tuple[int, int, pa.Table]  # first and last customer id, the chunk's rows


def arrow_columns(
    frame: pd.DataFrame,
    fields: Sequence[str],
    *,
    text: set[str],
    integer: set[str],
    convert: Callable[[str, pd.Series], list[Any]],
) -> dict[str, pa.Array]:
    """Each score column as Arrow, holding the database values ``convert`` gives.

    Numbers are converted without Python objects: non-finite (NaN, inf) become NULL, integer
    fields are truncated as ``int()`` truncates. Text keeps its str values and turns missing
    ones into ''. Anything else (JSON lists, object columns of mixed types) goes through
    ``convert``, the cursor path's own conversion.
    """
    out: dict[str, pa.Array] = {}
    for name in fields:
        values = frame[name]
        if name in text:
            out[name] = _text(name, values, convert)
        elif values.dtype != object and pd.api.types.is_numeric_dtype(values.dtype):
            numbers = values.to_numpy(dtype="float64", na_value=np.nan)
            missing = ~np.isfinite(numbers)
            if name in integer:
                whole = np.trunc(np.where(missing, 0.0, numbers)).astype("int64")
                out[name] = pa.array(whole, type=pa.int64(), mask=missing)
            else:
                out[name] = pa.array(numbers, type=pa.float64(), mask=missing)
        else:
            kind = pa.int64() if name in integer else None
            out[name] = pa.array(convert(name, values), type=kind)
    return out


def _text(name: str, values: pd.Series, convert: Callable[[str, pd.Series], list[Any]]) -> pa.Array:
    try:
        # None and NaN are the only non-str values a pipeline column normally holds: NULL -> ''.
        return pa.array(values, type=pa.string(), from_pandas=True).fill_null("")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(convert(name, values), type=pa.string())


def ingest(path: str, table: str, run_id: int, chunks: Iterable[Chunk], done: Callable[[int], None]) -> bool:
    """Write each chunk in its own transaction (delete the run's rows of its customers, insert
    the chunk); True when every chunk is written, False when the driver could not start (the
    caller then writes every chunk itself; chunks already written are rewritten, idempotently).
    """
    import adbc_driver_sqlite.dbapi as adbc  # here: only whole-book runs need the driver

    try:
        con = adbc.connect(path, autocommit=True)
    except (adbc.Error, OSError):
        logger.warning("ADBC could not open %s; writing through the cursor", path, exc_info=True)
        return False
    with con, con.cursor() as cursor:
        # What Django's connection sets (config/database.py), and the bulk write's larger
        # page cache and fewer WAL checkpoints (core/bulk.py).
        for pragma in (
            "synchronous = NORMAL",
            "foreign_keys = ON",
            "busy_timeout = 30000",
            "cache_size = -1048576",
            "wal_autocheckpoint = 16384",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        con.adbc_connection.set_options(**{"adbc.connection.autocommit": "false"})
        name = f'"{table}"'
        for lo, hi, rows in chunks:
            try:
                cursor.execute(
                    f"DELETE FROM {name} WHERE run_id = ? AND customer_id BETWEEN ? AND ?",  # noqa: S608
                    (run_id, lo, hi),
                )
                cursor.adbc_ingest(table, rows, mode="append")
                con.adbc_connection.commit()
            except BaseException:
                con.adbc_connection.rollback()
                raise
            done(rows.num_rows)
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return True
