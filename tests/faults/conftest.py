"""Real processes (``patron worker``, ``import``, ``score``, ``serve``) killed with SIGKILL mid-work.

They run against a SQLite file, or, when DATABASE_URL names PostgreSQL, against the test
database (committed data, emptied after each test: mark the tests
``django_db(transaction=True)``). The test itself reads the database with
plain SQL and writes through ``patron shell``, as another process would.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PATRON = [sys.executable, "-m", "patron.cli"]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PATRON_DATA_DIR"}}
    env.update(PATRON_TESTING="1", SECRET_KEY="faults-" + "k" * 50, PATRON_LOG_LEVEL="WARNING")
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def bytecode(tmp_path_factory) -> dict[str, str]:
    """Compiled modules of the child processes, kept for the session: each process starts in
    seconds rather than compiling Django and the analytics stack again (where the environment
    turns bytecode files off)."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return {}
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(tmp_path_factory.mktemp("pycache"))}


@dataclass
class Database:
    """The database the child processes use, and plain SQL on it for the test."""

    env: dict[str, str]
    vendor: str
    target: str  # the SQLite file or the PostgreSQL URL
    logs: Path
    started: list[subprocess.Popen] = field(default_factory=list)

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            with sqlite3.connect(self.target, timeout=30) as db:
                return db.execute(query).fetchall()
        import psycopg

        with psycopg.connect(self.target, autocommit=True) as db:
            return db.execute(query).fetchall()  # type: ignore[arg-type]

    def value(self, query: str) -> Any:
        return self.sql(query)[0][0]

    def run(self, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PATRON, *args], env={**self.env, **env}, capture_output=True, text=True, timeout=timeout
        )

    def shell(self, code: str) -> str:
        result = self.run("shell", "-c", code)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def start(self, *args: str, name: str, **env: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [*PATRON, *args], env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def kill(process: subprocess.Popen) -> None:
    """``kill -9`` the process (not its children: they must notice on their own)."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 120, every: float = 0.1) -> Any:
    """Poll until ``condition()`` is true (a bound on waiting, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, bytecode) -> Path:
    """A migrated SQLite database, copied for each test."""
    data = tmp_path_factory.mktemp("faults-template")
    result = subprocess.run(
        [*PATRON, "migrate", "--verbosity", "0"],
        env=child_env(PATRON_DATA_DIR=str(data), **bytecode), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return data / "patron.sqlite3"


def _postgres_url(settings: dict[str, Any]) -> str:
    from urllib.parse import quote

    auth = quote(settings["USER"] or "")
    if settings.get("PASSWORD"):
        auth += ":" + quote(settings["PASSWORD"])
    return f"postgres://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"


@pytest.fixture
def faultdb(request, tmp_path, bytecode) -> Iterator[Database]:
    from django.db import connection

    logs = tmp_path / "logs"
    logs.mkdir()
    if connection.vendor == "postgresql":
        # The test database; the tests' django_db(transaction=True) empties it after each.
        url = _postgres_url(connection.settings_dict)
        database = Database(child_env(DATABASE_URL=url, PATRON_DATA_DIR=str(tmp_path), **bytecode), "postgresql", url, logs)
    else:
        data = tmp_path / "data"
        data.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), data / "patron.sqlite3")
        database = Database(child_env(PATRON_DATA_DIR=str(data), **bytecode), "sqlite", str(data / "patron.sqlite3"), logs)
    if database.vendor == "postgresql":  # rows another test left would change every count here
        assert database.value("SELECT count(*) FROM customers_customer") == 0, "the test database is not empty"
    try:
        yield database
    finally:
        database.stop_all()


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
