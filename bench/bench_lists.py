"""Benchmark: server time and query count of the search page and the lists on a large database.

Run from the repository root against an existing, migrated PostgreSQL database that holds the
data (e.g. 1,000,000 customers from `patron generate`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/patron1m \\
        .venv/bin/python bench/bench_lists.py --user admin --user alice --repeat 15

Each case is one GET through Django's test client (the whole view: middleware, queries,
template rendering; no network), repeated; the report gives the median, the 95th percentile
(nearest rank) and the number of SQL queries of one request. The first request of each case
is a warm-up and not counted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

CASES = [
    ("search: Chinese name", "/search/", {"q": "张伟"}),
    ("search: full pinyin", "/search/", {"q": "zhang wei"}),
    ("search: pinyin joined", "/search/", {"q": "zhangwei"}),
    ("search: initials", "/search/", {"q": "zw"}),
    ("search: rare initials", "/search/", {"q": "xq"}),
    ("search: email prefix", "/search/", {"q": "haiyan.liu"}),
    ("search: phone prefix", "/search/", {"q": "+86 151 96"}),
    ("search: order number", "/search/", {"q": "#123456"}),
    ("customers: first page", "/customers/", {}),
    ("customers: by profit", "/customers/", {"sort": "-profit"}),
    ("customers: page 200", "/customers/", {"sort": "-profit", "page": "200"}),
    ("customers: search zw", "/customers/", {"q": "zw"}),
    ("orders: newest", "/orders/", {}),
    ("orders: web channel, by revenue", "/orders/", {"channel": "web", "sort": "-revenue"}),
    ("tasks: open", "/tasks/", {"status": "open"}),
    ("responses: detractors", "/responses/", {"score_class": "detractor"}),
    ("follow-ups: open", "/feedback/follow-ups/", {}),
]


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

    print(f"database: {connection.settings_dict['NAME']} ({connection.vendor}); customers: {Customer.objects.count():,}")
    for username in args.user or ["admin"]:
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        print(f"\n### as {username} ({user.role})\n")
        print("| case | median ms | p95 ms | queries | status |")
        print("|---|---:|---:|---:|---|")
        for label, url, params in CASES:
            client.get(url, params)  # warm-up
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = client.get(url, params)
                times.append((time.perf_counter() - start) * 1000)
            with CaptureQueriesContext(connection) as queries:
                client.get(url, params)
            print(
                f"| {label} | {statistics.median(times):.1f} | {percentile(times, 95):.1f} | "
                f"{len(queries)} | {response.status_code} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
