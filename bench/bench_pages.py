"""Benchmark: server time of the pages people open every day, on a large database.

Run from the repository root against a generated and scored database, e.g. 1,000,000 customers
in PostgreSQL:

    createdb -h 127.0.0.1 -U postgres patron1m
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/patron1m
    .venv/bin/patron migrate
    .venv/bin/python bench/bench_pages.py --prepare      # demo users + 98 more reps (see below)
    .venv/bin/patron generate --customers 1000000 --seed 1
    .venv/bin/patron score
    .venv/bin/python bench/bench_pages.py --requests 50 --out bench/results/pages.md

What it measures: the time Django takes to answer each page in-process (the test Client: URL
routing, middleware, session, views, queries and template rendering; no network, no web server,
no browser). Each page is requested twice to warm caches, then ``--requests`` times; the 360° page
and search take a different customer or query each time. It also counts the SQL queries of one
request of each page.

``--prepare`` (before ``patron generate``, which spreads customers over the reps that exist)
creates the demo users and 98 more reps, so 1M customers give 10,000 per rep; after generation,
``--assign`` gives the account manager the key accounts and the manager the first region, as the
demo does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

REPS = 100
SEARCHES = ["zhang wei", "zw", "王", "li na", "wang", "chen j", "13", "ORD", "liu", "zh"]
ONE_LETTER = ["w", "z", "l", "x", "c", "i", "u", "v", "1", "a"]  # as the box sends a first keystroke


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()


def prepare() -> None:
    from patron.core.models import Role, User
    from patron.core.services import user_create
    from patron.web.demo import DEMO_PASSWORD, demo_users_create

    demo_users_create()
    for i in range(3, REPS + 1):
        name = f"rep{i:03d}"
        if not User.objects.filter(username=name).exists():
            user_create(
                username=name,
                role=Role.REP,
                password=DEMO_PASSWORD,
                email=f"{name}@example.com",
                validate=False,
            )
    print(User.objects.filter(role=Role.REP).count(), "reps")


def assign() -> None:
    from patron.core.models import User
    from patron.customers.models import Customer
    from patron.web.demo import demo_org_assign

    demo_org_assign()  # gives the account manager the key accounts, as the demo does
    kate = User.objects.get(username="kate")
    print(Customer.objects.filter(owner=kate).count(), "customers for kate")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(client, urls: list[str]) -> dict:
    from django.db import connection

    for url in urls[:2]:
        client.get(url)
    # Counted by a wrapper rather than connection.queries, which a reconnect between requests empties.
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(urls[0])
    statuses = {response.status_code}
    times = []
    for url in urls:
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        statuses.add(response.status_code)
    return {
        "n": len(times),
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "max": max(times),
        "queries": len(queries),
        "status": ",".join(str(s) for s in sorted(statuses)),
    }


def customer_ids(user, n: int, rng: random.Random) -> list[int]:
    """n random customers the user sees (ids are dense after generation; misses are redrawn)."""
    from django.db.models import Max, Min

    from patron.customers.selectors import visible_customers

    visible = visible_customers(user)
    bounds = visible.aggregate(lo=Min("pk"), hi=Max("pk"))
    picked: list[int] = []
    while len(picked) < n:
        batch = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(4 * n)]
        picked += list(visible.filter(pk__in=batch).values_list("pk", flat=True)[: n - len(picked)])
    rng.shuffle(picked)
    return picked


def run(requests: int, out: Path | None, seed: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from patron.core.models import User
    from patron.customers.models import Customer

    rng = random.Random(seed)
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=["admin", "mia", "alice", "kate", "carl", "maya", "nora"]
        )
    }
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)

    rows: list[tuple[str, str, dict]] = []

    def add(label: str, who: str, urls: list[str]) -> None:
        result = measure(clients[who], urls)
        rows.append((label, who, result))
        print(
            f"{label:<38} {who:<6} p50 {result['p50']:7.1f} ms  p95 {result['p95']:7.1f} ms  "
            f"queries {result['queries']:3d}  status {result['status']}",
            flush=True,
        )

    for who in ["admin", "mia", "alice", "kate", "carl", "maya", "nora"]:
        add(f"home ({users[who].role})", who, ["/"] * requests)
    for who in ["admin", "alice", "kate"]:
        ids = customer_ids(users[who], requests, rng)
        add("360° page, random customers", who, [f"/customers/{pk}/" for pk in ids])
    for who in ["admin", "mia", "alice"]:
        add("dashboards", who, ["/dashboards/"] * requests)
    for who in ["carl", "mia", "alice"]:
        add("NPS page", who, ["/feedback/nps/"] * requests)
    for who in ["carl", "mia", "alice"]:
        add("themes page", who, ["/feedback/themes/"] * requests)
    add("models page", "nora", ["/models/"] * requests)
    add("feedback feed", "carl", ["/feedback/"] * requests)
    for who in ["admin", "alice"]:
        add("customer list, first page", who, ["/customers/"] * requests)
    add("customer list, by profit", "admin", ["/customers/?sort=-profit"] * requests)
    for who in ["admin", "alice"]:
        queries = [SEARCHES[i % len(SEARCHES)] for i in range(requests)]
        add("search", who, [f"/search/?q={q}" for q in queries])
        letters = [ONE_LETTER[i % len(ONE_LETTER)] for i in range(requests)]
        add("search, one letter", who, [f"/search/?q={q}" for q in letters])

    if out is None:
        return
    vendor = connection.vendor
    version = connection.cursor().connection.info.server_version if vendor == "postgresql" else ""
    lines = [
        "# Page server times",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, "
        f"database {vendor} {version}; load average {os.getloadavg()[0]:.1f} at the end "
        "(shared machine: times are upper bounds).",
        f"- Data: {Customer.objects.count():,} customers (`patron generate --seed 1`, then `patron score`), "
        f"{REPS} reps owning 10,000 each, the account manager the key accounts.",
        f"- Command: `DATABASE_URL=… .venv/bin/python bench/bench_pages.py --requests {requests} --out {out}`",
        "- Server time: Django's test Client in-process (routing, middleware, session, view, SQL, "
        "templates; no network or web server), in a process prepared as `patron serve` prepares its "
        f"workers (`web.server.warm`: imports, `gc.freeze`), {requests} requests per row after 2 "
        "warm-up requests; "
        "the 360° rows take a different random customer the user sees each time, search rows cycle "
        f"through {len(SEARCHES)} queries. Queries: SQL statements of one request.",
        f"- DEBUG={settings.DEBUG}.",
        "",
        "| page | user (role) | p50 ms | p95 ms | max ms | queries | status |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, who, r in rows:
        lines.append(
            f"| {label} | {who} ({users[who].role}) | {r['p50']:.0f} | {r['p95']:.0f} | {r['max']:.0f} "
            f"| {r['queries']} | {r['status']} |"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--prepare", action="store_true", help="create the demo users and the extra reps, then exit"
    )
    parser.add_argument(
        "--assign",
        action="store_true",
        help="give the account manager and the manager their customers, then exit",
    )
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.requests < 3:
        sys.exit("--requests must be at least 3")
    setup_django()
    if args.prepare:
        prepare()
    elif args.assign:
        assign()
    else:
        from patron.web.server import warm

        warm()  # as `patron serve` does before its workers fork (imports, gc.freeze)
        run(args.requests, args.out, args.seed)


if __name__ == "__main__":
    main()
