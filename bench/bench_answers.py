"""Benchmark: the public answer endpoint (one-click links from invitation emails) under `patron serve`.

Run from the repository root, with a PostgreSQL server (the database is created if missing and
emptied of feedback rows first):

    .venv/bin/python bench/bench_answers.py \
        --database-url postgres://postgres@127.0.0.1:5432/patron_bench_answers \
        --answers 20000 --concurrency 50 --out bench/results/answers.md

What it does:
1. migrates the database and creates one NPS survey, N customers (owned by a rep, so detractors
   open follow-ups, as in production) and N invitations, one per customer;
2. starts `patron serve` (gunicorn, gthread) on 127.0.0.1 with the access log discarded and the
   per-address rate limit off (PATRON_ANSWER_RATE_LIMIT=0: every request comes from 127.0.0.1);
3. sends one GET per invitation (`/s/i/<token>/?score=N`, seeded random scores 0–10) from
   `--concurrency` keep-alive connections (asyncio, loopback only), each request bounded by a
   timeout and the whole run by `--deadline` seconds;
4. checks the database holds exactly N responses, one per invitation, and reports answers/s,
   latency percentiles, the HTTP status counts and PostgreSQL's durability settings.
Writes are durable: PostgreSQL's defaults (fsync=on, synchronous_commit=on) are checked and
reported; each answer commits its own transaction before the page is returned.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from patron.config.secret_key import local_key

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(n: int, seed: int) -> tuple[list[str], dict[str, str]]:
    """Fresh survey, customers and invitations; returns the answer paths and PG settings."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    call_command("migrate", interactive=False, verbosity=0)
    from patron.core.models import User
    from patron.customers.models import Customer
    from patron.feedback import links
    from patron.feedback.models import ContactLog, FollowUp, Invitation, Response, Survey
    from patron.feedback.services.surveys import survey_create

    with transaction.atomic():
        FollowUp.objects.all().delete()
        Response.objects.all().delete()
        Invitation.objects.all().delete()
        ContactLog.objects.all().delete()
        Customer.objects.filter(external_id__startswith="bench-answers-").delete()
        Survey.objects.filter(name="Bench answers").delete()
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.filter(task_path__startswith="patron.feedback.").delete()
    owner = User.objects.filter(username="bench-rep").first() or User.objects.create_user(
        "bench-rep", email="bench-rep@example.com", role="rep"
    )
    survey = survey_create(name="Bench answers", kind="nps")
    now = timezone.now()
    Customer.objects.bulk_create(
        [
            Customer(name=f"Bench {i}", external_id=f"bench-answers-{i}", owner=owner, email=f"c{i}@example.com",
                     consent_survey=True)
            for i in range(n)
        ],
        batch_size=2000,
    )
    customers = list(Customer.objects.filter(external_id__startswith="bench-answers-").values_list("pk", flat=True))
    Invitation.objects.bulk_create(
        [
            Invitation(survey=survey, customer_id=pk, channel="email", touchpoint="purchase",
                       created_at=now, sent_at=now, expires_at=now + dt.timedelta(days=30))
            for pk in customers
        ],
        batch_size=2000,
    )
    rng = random.Random(seed)
    paths = []
    for invitation in Invitation.objects.filter(survey=survey).order_by("pk"):
        paths.append(f"/s/i/{links.answer_token(invitation)}/?score={rng.randint(0, 10)}")
    with connection.cursor() as cursor:
        pg = {}
        for name in ("fsync", "synchronous_commit", "wal_sync_method", "server_version"):
            cursor.execute(f"SHOW {name}")
            pg[name] = cursor.fetchone()[0]
    connection.close()
    return paths, pg


async def _client(host: str, port: int, queue: asyncio.Queue, latencies: list[float], statuses: dict[int, int],
                  timeout: float) -> None:
    reader = writer = None
    while True:
        try:
            path = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        for attempt in range(3):
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                start = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n".encode())
                status, length, close = await asyncio.wait_for(_read_head(reader), timeout)
                await asyncio.wait_for(reader.readexactly(length), timeout)
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1
                if close:
                    writer.close()
                    reader = writer = None
                break
            except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
                # The server closed an idle keep-alive connection: reconnect and send again (the
                # endpoint is idempotent for the same score, so a resend cannot store twice).
                if writer is not None:
                    writer.close()
                reader = writer = None
                if attempt == 2:
                    statuses[-1] = statuses.get(-1, 0) + 1
    if writer is not None:
        writer.close()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "content-length":
            length = int(value)
        elif key == "connection" and value.strip().lower() == "close":
            close = True
    return status, length, close


async def load(host: str, port: int, paths: list[str], concurrency: int, timeout: float, deadline: float):
    queue: asyncio.Queue = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    tasks = [asyncio.create_task(_client(host, port, queue, latencies, statuses, timeout)) for _ in range(concurrency)]
    _done, pending = await asyncio.wait(tasks, timeout=deadline)
    for t in pending:
        t.cancel()
    return time.perf_counter() - start, latencies, statuses, bool(pending)


def wait_ready(port: int, seconds: float = 60) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def count_responses() -> tuple[int, int, int]:
    from django.db import connection

    from patron.feedback.models import FollowUp, Invitation, Response

    result = (
        Response.objects.filter(survey__name="Bench answers").count(),
        Invitation.objects.filter(survey__name="Bench answers", answered_at__isnull=False).count(),
        FollowUp.objects.filter(response__survey__name="Bench answers").count(),
    )
    connection.close()
    return result


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(session: int) -> list[int]:
    """The gunicorn master and workers: every process in the server's session."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session:
                pids.append(int(entry.name))
    return pids


class BackendCPU:
    """CPU of the database's backends over the run, including backends that come and go.

    The server recycles its connections (CONN_MAX_AGE), so the backends present at the start are
    not those at the end: a thread samples them twice a second and keeps each one's last reading
    (a backend first seen during the run counts from zero; what one spends after its last sample
    is lost, a fraction of a second at most).
    """

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)  # one connection for every sample
        self.name = urlsplit(url).path.lstrip("/")
        self.start = {pid: _proc_cpu(pid) for pid in self._pids()}
        self.last = dict(self.start)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _pids(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (self.name,)
        ).fetchall()
        return [r[0] for r in rows]

    def _sample(self) -> None:
        while not self.stop.wait(0.5):
            for pid in self._pids():
                used = _proc_cpu(pid)
                if used:
                    self.last[pid] = used

    def total(self) -> float:
        self.stop.set()
        self.thread.join()
        self.conn.close()
        for pid in list(self.last):
            self.last[pid] = max(self.last[pid], _proc_cpu(pid))
        return sum(used - self.start.get(pid, 0.0) for pid, used in self.last.items())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/patron_bench_answers")
    parser.add_argument("--answers", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30.0, help="Seconds per request.")
    parser.add_argument("--deadline", type=float, default=600.0, help="Seconds for the whole load run.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="Write a markdown report here.")
    args = parser.parse_args()
    if not 1 <= args.answers <= 1_000_000 or not 1 <= args.concurrency <= 500:
        raise SystemExit("--answers must be 1..1,000,000 and --concurrency 1..500")

    data_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "patron-bench-answers"
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "PATRON_DATA_DIR": str(data_dir),
        "PATRON_ANSWER_RATE_LIMIT": "0",
        "DJANGO_SETTINGS_MODULE": "patron.config.settings",
        "PATRON_LOG_LEVEL": "ERROR",
        # patron serve needs a configured key: the one this process signs the links with.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or local_key(data_dir),
    }
    env.pop("PATRON_TESTING", None)
    os.environ.update({k: v for k, v in env.items() if k != "PATRON_TESTING"})
    ensure_database(args.database_url)
    t0 = time.perf_counter()
    paths, pg = prepare(args.answers, args.seed)
    print(f"prepared {len(paths)} invitations in {time.perf_counter() - t0:.1f}s", flush=True)

    port = free_port()
    command = [
        str(ROOT / ".venv" / "bin" / "patron"), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(args.workers), "--threads", str(args.threads), "--no-migrate",
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_ready(port)
        # Warm up each worker (imports, first connections) with answers that are not measured.
        warm, paths = paths[: 4 * args.workers * args.threads], paths[4 * args.workers * args.threads :]
        asyncio.run(load("127.0.0.1", port, warm, min(args.concurrency, len(warm)), args.timeout, 120))
        app_pids = server_pids(server.pid)
        app_cpu_before = {pid: _proc_cpu(pid) for pid in app_pids}
        db = BackendCPU(args.database_url)
        cpu_before = os.times()
        elapsed, latencies, statuses, cut = asyncio.run(
            load("127.0.0.1", port, paths, args.concurrency, args.timeout, args.deadline)
        )
        cpu_after = os.times()
        db_cpu = db.total()
        server_cpu = sum(_proc_cpu(pid) - before for pid, before in app_cpu_before.items()) + db_cpu
        load_average = os.getloadavg()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    stored, answered, follow_ups = count_responses()
    total = len(warm) + len(paths)
    rate = len(latencies) / elapsed if elapsed else 0.0
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else [0.0] * 99
    client_cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    report = {
        "date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {pg['server_version']}",
        "command": " ".join(["bench/bench_answers.py", f"--answers {args.answers}", f"--concurrency {args.concurrency}",
                             f"--workers {args.workers}", f"--threads {args.threads}"]),
        "answers sent (measured + warm-up)": f"{len(paths):,} + {len(warm):,}",
        "HTTP statuses": ", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items())),
        "elapsed (measured part)": f"{elapsed:.2f} s",
        "answers/s": f"{rate:,.0f}",
        "latency p50 / p95 / p99": f"{q[49] * 1000:.1f} / {q[94] * 1000:.1f} / {q[98] * 1000:.1f} ms",
        "load client CPU": f"{client_cpu:.1f} s",
        "server CPU (gunicorn + PostgreSQL backends) per answer": f"{server_cpu / max(len(latencies), 1) * 1000:.2f} ms "
        f"({(server_cpu - db_cpu) / max(len(latencies), 1) * 1000:.2f} gunicorn + {db_cpu / max(len(latencies), 1) * 1000:.2f} PostgreSQL)",
        "answers/s the server CPU allows on 2 dedicated cores": f"{2 * len(latencies) / server_cpu:,.0f}" if server_cpu else "n/a",
        "answers/s server and load client CPU allow on 2 cores": f"{2 * len(latencies) / (server_cpu + client_cpu):,.0f}"
        if server_cpu + client_cpu else "n/a",
        "load average at the end (1/5/15 min; other work shares the machine)": " / ".join(f"{x:.1f}" for x in load_average),
        "responses stored": f"{stored:,} (expected {total:,}; invitations answered {answered:,})",
        "follow-ups opened (detractors)": f"{follow_ups:,}",
        "durability": f"fsync={pg['fsync']}, synchronous_commit={pg['synchronous_commit']}, wal_sync_method={pg['wal_sync_method']}",
        "run cut by deadline": "yes" if cut else "no",
    }
    for k, v in report.items():
        print(f"{k}: {v}")
    if args.out:
        lines = ["| measure | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in report.items()]]
        args.out.write_text(
            "# Public answer endpoint under load\n\n"
            "One GET per invitation link (`/s/i/<token>/?score=N`), as a customer clicking a score in\n"
            "the invitation email. Each answer is a committed PostgreSQL transaction (response row,\n"
            "invitation marked answered, and for detractors a follow-up, whose alert email a periodic job sends).\n"
            "Server, database and load client share the machine.\n\n" + "\n".join(lines) + "\n"
        )
    if stored != total or answered != total:
        raise SystemExit(f"stored {stored} responses for {total} answers")


if __name__ == "__main__":
    main()
