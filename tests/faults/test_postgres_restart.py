"""PostgreSQL restarts under load: requests during the outage get a clean 503 (not a 500, not a
hang), requests after it succeed, and nothing is half-written.

The test runs its own PostgreSQL cluster (Debian's initdb and pg_ctl on a free port in a
temporary folder), never the shared server, and ``patron serve`` against it, with API reads and
writes and survey answers arriving all along.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import socket
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults.conftest import PATRON, child_env, wait_for

pytestmark = pytest.mark.slow

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
INVITATIONS = 400
PACE = 0.05  # seconds between two requests of a kind: a steady load that lasts the whole test


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A throw-away PostgreSQL cluster, run as the ``postgres`` user when the tests run as root
    (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = Path(BINARIES[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="patron-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/patron"

    def _run(self, *args: str) -> None:
        import subprocess

        result = subprocess.run(args, user=self.user, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr + result.stdout

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C")
        self.start()
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE patron")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: no clean shutdown; sessions are cut and open transactions lost, as in a crash."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def sql(self, query: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://"), autocommit=True) as db:
            return db.execute(query).fetchall()  # type: ignore[arg-type]

    def remove(self) -> None:
        import contextlib
        import subprocess

        with contextlib.suppress(Exception):
            subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"], user=self.user, capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not BINARIES or not Path(BINARIES[-1], "initdb").exists():
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    cluster = Cluster()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.remove()


SETUP = """
from datetime import timedelta
from decimal import Decimal
from django.utils import timezone
from patron.commerce.services import product_create
from patron.core.services import user_create
from patron.core.tokens import token_create
from patron.customers.services import customer_create
from patron.feedback import links
from patron.feedback.services.invitations import invitations_create
from patron.feedback.services.surveys import survey_create
admin = user_create(username="load", role="admin", password="load-Pass-2025")[0]
customers = [customer_create(name=f"Load {i}", owner=admin, consent_survey=True) for i in range({n})]
product = product_create(sku="LOAD", name="Load tea", list_price=Decimal("10.00"), unit_cost=Decimal("4.00"))
survey = survey_create(name="Load NPS", kind="nps")
batch = invitations_create(survey=survey, customers=customers, channel="link")
print("token", token_create(user=admin)[1])
print("customer", customers[0].pk)
print("product", product.pk)
for invitation in batch.queued:
    print("answer", "/s/i/" + links.answer_token(invitation) + "/")
"""


@dataclass
class Load:
    """Requests of three kinds, each in its own thread, until stopped; every answer is recorded."""

    port: int
    token: str
    customer: int
    product: int
    answers: list[str]
    phase: str = "before"
    records: list[tuple[str, str, str, int | str, dict]] = field(default_factory=list)  # phase, kind, key, status, detail
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int | str, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.token}"} if path.startswith("/api/") else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8", errors="replace")
            return response.status, {
                "type": response.getheader("Content-Type", ""), "retry": response.getheader("Retry-After"), "body": content[:2000],
            }
        except TimeoutError:
            return "hung", {}
        except OSError as exc:
            return "error", {"body": repr(exc)}
        finally:
            connection.close()

    def order_body(self, key: str) -> dict:
        return {
            "customer_id": self.customer, "channel": "web", "ordered_at": "2025-05-01T10:00:00+08:00",
            "external_id": key, "lines": [{"product_id": self.product, "quantity": "2"}],
        }

    def _loop(self, kind: str) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            if kind == "write":
                key = f"LOAD-{n}"
                status, detail = self.request("POST", "/api/v1/orders", self.order_body(key))
            elif kind == "read":
                key = ""
                status, detail = self.request("GET", "/api/v1/customers?limit=5")
            else:
                if n > len(self.answers):
                    return
                key = self.answers[n - 1]
                status, detail = self.request("GET", key + "?score=9")
            with self.lock:
                self.records.append((self.phase, kind, key, status, detail))
            self.stop.wait(PACE)

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._loop, args=(kind,), daemon=True) for kind in ("write", "read", "answer")]
        for thread in threads:
            thread.start()
        return threads

    def count(self, phase: str, ok: bool) -> Counter[str]:
        with self.lock:
            return Counter(k for p, k, _key, s, _d in self.records if p == phase and (s in (200, 201)) == ok)


def _health(port: int) -> int | str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/health/")
        return connection.getresponse().status
    except OSError:
        return "down"
    finally:
        connection.close()


def test_a_postgresql_restart_under_load_fails_cleanly_and_recovers(cluster, tmp_path, bytecode):
    import subprocess

    env = child_env(DATABASE_URL=cluster.url, PATRON_DATA_DIR=str(tmp_path), PATRON_ANSWER_RATE_LIMIT="0/60", **bytecode)
    migrated = subprocess.run([*PATRON, "migrate", "--verbosity", "0"], env=env, capture_output=True, text=True, timeout=600)
    assert migrated.returncode == 0, migrated.stderr
    setup = subprocess.run([*PATRON, "shell", "-c", SETUP.replace("{n}", str(INVITATIONS))], env=env, capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stderr
    values: dict[str, list[str]] = {}
    for line in setup.stdout.splitlines():
        name, _, value = line.partition(" ")
        values.setdefault(name, []).append(value)

    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [*PATRON, "serve", "--no-migrate", "--port", str(port), "--workers", "2", "--threads", "4"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_for(lambda: _health(port) == 200, "the server to answer", timeout=180)
        load = Load(port, values["token"][0], int(values["customer"][0]), int(values["product"][0]), values["answer"])
        threads = load.start()
        wait_for(lambda: min(load.count("before", True)[k] for k in ("write", "read", "answer")) >= 3, "requests before the restart")

        load.phase = "outage"
        cluster.stop()
        wait_for(lambda: min(load.count("outage", False)[k] for k in ("write", "read", "answer")) >= 2, "requests during the outage")
        cluster.start()
        load.phase = "after"
        wait_for(lambda: _health(port) == 200, "the server to reach the database again")
        wait_for(lambda: min(load.count("after", True)[k] for k in ("write", "read", "answer")) >= 3, "requests after the restart")
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)

        statuses = Counter((p, k, s) for p, k, _key, s, _d in load.records)
        # Every request got an answer: a success, or a 503 saying to retry; never a 500 or a hang.
        assert {s for (_p, _k, s) in statuses} <= {200, 201, 503}, statuses
        assert {s for (p, _k, s) in statuses if p == "before"} <= {200, 201}, statuses
        for _phase, kind, _key, status, detail in load.records:
            if status != 503:
                continue
            assert detail["retry"] is not None
            if kind == "answer":
                assert "The database is not available right now" in detail["body"]
            else:
                assert json.loads(detail["body"])["code"] == "database_unavailable"

        # Nothing half-written: the writes that got a 503 are sent again (same external id, same
        # link); each lands once, and the stored figures add up.
        failed_orders = {key for _p, kind, key, status, _d in load.records if kind == "write" and status == 503}
        for key in failed_orders:
            status, detail = load.request("POST", "/api/v1/orders", load.order_body(key))
            assert status in (201, 409), detail
        failed_answers = {key for _p, kind, key, status, _d in load.records if kind == "answer" and status == 503}
        for key in failed_answers:
            status, detail = load.request("GET", key + "?score=9")
            assert status == 200, detail
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()

    sent = {key for _p, kind, key, _s, _d in load.records if kind == "write"}
    assert cluster.sql("SELECT count(*) FROM commerce_order") == [(len(sent),)]
    assert cluster.sql("SELECT count(*) FROM commerce_order o WHERE revenue <> 20 OR (SELECT count(*) FROM commerce_orderline l WHERE l.order_id = o.id) <> 1") == [(0,)]
    totals = cluster.sql("SELECT id, revenue_total, order_count FROM customers_customer WHERE order_count > 0")
    assert totals == [(load.customer, 20 * len(sent), len(sent))]
    answered = {key for _p, kind, key, _s, _d in load.records if kind == "answer"}
    assert cluster.sql("SELECT count(*) FROM feedback_response") == [(len(answered),)]
    assert cluster.sql("SELECT count(*) FROM feedback_invitation WHERE answered_at IS NOT NULL") == [(len(answered),)]
    assert cluster.sql("SELECT count(*) FROM feedback_invitation i JOIN feedback_response r ON r.invitation_id = i.id") == [(len(answered),)]
