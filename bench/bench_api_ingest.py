"""Benchmark: batch ingestion of orders over the REST API into PostgreSQL, beside a raw COPY.

Run from the repository root (PostgreSQL reachable; the database is created if missing and
emptied first):

    .venv/bin/python bench/bench_api_ingest.py --orders 200000 --batch 2000 \
        --database-url postgres://postgres@127.0.0.1:5432/patron_bench_api

It migrates the database, creates customers and products, starts ``patron serve`` (gunicorn)
on a loopback port, and posts the orders from one client (one keep-alive connection, batches
sent one after another) to ``POST /api/v1/ingest/orders``. The bodies are encoded before the
clock starts, so the figure is the server's: parse, validate, resolve references, insert orders
and lines, update the customers' running totals, answer. Then it checks every customer's totals
against a recomputation from the orders, and times a plain ``COPY`` of the same orders and lines
into tables shaped like Patron's (same columns, indexes and constraints) — the physical limit.
Writes bench/results/api_ingest.md (or --out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

from patron.config.secret_key import local_key

ROOT = Path(__file__).resolve().parents[1]
PATRON = [sys.executable, "-m", "patron.cli"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def _patron(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([*PATRON, *args], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"patron {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def _setup(n_customers: int, n_products: int, seed: int) -> tuple[list[str], list[str]]:
    """Empty the tables, then create customers and products (bulk, outside the timed part)."""
    from django.db import connection

    from patron.commerce.models import Product
    from patron.customers.models import Customer

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE commerce_orderline, commerce_order, commerce_costevent, commerce_product, "
            "customers_customer_tags, customers_contact, customers_customer RESTART IDENTITY CASCADE"
        )
    rng = random.Random(seed)
    customers = [Customer(name=f"Bench {i}", name_search=f"bench {i}", external_id=f"C{i:07d}") for i in range(n_customers)]
    Customer.objects.bulk_create(customers, batch_size=5000)
    products = []
    for i in range(n_products):
        price = Decimal(rng.randint(100, 50000)) / 100
        products.append(
            Product(sku=f"SKU{i:05d}", name=f"Product {i}", list_price=price, unit_cost=(price * Decimal("0.6")).quantize(Decimal("0.01")))
        )
    Product.objects.bulk_create(products, batch_size=5000)
    return [c.external_id for c in customers if c.external_id], [p.sku for p in products]


def _orders(n: int, customers: list[str], skus: list[str], seed: int) -> list[dict]:
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    orders = []
    for i in range(n):
        lines = [
            {"product_sku": rng.choice(skus), "quantity": rng.randint(1, 5)}
            for _ in range(rng.choice((1, 1, 2, 2, 3)))
        ]
        orders.append(
            {
                "external_id": f"O{i:09d}",
                "customer_external_id": rng.choice(customers),
                "channel": rng.choice(("store", "web", "phone", "app")),
                "ordered_at": (start + dt.timedelta(seconds=rng.randint(0, 365 * 86400))).isoformat(),
                "lines": lines,
            }
        )
    return orders


def _wait_for(port: int, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def _post_all(
    conn: http.client.HTTPConnection, token: str, bodies: list[bytes]
) -> tuple[float, dict[str, int], list[float]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    totals = {"created": 0, "duplicates": 0, "errors": 0}
    each: list[float] = []
    started = time.perf_counter()
    for body in bodies:
        sent = time.perf_counter()
        conn.request("POST", "/api/v1/ingest/orders?results=problems", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"HTTP {response.status}: {payload[:500]!r}")
        each.append(time.perf_counter() - sent)
        answer = json.loads(payload)
        for key in totals:
            totals[key] += answer[key]
    return time.perf_counter() - started, totals, each


def _post_parallel(
    conns: list[http.client.HTTPConnection], token: str, bodies: list[bytes]
) -> tuple[float, dict[str, int], list[float]]:
    """The batches shared among the connections (one thread each), all sent at once."""
    from concurrent.futures import ThreadPoolExecutor

    shares = [bodies[i :: len(conns)] for i in range(len(conns))]
    started = time.perf_counter()
    with ThreadPoolExecutor(len(conns)) as pool:
        outcomes = list(pool.map(lambda pair: _post_all(pair[0], token, pair[1]), zip(conns, shares, strict=True)))
    elapsed = time.perf_counter() - started
    totals = {k: sum(o[1][k] for o in outcomes) for k in ("created", "duplicates", "errors")}
    return elapsed, totals, [t for o in outcomes for t in o[2]]


def _check_totals() -> int:
    """Customers whose running totals differ from a recomputation from their orders (expect 0)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM customers_customer c
            LEFT JOIN (
                SELECT customer_id, sum(revenue) r, sum(cost_of_goods) g, count(*) n,
                       min(ordered_at) f, max(ordered_at) l
                FROM commerce_order GROUP BY customer_id
            ) o ON o.customer_id = c.id
            WHERE c.revenue_total <> coalesce(o.r, 0) OR c.cogs_total <> coalesce(o.g, 0)
               OR c.profit_total <> coalesce(o.r, 0) - coalesce(o.g, 0) - c.cost_to_serve_total
               OR c.order_count <> coalesce(o.n, 0)
               OR c.first_order_at IS DISTINCT FROM o.f OR c.last_order_at IS DISTINCT FROM o.l
            """
        )
        return cursor.fetchone()[0]


def _copy_limit() -> tuple[float, int, int]:
    """COPY the orders and lines Patron wrote into look-alike tables; returns (seconds, orders, lines)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_line, bench_copy_order")
        cursor.execute("CREATE TABLE bench_copy_order (LIKE commerce_order INCLUDING ALL)")
        cursor.execute("CREATE TABLE bench_copy_line (LIKE commerce_orderline INCLUDING ALL)")
        order_buf, line_buf = io.StringIO(), io.StringIO()
    raw = connection.connection  # the psycopg connection
    with raw.cursor() as cur:
        with cur.copy("COPY commerce_order TO STDOUT") as copy:
            for data in copy:
                order_buf.write(bytes(data).decode())
        with cur.copy("COPY commerce_orderline TO STDOUT") as copy:
            for data in copy:
                line_buf.write(bytes(data).decode())
    raw.commit()
    order_bytes, line_bytes = order_buf.getvalue().encode(), line_buf.getvalue().encode()
    started = time.perf_counter()
    with raw.cursor() as cur:
        with cur.copy("COPY bench_copy_order FROM STDIN") as copy:
            copy.write(order_bytes)
        with cur.copy("COPY bench_copy_line FROM STDIN") as copy:
            copy.write(line_bytes)
    raw.commit()
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM bench_copy_order), (SELECT count(*) FROM bench_copy_line)")
        n_orders, n_lines = cursor.fetchone()
        cursor.execute("DROP TABLE bench_copy_line, bench_copy_order")
    return elapsed, n_orders, n_lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=2000, help="orders per request")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=1, help="client connections sending batches at once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/patron_bench_api")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api_ingest.md")
    args = parser.parse_args()

    _ensure_database(args.database_url)
    data_dir = Path(tempfile.mkdtemp(prefix="patron-bench-api-"))
    env = {**os.environ, "DATABASE_URL": args.database_url, "PATRON_DATA_DIR": str(data_dir)}
    env.setdefault("SECRET_KEY", local_key(data_dir))  # patron serve needs a configured key
    env.pop("PATRON_TESTING", None)
    os.environ.update({"DATABASE_URL": args.database_url, "PATRON_DATA_DIR": str(data_dir)})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    sys.path.insert(0, str(ROOT / "src"))

    _patron(env, "migrate", "--verbosity", "0")
    import django

    django.setup()
    from django.db import connection

    from patron.core.models import User

    print("setting up customers and products…", flush=True)
    customers, skus = _setup(args.customers, args.products, args.seed)
    User.objects.filter(username="bench").delete()
    _patron(env, "createuser", "bench", "--role", "admin")
    token = _patron(env, "token", "create", "--user", "bench").strip()

    orders = _orders(args.orders, customers, skus, args.seed)
    warm_orders = _orders(100, customers, skus, args.seed + 1)
    for order in warm_orders:
        order["external_id"] = "W" + order["external_id"]  # made unique per connection below
    warm_bodies = [json.dumps({"items": warm_orders[i : i + 50]}).encode() for i in (0, 50)]
    n_lines = sum(len(o["lines"]) for o in orders)
    bodies = [
        json.dumps({"items": orders[i : i + args.batch]}, separators=(",", ":")).encode()
        for i in range(0, len(orders), args.batch)
    ]
    body_mb = sum(len(b) for b in bodies) / 1e6
    del orders
    connection.close()

    port = _free_port()
    server = subprocess.Popen(
        [*PATRON, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers), "--threads", "1", "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    load = os.getloadavg()
    try:
        _wait_for(port)
        # Keep-alive connections: the same server worker answers every request of a connection.
        # Small batches first, so start-up and first imports are not timed.
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=600) for _ in range(args.connections)]
        for n, conn in enumerate(conns):
            _post_all(conn, token, [b.replace(b'"W', f'"W{n}-'.encode()) for b in warm_bodies])
        print(f"posting {args.orders:,} orders in {len(bodies)} requests on {len(conns)} connection(s)…", flush=True)
        api_seconds, totals, each = _post_parallel(conns, token, bodies)
        for conn in conns:
            conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)

    mismatched = _check_totals()
    copy_seconds, copy_orders, copy_lines = _copy_limit()
    connection.close()

    api_rate = args.orders / api_seconds
    copy_rate = copy_orders / copy_seconds
    import django as dj
    import psycopg

    with psycopg.connect(args.database_url) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    command = (
        f"python bench/bench_api_ingest.py --orders {args.orders} --batch {args.batch} --customers {args.customers} "
        f"--products {args.products} --workers {args.workers} --connections {args.connections}"
    )
    report = f"""# Batch ingestion over the REST API (PostgreSQL)

- Date: {dt.date.today().isoformat()}
- Machine: {os.cpu_count()} cores (nproc), CPU: {_cpu_model()}, Python {platform.python_version()}, Django {dj.get_version()}, PostgreSQL {pg_version} on the same machine
- Command: `{command}`
- Data: {args.orders:,} orders with {n_lines:,} lines ({n_lines / args.orders:.2f} per order) for {args.customers:,} customers and {args.products:,} products, referenced by external id and SKU; {len(bodies)} requests of {args.batch:,} orders ({body_mb:.1f} MB of JSON in all, encoded before timing)
- Server: `patron serve` (gunicorn, {args.workers} workers × 1 thread) on 127.0.0.1; one client process with {args.connections} keep-alive connection(s), each sending its batches one after another
- Load average when the run started: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (the machine is shared: the ratio measured in one run is the figure to compare)

| path | orders | lines | seconds | orders/s | lines/s |
|---|---:|---:|---:|---:|---:|
| `POST /api/v1/ingest/orders` | {totals['created']:,} | {n_lines:,} | {api_seconds:.2f} | **{api_rate:,.0f}** | {n_lines / api_seconds:,.0f} |
| raw `COPY` of the same rows (limit) | {copy_orders:,} | {copy_lines:,} | {copy_seconds:.2f} | {copy_rate:,.0f} | {copy_lines / copy_seconds:,.0f} |

- API rate / COPY rate: {api_rate / copy_rate:.1%}. The API does more than COPY: it parses and validates each
  item, resolves customers (through the caller's visibility) and products, checks external ids for
  duplicates, computes line amounts and order totals, and updates the customers' running totals.
- Time per request: median {sorted(each)[len(each) // 2]:.3f} s, slowest {max(each):.3f} s, first {each[0]:.3f} s.
- Before the timed requests, 100 warm-up orders were posted on each connection; the COPY
  copies every order in the database, theirs included.
- Results: {totals['created']:,} created, {totals['duplicates']:,} duplicates, {totals['errors']:,} errors.
- Customers whose running totals differ from a recomputation from their orders: **{mismatched}**.
- Goal: ≥ 5,000 orders/s from one client — {'met' if api_rate >= 5000 else 'not met'} in this run.
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
