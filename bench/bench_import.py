"""Benchmark: importing order lines from CSV, beside the physical limit of the same database.

Run from the repository root:

    .venv/bin/python bench/bench_import.py --lines 1000000

Writes a CSV of N order lines with the export's header (``patron.core.columns``; about five
lines per order, ISO times with offsets, as ``patron export orders`` writes them), then for each
database, in a fresh database with the same customers and products:

- **limit**: the rows the import ends up writing (orders and their lines, values already
  prepared), inserted with a plain ``executemany`` (SQLite, Python's sqlite3 module, same PRAGMAs
  as Patron) or ``COPY`` (PostgreSQL, psycopg 3), one transaction per batch;
- **import**: ``patron import orders FILE`` through ``run_import``: reading and decoding the
  CSV, parsing every cell, resolving customers and products, grouping lines into orders, writing
  orders and lines, and recomputing the customers' totals, one transaction per batch;
- **re-import**: the same file again (every row "unchanged").

Each database runs in its own process (Django is configured once per process). Results go to
bench/results/import.md; the ratio import / limit is the figure to compare.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CENT = Decimal("0.01")
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "patron_bench_import"


# ---------------------------------------------------------------------------------------------
# Data


def write_orders_csv(path: Path, lines: int, *, customers: int, products: int, seed: int = 7) -> dict[str, Any]:
    from patron.core.columns import import_columns

    rng = random.Random(seed)
    header = list(import_columns("orders"))
    start = dt.datetime(2022, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    prices = [(Decimal(rng.randint(100, 50000)) / 100).quantize(CENT) for _ in range(products)]
    written = 0
    orders = 0
    channels = ["store", "web", "phone", "agent", "app", "partner"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        while written < lines:
            orders += 1
            n = min(lines - written, rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 9)))
            customer = rng.randrange(customers)
            moment = start + dt.timedelta(seconds=rng.randrange(3 * 365 * 86400))
            channel = rng.choice(channels)
            for line_no in range(1, n + 1):
                product = rng.randrange(products)
                price = prices[product]
                row = {
                    "external_id": f"O-{orders:08d}",
                    "customer_external_id": f"C-{customer:07d}",
                    "customer_id": "",
                    "channel": channel,
                    "branch": "",
                    "ordered_at": moment.isoformat(),
                    "currency": "CNY",
                    "line_no": line_no,
                    "product_sku": f"SKU-{product:05d}",
                    "quantity": rng.choice(("1", "1", "1", "2", "3", "1.5")),
                    "unit_price": f"{price}",
                    "unit_cost": f"{(price * Decimal('0.6')).quantize(CENT)}",
                }
                writer.writerow([row[c] for c in header])
            written += n
    return {"lines": written, "orders": orders, "bytes": path.stat().st_size}


# ---------------------------------------------------------------------------------------------
# Worker: one database


def _setup_django(url: str, data_dir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["PATRON_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()


def _seed(customers: int, products: int) -> None:
    from django.core.management import call_command

    from patron.commerce.models import Product
    from patron.customers.models import Customer

    call_command("migrate", verbosity=0)
    Customer.objects.bulk_create(
        (Customer(external_id=f"C-{i:07d}", name=f"Customer {i}", name_search=f"customer {i}") for i in range(customers)),
        batch_size=5000,
    )
    rng = random.Random(11)
    Product.objects.bulk_create(
        (
            Product(sku=f"SKU-{i:05d}", name=f"Product {i}", list_price=Decimal(rng.randint(100, 50000)) / 100,
                    unit_cost=Decimal(rng.randint(50, 30000)) / 100)
            for i in range(products)
        ),
        batch_size=5000,
    )


def _prepared_rows(csv_path: Path, batch_size: int) -> list[tuple[list[tuple], list[tuple]]]:
    """The orders and lines the import writes, as ready tuples, cut into the import's batches."""
    from patron.commerce.models import Product
    from patron.customers.models import Customer

    customers = dict(Customer.objects.values_list("external_id", "pk"))
    products = dict(Product.objects.values_list("sku", "pk"))
    now = dt.datetime.now(dt.UTC)
    batches: list[tuple[list[tuple], list[tuple]]] = []
    orders: list[tuple] = []
    lines: list[tuple] = []
    current: dict[str, Any] | None = None
    order_id = 0
    count = 0

    def close() -> None:
        if current is not None:
            orders.append((current["id"], current["ext"], current["customer"], current["channel"], None,
                           current["at"], "CNY", current["revenue"], current["cogs"], 1, current["revenue"],
                           current["cogs"], now, now))

    with open(csv_path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if current is None or row["external_id"] != current["ext"]:
                close()
                if count >= batch_size:
                    batches.append((orders, lines))
                    orders, lines, count = [], [], 0
                order_id += 1
                current = {"id": order_id, "ext": row["external_id"], "customer": customers[row["customer_external_id"]],
                           "channel": row["channel"], "at": dt.datetime.fromisoformat(row["ordered_at"]),
                           "revenue": Decimal(0), "cogs": Decimal(0)}
            qty, price, cost = Decimal(row["quantity"]), Decimal(row["unit_price"]), Decimal(row["unit_cost"])
            amount = (qty * price).quantize(CENT)
            current["revenue"] += amount
            current["cogs"] += (qty * cost).quantize(CENT)
            lines.append((order_id, int(row["line_no"]), products[row["product_sku"]], qty, price, cost, amount))
            count += 1
    close()
    batches.append((orders, lines))
    return batches


ORDER_COLS = ("id", "external_id", "customer_id", "channel", "branch_id", "ordered_at", "currency", "revenue",
              "cost_of_goods", "exchange_rate", "base_revenue", "base_cost_of_goods", "created_at", "updated_at")
LINE_COLS = ("order_id", "line_no", "product_id", "quantity", "unit_price", "unit_cost", "amount")


def _limit_sqlite(db_file: Path, batches: list[tuple[list[tuple], list[tuple]]]) -> float:
    """Plain executemany with Python's sqlite3 and Patron's PRAGMAs; values as SQLite stores them."""

    def sql_dt(value: dt.datetime) -> str:
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")

    ready = [
        (
            [(o[0], o[1], o[2], o[3], o[4], sql_dt(o[5]), o[6], str(o[7]), str(o[8]), o[9], str(o[10]), str(o[11]),
              sql_dt(o[12]), sql_dt(o[13]))
             for o in orders],
            [(ln[0], ln[1], ln[2], str(ln[3]), str(ln[4]), str(ln[5]), str(ln[6])) for ln in lines],
        )
        for orders, lines in batches
    ]
    db = sqlite3.connect(db_file, isolation_level=None)
    db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000;")
    order_sql = f"INSERT INTO commerce_order ({', '.join(ORDER_COLS)}) VALUES ({', '.join('?' * len(ORDER_COLS))})"
    line_sql = f"INSERT INTO commerce_orderline ({', '.join(LINE_COLS)}) VALUES ({', '.join('?' * len(LINE_COLS))})"
    started = time.perf_counter()
    for orders, lines in ready:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(order_sql, orders)
        db.executemany(line_sql, lines)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def _limit_postgres(batches: list[tuple[list[tuple], list[tuple]]]) -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    for orders, lines in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY commerce_order ({', '.join(ORDER_COLS)}) FROM STDIN") as copy:
                for row in orders:
                    copy.write_row(row)
            with raw.copy(f"COPY commerce_orderline ({', '.join(LINE_COLS)}) FROM STDIN") as copy:
                for row in lines:
                    copy.write_row(row)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE commerce_orderline, commerce_order RESTART IDENTITY CASCADE")
        cursor.execute("VACUUM ANALYZE commerce_order")
        cursor.execute("VACUUM ANALYZE commerce_orderline")
    return elapsed


def _verify() -> dict[str, Any]:
    """Exact checks, in Decimal (SQLite's SUM would add floats): the running totals equal a
    recomputation from the orders, and the revenue equals the sum of the lines."""
    from collections import defaultdict

    from patron.commerce.models import Order, OrderLine
    from patron.customers.models import Customer

    revenue: dict[int, Decimal] = defaultdict(Decimal)
    cogs: dict[int, Decimal] = defaultdict(Decimal)
    count: dict[int, int] = defaultdict(int)
    for customer_id, order_revenue, order_cogs in Order.objects.values_list("customer_id", "base_revenue", "base_cost_of_goods").iterator(chunk_size=10000):
        revenue[customer_id] += order_revenue
        cogs[customer_id] += order_cogs
        count[customer_id] += 1
    totals_ok = all(
        (r, c, p, n) == (revenue[pk], cogs[pk], revenue[pk] - cogs[pk], count[pk])
        for pk, r, c, p, n in Customer.objects.values_list("pk", "revenue_total", "cogs_total", "profit_total", "order_count").iterator(chunk_size=10000)
    )
    lines_sum = sum((a for a in OrderLine.objects.values_list("amount", flat=True).iterator(chunk_size=10000)), Decimal(0))
    return {
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "totals_match_recomputation": totals_ok,
        "revenue_equals_sum_of_lines": lines_sum == sum(revenue.values(), Decimal(0)),
    }


def _reset_postgres() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE commerce_orderline, commerce_order RESTART IDENTITY CASCADE")
        cursor.execute(
            "UPDATE customers_customer SET revenue_total = 0, cogs_total = 0, profit_total = 0, order_count = 0, "
            "first_order_at = NULL, last_order_at = NULL"
        )
        for table in ("commerce_order", "commerce_orderline", "customers_customer"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def worker(args: argparse.Namespace) -> None:
    """Best of ``--repeat`` runs of the limit and of the import, each on fresh tables."""
    work = Path(args.workdir)
    csv_path = work / "orders.csv"
    limits: list[float] = []
    imports: list[float] = []
    if args.worker == "sqlite":
        template = work / "template.sqlite3"
        _setup_django(f"sqlite:///{template}", work)
        _seed(args.customers, args.products)
        from django.conf import settings
        from django.db import connection

        batches = _prepared_rows(csv_path, args.batch_size)
        connection.close()
        version = sqlite3.sqlite_version

        def fresh(name: str) -> Path:
            target = work / name
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(template, target)
            return target

        def use_fresh_database() -> None:
            connection.close()
            settings.DATABASES["default"]["NAME"] = str(fresh("import.sqlite3"))
    else:
        import psycopg

        with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
            admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        url = args.pg_admin_url.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
        _setup_django(url, work)
        _seed(args.customers, args.products)
        batches = _prepared_rows(csv_path, args.batch_size)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]

        def use_fresh_database() -> None:
            _reset_postgres()

    from patron.commerce.signals import customers_changed
    from patron.imports.engine import ImportOptions, run_import

    # Load what the receivers of customers_changed import (insights loads pandas and
    # scikit-learn once per process), so the timing is the import's, not module loading.
    customers_changed.send(sender=None, customer_ids=[])
    options = ImportOptions(kind="orders", batch_size=args.batch_size)
    for _attempt in range(args.repeat):
        if args.worker == "sqlite":
            limits.append(_limit_sqlite(fresh("limit.sqlite3"), batches))
        else:
            _reset_postgres()
            limits.append(_limit_postgres(batches))
        use_fresh_database()
        started = time.perf_counter()
        first = run_import(csv_path, options)
        imports.append(time.perf_counter() - started)
        assert first.rejected == 0 and first.created == args.lines, (first.rejected, first.created, first.errors[:5])
    del batches
    started = time.perf_counter()
    again = run_import(csv_path, options)
    reimport_seconds = time.perf_counter() - started
    assert again.unchanged == args.lines, (again.created, again.updated, again.unchanged)
    checks = _verify()
    if args.worker == "postgresql":
        connection.close()
        with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB}")
    print(json.dumps({
        "database": args.worker,
        "version": version,
        "limit_seconds": min(limits),
        "import_seconds": min(imports),
        "limit_runs": limits,
        "import_runs": imports,
        "reimport_seconds": reimport_seconds,
        "batches": first.batches,
        **checks,
    }))


# ---------------------------------------------------------------------------------------------
# Parent: data, workers, report


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc), {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=None, help="Default: lines / 25.")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=2, help="Runs of the limit and of the import; the best counts.")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "import.md"))
    parser.add_argument("--worker", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.customers = args.customers or max(10, args.lines // 25)
    if args.worker:
        worker(args)
        return

    load = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="patron-bench-import-"))
    try:
        started = time.perf_counter()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
        data = write_orders_csv(work / "orders.csv", args.lines, customers=args.customers, products=args.products)
        print(f"wrote {data['lines']:,} lines of {data['orders']:,} orders ({data['bytes'] / 1e6:.1f} MB) "
              f"in {time.perf_counter() - started:.1f}s", flush=True)
        results = []
        for database in args.databases.split(","):
            command = [sys.executable, __file__, "--worker", database, "--workdir", str(work), "--lines", str(args.lines),
                       "--customers", str(args.customers), "--products", str(args.products),
                       "--batch-size", str(args.batch_size), "--pg-admin-url", args.pg_admin_url,
                       "--repeat", str(args.repeat)]
            env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                sys.stderr.write(done.stderr)
                raise SystemExit(f"{database} worker failed")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            rate = args.lines / result["import_seconds"]
            limit_rate = args.lines / result["limit_seconds"]
            print(f"{database}: import {rate:,.0f} lines/s, limit {limit_rate:,.0f} lines/s, "
                  f"ratio {rate / limit_rate:.0%}, re-import {args.lines / result['reimport_seconds']:,.0f} lines/s", flush=True)
        write_report(Path(args.out), args, data, results, load)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_report(path: Path, args: argparse.Namespace, data: dict[str, Any], results: list[dict[str, Any]],
                 load: tuple[float, float, float]) -> None:
    lines = [
        "# Import: order lines from CSV vs the database's physical limit",
        "",
        f"- Date: {dt.date.today().isoformat()}",
        f"- Machine: {_machine()}; load average when the run started: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        "(the machine is shared, so the ratio, measured in one run, is the figure to compare)",
        f"- Command: `.venv/bin/python bench/bench_import.py --lines {args.lines} --batch-size {args.batch_size} "
        f"--repeat {args.repeat}`",
        f"- Times: the best of {args.repeat} runs each of the limit and of the import, alternating, each into fresh "
        "tables (a copy of the seeded SQLite file; TRUNCATE and VACUUM on PostgreSQL); every run is listed below the "
        "table. The re-import runs once, after the last import.",
        f"- Data: {data['lines']:,} order lines of {data['orders']:,} orders ({data['bytes'] / 1e6:.1f} MB CSV, the "
        f"export's header, UTF-8), {args.customers:,} customers, {args.products:,} products; one transaction per "
        f"batch of {args.batch_size:,} lines (never splitting an order).",
        "- Limit: the same orders and lines, values prepared in advance, inserted with a plain `executemany` "
        "(SQLite, Python's sqlite3, the PRAGMAs Patron uses: WAL, synchronous=NORMAL, foreign_keys=ON) or `COPY` "
        "(PostgreSQL, psycopg 3 `cursor.copy`), same batches, into the same empty tables with the same indexes.",
        "- Import: `run_import` (what `patron import orders FILE` runs): decode and parse the CSV, parse every cell "
        "(times with offsets, decimals), look up customers and products, group lines into orders, write orders and "
        "lines (executemany on SQLite, COPY on PostgreSQL) and recompute the customers' running totals per batch.",
        "",
        "| database | limit (lines/s) | import (lines/s) | import / limit | re-import, all unchanged (lines/s) | checks |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        rate = args.lines / r["import_seconds"]
        limit = args.lines / r["limit_seconds"]
        ok = r["totals_match_recomputation"] and r["revenue_equals_sum_of_lines"] and r["lines"] == args.lines
        lines.append(
            f"| {r['database']} {r['version']} | {limit:,.0f} ({r['limit_seconds']:.1f} s) | {rate:,.0f} "
            f"({r['import_seconds']:.1f} s) | **{rate / limit:.0%}** | {args.lines / r['reimport_seconds']:,.0f} "
            f"({r['reimport_seconds']:.1f} s) | {r['orders']:,} orders, {r['lines']:,} lines; totals = recomputation: "
            f"{'yes' if ok else 'NO'} |"
        )
    lines += ["", "Goal: import at ≥ 50% of the limit.", "", "All runs (seconds):", ""]
    for r in results:
        lines.append(
            f"- {r['database']}: limit {', '.join(f'{t:.1f}' for t in r['limit_runs'])}; "
            f"import {', '.join(f'{t:.1f}' for t in r['import_runs'])}"
        )
    lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
