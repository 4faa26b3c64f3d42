"""Settings for a process's long bulk writes (imports, scoring runs), restored afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


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
