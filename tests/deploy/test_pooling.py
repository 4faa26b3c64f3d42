"""PgBouncer in transaction mode in front of PostgreSQL, ``patron serve`` with several server
processes behind it and ``PATRON_DB_POOLER=transaction``: concurrent survey answers (each link
clicked twice at once) and API writes (each order sent twice at once), more Django connections
than PgBouncer has server connections; every write lands once, none is lost or doubled.

PgBouncer comes from Debian's packages (``scripts/setup.sh --pgbouncer``); without it, or on
SQLite, the test is skipped and says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from patron.config.database import pooler_settings
from patron.core import rows
from tests.faults.conftest import PATRON, Database, wait_for
from tests.faults.test_postgres_restart import SETUP, Load, _health, free_port

INVITATIONS = 60
ORDERS = 60
CLIENTS = 16  # concurrent requests, against 3 x 4 server threads and 3 PgBouncer server connections


def test_the_pooler_setting_turns_off_what_does_not_survive_transaction_pooling():
    config = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"connect_timeout": 5}}
    assert pooler_settings(config, "transaction") == "transaction"
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert config["OPTIONS"] == {"connect_timeout": 5, "prepare_threshold": None}
    session = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {}}
    assert pooler_settings(session, "session") == "session" and "DISABLE_SERVER_SIDE_CURSORS" not in session
    with pytest.raises(ImproperlyConfigured, match="PATRON_DB_POOLER must be empty, session or transaction"):
        pooler_settings({}, "statement")
    with override_settings(PATRON_DB_POOLER="transaction"):
        assert rows._prepare() is False
    with override_settings(PATRON_DB_POOLER=""):
        assert rows._prepare() is (os.environ.get("PATRON_DB_PREPARE", "1") != "0")


class Bouncer:
    """PgBouncer on a free port in a temporary folder, run as ``postgres`` when the tests run as
    root (PgBouncer refuses to run as root)."""

    def __init__(self, target: str) -> None:
        self.binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        self.dir = Path(tempfile.mkdtemp(prefix="patron-pgbouncer-"))
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        parts = urlsplit(target)
        server = f"host={parts.hostname} port={parts.port or 5432} dbname={parts.path.lstrip('/')} user={parts.username}"
        if parts.password:
            server += f" password={parts.password}"
        (self.dir / "users.txt").write_text(f'"{parts.username}" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            f"[databases]\npatron = {server}\n\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'users.txt'}\nadmin_users = {parts.username}\n"
            "pool_mode = transaction\ndefault_pool_size = 3\nmax_client_conn = 200\n"
            f"logfile = {self.dir / 'pgbouncer.log'}\npidfile = {self.dir / 'pgbouncer.pid'}\n"
        )
        if self.user:
            shutil.chown(self.dir, self.user)
            for path in self.dir.iterdir():
                shutil.chown(path, self.user)
        self.url = f"postgres://{parts.username}@127.0.0.1:{self.port}/patron"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, str(self.dir / "pgbouncer.ini")], user=self.user,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def admin(self, command: str) -> str:
        """PgBouncer's console (simple-query protocol only, hence psql)."""
        result = subprocess.run(
            ["psql", "--no-psqlrc", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-At", "-c", command, "pgbouncer"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        return result.stdout if result.returncode == 0 else ""

    def log(self) -> str:
        path = self.dir / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def bouncer(faultdb: Database) -> Iterator[Bouncer]:
    if faultdb.vendor != "postgresql":
        pytest.skip("connection pooling is a PostgreSQL matter: run with DATABASE_URL=postgres://...")
    if not (shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").exists()):
        pytest.skip("PgBouncer is not installed: scripts/setup.sh --pgbouncer installs Debian's package (needs root)")
    bouncer = Bouncer(faultdb.target)
    try:
        bouncer.start()
        wait_for(lambda: "transaction" in bouncer.admin("SHOW CONFIG"), "PgBouncer to answer", timeout=60, every=0.2)
        yield bouncer
    finally:
        bouncer.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_answers_and_api_writes_through_pgbouncer_in_transaction_mode(faultdb, bouncer, tmp_path):
    assert any(line.split("|")[:2] == ["pool_mode", "transaction"] for line in bouncer.admin("SHOW CONFIG").splitlines())
    env = {**faultdb.env, "DATABASE_URL": bouncer.url, "PATRON_DB_POOLER": "transaction", "PATRON_ANSWER_RATE_LIMIT": "0/60"}
    setup = subprocess.run(
        [*PATRON, "shell", "-c", SETUP.replace("{n}", str(INVITATIONS))], env=env, capture_output=True, text=True, timeout=600
    )
    assert setup.returncode == 0, setup.stderr
    values: dict[str, list[str]] = {}
    for line in setup.stdout.splitlines():
        name, _, value = line.partition(" ")
        values.setdefault(name, []).append(value)

    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [*PATRON, "serve", "--no-migrate", "--port", str(port), "--workers", "3", "--threads", "4"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_for(lambda: _health(port) == 200, "the server to answer", timeout=300, every=0.5)
        load = Load(port, values["token"][0], int(values["customer"][0]), int(values["product"][0]), values["answer"])
        keys = [f"POOL-{n}" for n in range(ORDERS)]
        jobs = (
            [("answer", link) for link in load.answers for _twice in (1, 2)]
            + [("write", key) for key in keys for _twice in (1, 2)]
            + [("read", "") for _ in range(20)]
        )
        jobs.sort(key=lambda job: hash(job[1]))  # interleaved, each pair of duplicates near each other

        def send(job: tuple[str, str]) -> tuple[str, str, int | str, str]:
            kind, key = job
            if kind == "answer":
                status, detail = load.request("GET", key + "?score=9")
            elif kind == "write":
                status, detail = load.request("POST", "/api/v1/orders", load.order_body(key))
            else:
                status, detail = load.request("GET", "/api/v1/customers?limit=5")
            return kind, key, status, detail.get("body", "")[:300]

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(send, jobs))
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()

    statuses = Counter((kind, status) for kind, _key, status, _body in results)
    problems = [r for r in results if r[2] not in (200, 201, 409)]
    assert not problems, (statuses, problems[:5], (tmp_path / "serve.log").read_text(errors="replace")[-3000:], bouncer.log()[-2000:])
    # Each order: one 201 and one 409 (the same external id), and one row.
    created = Counter(key for kind, key, status, _b in results if kind == "write" and status == 201)
    assert created == Counter(dict.fromkeys(keys, 1)), statuses
    assert faultdb.sql("SELECT count(*), count(DISTINCT external_id) FROM commerce_order") == [(ORDERS, ORDERS)]
    assert faultdb.value(
        "SELECT count(*) FROM commerce_order o WHERE revenue <> 20 OR (SELECT count(*) FROM commerce_orderline l WHERE l.order_id = o.id) <> 1"
    ) == 0
    # The customer's running totals, updated by concurrent transactions on shared server connections.
    assert faultdb.sql("SELECT revenue_total, order_count FROM customers_customer WHERE order_count > 0") == [(20 * ORDERS, ORDERS)]
    # Each answer link: one response and one answered invitation, however many clicks.
    assert faultdb.value("SELECT count(*) FROM feedback_response") == INVITATIONS
    assert faultdb.value("SELECT count(DISTINCT invitation_id) FROM feedback_response") == INVITATIONS
    assert faultdb.value("SELECT count(*) FROM feedback_invitation WHERE answered_at IS NOT NULL") == INVITATIONS
    assert faultdb.value("SELECT count(*) FROM feedback_response WHERE score <> 9") == 0
