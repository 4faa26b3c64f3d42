"""SQLite through ADBC in a child process: this process's connections keep their file locks and
write-ahead log, errors come back as messages."""

from __future__ import annotations

import os
import sqlite3

import pytest

from patron.insights import sqlite_worker


@pytest.fixture
def database(tmp_path):
    path = str(tmp_path / "book.sqlite3")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE t (a INTEGER, b REAL, c TEXT)")
    connection.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, i / 4, f"r{i}") for i in range(3000)])
    yield path, connection
    connection.close()


def test_a_read_leaves_this_process_log_and_writes_alone(database):
    """In this process the driver's copy of SQLite, closing its connection, deleted the log this
    connection was writing to: a later row reached no other connection (and was lost)."""
    path, connection = database
    table = sqlite_worker.read(path, "SELECT a, b, c FROM t ORDER BY a")
    assert table.num_rows == 3000 and table.column("b")[5].as_py() == 1.25
    assert os.path.exists(path + "-wal")
    connection.execute("INSERT INTO t VALUES (-1, 0.5, 'after the read')")
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM t").fetchone() == (3001,)


def test_a_failed_query_is_reported_and_the_reader_serves_the_next(database):
    path, _connection = database
    with pytest.raises(sqlite_worker.WorkerError, match="no such table"):
        sqlite_worker.read(path, "SELECT a FROM missing")
    # NULL in the first rows and REAL later: the driver types columns from their first rows.
    late = "SELECT CASE WHEN a >= 2000 THEN b END FROM t ORDER BY a >= 2000, a"
    with pytest.raises(sqlite_worker.WorkerError):
        sqlite_worker.read(path, late)
    assert sqlite_worker.read(path, "SELECT count(*) FROM t").column(0).to_pylist() == [3000]
    assert sqlite_worker._started[path] <= sqlite_worker.READERS


def test_readers_at_once_share_at_most_two_children(database):
    from concurrent.futures import ThreadPoolExecutor

    path, _connection = database
    with ThreadPoolExecutor(max_workers=5) as pool:
        limits = range(10, 60, 5)
        counts = list(
            pool.map(lambda n: sqlite_worker.read(path, f"SELECT a FROM t WHERE a < {int(n)}").num_rows, limits)  # noqa: S608
        )
    assert counts == list(limits)
    assert sqlite_worker._started[path] <= sqlite_worker.READERS


def test_close_stops_the_idle_readers_and_a_fork_starts_afresh(database):
    path, _connection = database
    sqlite_worker.read(path, "SELECT 1")
    children = [reader.child for reader in sqlite_worker._idle[path]]
    assert children and all(child.poll() is None for child in children)
    sqlite_worker.close()
    assert all(child.poll() is not None for child in children)
    assert sqlite_worker._started.get(path, 0) == 0 and not sqlite_worker._idle
    sqlite_worker.read(path, "SELECT 1")  # readers start again on demand
    pid = os.fork()
    if pid == 0:  # the child must not use the parent's readers' pipes
        os._exit(0 if not sqlite_worker._idle and not sqlite_worker._started else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert sqlite_worker._idle[path]  # the parent's are still there
    sqlite_worker.close()
