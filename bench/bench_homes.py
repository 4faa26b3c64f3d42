"""Benchmark: server time and query count of the homes, the dashboards and the 360° page.

Run from the repository root against an existing, migrated database that holds the data and at
least one finished scoring run (`patron generate`, then `patron score`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/patron1m \\
        .venv/bin/python bench/bench_homes.py --user admin --user alice --user mia --repeat 15

Each case is one GET through Django's test client (the whole view: middleware, queries,
template rendering; no network), repeated; the report gives the median, the 95th percentile
(nearest rank) and the number of SQL queries of one request. The first request of each case is
a warm-up and not counted. The 360° page is measured on the visible customer with the most
orders, the worst case for the timeline and the scores history.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", action="append", help="user names to sign in as (repeatable)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from patron.core.models import User
    from patron.customers.models import Customer
    from patron.customers.selectors import visible_customers

    print(
        f"database: {connection.settings_dict['NAME']} ({connection.vendor}); customers: {Customer.objects.count():,}"
    )
    for username in args.user or ["admin"]:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        busiest = (
            visible_customers(user)
            .order_by("-order_count", "id")
            .values_list("pk", flat=True)
            .first()
        )
        cases = [("home", "/"), ("dashboards", "/dashboards/")]
        if busiest is not None:
            cases.append(("360° page, most orders", f"/customers/{busiest}/"))
        print(f"\n### as {username} ({user.role})\n")
        print("| case | median ms | p95 ms | queries | status |")
        print("|---|---:|---:|---:|---|")
        for label, url in cases:
            client.get(url)  # warm-up
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            print(
                f"| {label} | {statistics.median(times):.1f} | {percentile(times, 95):.1f} | "
                f"{len(queries)} | {response.status_code} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
