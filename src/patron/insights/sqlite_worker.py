"""Whole-table reads and the scores' bulk write on SQLite through ADBC, in a child process.

The ADBC driver carries its own copy of SQLite. Two copies of SQLite in one process break
SQLite's locking: POSIX locks belong to the process, so closing the driver's connection drops
the locks Django's connection holds, and the driver, seeing no other connection, checkpoints
and deletes the write-ahead log Django's connection is still using (rows Django writes after
that are lost, or the file is damaged; ``tests/insights/test_sqlite_worker.py``). In a child
process the driver is just another process, which SQLite is built for.

    python -m patron.insights.sqlite_worker serve PATH
        stdin: one query per line (JSON text); stdout per query: ``+`` and an Arrow IPC
        stream, or ``-`` and the error on one line. The parent keeps up to two such readers
        per database file until a job calls :func:`close` (:func:`read`).
    python -m patron.insights.sqlite_worker ingest PATH TABLE RUN_ID [PRAGMA ...]
        runs the pragmas the parent passes (its connection's settings and the bulk write's),
        then turns foreign key checks on whatever they said (a score for no customer is
        refused at the commit, as on every other connection), then stdin: an Arrow IPC stream, one record batch per transaction (delete the run's
        rows of the batch's customers, insert the batch); stdout: the rows of each committed
        batch; on an error the message on stderr and exit status 1.

Imports neither Django nor pandas (starts in about half a second): what the parent sends
decides everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

import pyarrow as pa
import pyarrow.ipc


class WorkerError(RuntimeError):
    """The child failed; its message says why."""


class ConstraintError(WorkerError):
    """The database refused the rows: a CHECK, UNIQUE, NOT NULL or FOREIGN KEY constraint."""


# --- the parent's side ------------------------------------------------------------------------


def read(path: str, sql: str) -> pa.Table:
    """The query's result as an Arrow table, read by a child process (WorkerError if it fails).

    Up to two readers per database file are started on demand and kept (idle, no connection
    open) until :func:`close`: a whole-book job's reads reuse them, two at a time.
    """
    reader = _take(path)
    try:
        table = reader.query(sql)
    except WorkerError:
        _give(path, reader if reader.alive() else None)
        raise
    _give(path, reader)
    return table


class _Reader:
    def __init__(self, path: str) -> None:
        self.child, self.errors = _start("serve", path)

    def alive(self) -> bool:
        return self.child.poll() is None

    def stop(self) -> None:
        """End the child: its input closes, it finishes its loop and exits."""
        if self.child.stdin is not None:
            self.child.stdin.close()
        try:
            self.child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        self.errors()

    def query(self, sql: str) -> pa.Table:
        stdin, stdout = self.child.stdin, self.child.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps(sql).encode() + b"\n")
            stdin.flush()
            status = stdout.read(1)
            if status == b"+":
                return pa.ipc.open_stream(stdout).read_all()
            if status == b"-":
                raise WorkerError(stdout.readline().decode(errors="replace").strip())
        except (pa.ArrowInvalid, OSError):
            pass
        self.child.kill()
        self.child.wait()
        raise WorkerError(_last_line(self.errors(), "the reader stopped"))


_idle: dict[str, list[_Reader]] = {}
_started: dict[str, int] = {}
_lock = threading.Condition()
READERS = 2


def close() -> None:
    """Stop the idle readers (a whole-book job calls this when it is done: no child lingers in
    a long-lived process between jobs)."""
    with _lock:
        readers = [reader for idle in _idle.values() for reader in idle]
        for path, idle in _idle.items():
            _started[path] -= len(idle)
        _idle.clear()
    for reader in readers:
        reader.stop()


def _forget() -> None:
    """In a forked child: the readers' pipes belong to the parent; start afresh."""
    global _lock
    _idle.clear()
    _started.clear()
    _lock = threading.Condition()


os.register_at_fork(after_in_child=_forget)


def _take(path: str) -> _Reader:
    with _lock:
        while not _idle.get(path) and _started.get(path, 0) >= READERS:
            _lock.wait()
        if _idle.get(path):
            return _idle[path].pop()
        _started[path] = _started.get(path, 0) + 1
    try:
        return _Reader(path)
    except OSError:
        _give(path, None)
        raise


def _give(path: str, reader: _Reader | None) -> None:
    with _lock:
        if reader is None:
            _started[path] -= 1
        else:
            _idle.setdefault(path, []).append(reader)
        _lock.notify()


def ingest(
    path: str,
    table: str,
    run_id: int,
    batches: Sequence[pa.RecordBatch],
    done: Callable[[int], None],
    *,
    pragmas: Sequence[str] = (),
) -> None:
    """Write each batch in its own transaction through one child, which first runs ``pragmas``
    (e.g. ``"foreign_keys = ON"``); ``done(rows)`` after each batch."""
    if not batches:
        return
    child, errors = _start("ingest", path, table, str(int(run_id)), *pragmas)
    assert child.stdin is not None and child.stdout is not None
    stdin = child.stdin

    def send() -> None:
        try:
            with pa.ipc.new_stream(stdin, batches[0].schema) as stream:
                for batch in batches:
                    stream.write_batch(batch)
            stdin.close()
        except (pa.ArrowInvalid, OSError):
            pass  # the child stopped early: its exit status and message say why

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    for line in child.stdout:
        done(int(line))
    sender.join()
    _finish(child, errors)


def _start(*args: str) -> tuple[subprocess.Popen[bytes], Callable[[], str]]:
    """The child, and a function that waits for it to end and returns what it wrote to stderr."""
    child = subprocess.Popen(  # noqa: S603 - this interpreter and module; args: a path, names
        [sys.executable, "-m", "patron.insights.sqlite_worker", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # stderr is read in a thread, so a long message cannot block the child.
    text: list[bytes] = []
    stderr = child.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: text.append(stderr.read()), daemon=True)
    reader.start()

    def errors() -> str:
        reader.join()
        return b"".join(text).decode(errors="replace")

    return child, errors


def _finish(child: subprocess.Popen[bytes], errors: Callable[[], str]) -> None:
    status = child.wait()
    text = errors()
    if status != 0:
        message = _last_line(text, f"exit status {status}")
        # SQLite's words for every refused row ("FOREIGN KEY constraint failed", "CHECK
        # constraint failed: …"); the driver reports them all as an internal error.
        raise (ConstraintError if "constraint failed" in message else WorkerError)(message)


def _last_line(text: str, otherwise: str) -> str:
    """The child's message: the last line it wrote to stderr (see :func:`_one_line`)."""
    lines = text.strip().splitlines()
    return lines[-1] if lines else otherwise


# --- the child's side -------------------------------------------------------------------------


def _connect(path: str) -> tuple[Any, Any]:
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    database = adbc.AdbcDatabase(driver=adbc_driver_sqlite._driver_path(), uri=path)
    connection = adbc.AdbcConnection(database)
    return database, connection


def _execute(connection: Any, sql: str, params: pa.RecordBatch | None = None) -> None:
    import adbc_driver_manager as adbc

    with adbc.AdbcStatement(connection) as statement:
        statement.set_sql_query(sql)
        if params is not None:
            statement.bind(params)
        statement.execute_update()


def _query(connection: Any, sql: str) -> pa.Table:
    import adbc_driver_manager as adbc

    with adbc.AdbcStatement(connection) as statement:
        statement.set_sql_query(sql)
        handle, _rows = statement.execute_query()
        return pa.RecordBatchReader._import_from_c(handle.address).read_all()


def _serve_child(path: str, out: IO[bytes]) -> None:
    for line in sys.stdin.buffer:
        try:
            database, connection = _connect(path)
            try:
                table = _query(connection, json.loads(line))
            finally:
                connection.close()
                database.close()
        except Exception as exc:  # the query failed, not the reader: say so, serve the next
            out.write(b"-" + _one_line(exc).encode() + b"\n")
        else:
            out.write(b"+")
            with pa.ipc.new_stream(out, table.schema) as stream:
                stream.write_table(table)
            del table  # an idle reader holds no result
        out.flush()


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


def _ingest_child(
    path: str, table: str, run_id: int, pragmas: Sequence[str], out: IO[bytes]
) -> None:
    import adbc_driver_manager as adbc

    database, connection = _connect(path)
    try:
        for pragma in [*pragmas, "foreign_keys = ON"]:
            _execute(connection, f"PRAGMA {pragma}")
        connection.set_autocommit(False)
        name = '"' + table.replace('"', '""') + '"'
        for batch in pa.ipc.open_stream(sys.stdin.buffer):
            if batch.num_rows == 0:
                continue
            customers = batch.column("customer_id")
            bounds = pa.record_batch(
                [pa.array([run_id]), customers.slice(0, 1), customers.slice(len(customers) - 1)],
                names=["run", "lo", "hi"],
            )
            try:
                _execute(
                    connection,
                    f"DELETE FROM {name} WHERE run_id = ? AND customer_id BETWEEN ? AND ?",  # noqa: S608
                    bounds,
                )
                with adbc.AdbcStatement(connection) as statement:
                    statement.set_options(
                        **{
                            adbc.StatementOptions.INGEST_TARGET_TABLE.value: table,
                            adbc.StatementOptions.INGEST_MODE.value: adbc.INGEST_OPTION_MODE_APPEND,
                        }
                    )
                    statement.bind(batch)
                    statement.execute_update()
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            out.write(f"{batch.num_rows}\n".encode())
            out.flush()
        connection.set_autocommit(True)
        _execute(connection, "PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        connection.close()
        database.close()


def main(argv: Sequence[str]) -> int:
    out = sys.stdout.buffer
    try:
        if argv[:1] == ["serve"] and len(argv) == 2:
            _serve_child(argv[1], out)
        elif argv[:1] == ["ingest"] and len(argv) >= 4:
            _ingest_child(argv[1], argv[2], int(argv[3]), argv[4:], out)
        else:
            sys.stderr.write(
                "usage: sqlite_worker serve PATH | ingest PATH TABLE RUN_ID [PRAGMA ...]\n"
            )
            return 2
    except Exception as exc:  # the parent raises WorkerError with this line
        sys.stderr.write(_one_line(exc) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
