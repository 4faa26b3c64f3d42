"""The scoring run's history rows as Arrow columns, for the ADBC writer (``sqlite_worker``).

At a million customers the cursor path spent most of the write turning every score into a
Python object and binding it again one row at a time (``executemany``). Here the numeric columns
go from numpy to Arrow without a Python object per value, and the driver, in a child process,
binds each row in C. Same rows, same values, same transactions (one per chunk: delete the
chunk's rows, insert them) as :func:`patron.insights.services._write_chunks`; tests compare the
two. Used only where another connection sees the same data (a committed SQLite file); elsewhere
the cursor path writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


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
