"""Benchmark: the NPS page's precomputed figures (refresh cost, page server time) on a generated
database, against the same page counted live.

    export DATABASE_URL=sqlite:////tmp/nps50k.sqlite3
    .venv/bin/patron migrate
    .venv/bin/python bench/bench_pages.py --prepare        # demo users + 98 more reps
    .venv/bin/patron generate --customers 50000 --seed 1
    .venv/bin/patron score                                 # refreshes the NPS figures at its end
    .venv/bin/python bench/bench_pages.py --assign
    .venv/bin/python bench/bench_nps_figures.py --requests 20

Server time: Django's test Client in-process (routing, middleware, session, view, SQL, templates),
DEBUG off, 2 warm-up requests then ``--requests``; queries of one request. The live rows delete
the figures first (a fresh install) and the figures are computed again at the end.
``--pages-only`` times the precomputed page alone (no refresh timings, no live rows).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--users", default="admin,mia,alice,carl")
    parser.add_argument("--pages-only", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from patron.core.models import User
    from patron.customers.models import Customer
    from patron.feedback import nps_refresh
    from patron.feedback.models import NpsFigures, Response, SurveyKind

    answers = Response.objects.filter(survey__kind=SurveyKind.NPS).count()
    print(f"{Customer.objects.count():,} customers, {answers:,} NPS answers, {connection.vendor}")
    for _ in range(0 if args.pages_only else 3):
        t0 = time.perf_counter()
        nps_refresh.answers_frame()
        t1 = time.perf_counter()
        nps_refresh.nps_figures_refresh()
        t2 = time.perf_counter()
        print(
            f"refresh: extract {1000 * (t1 - t0):.0f} ms, full refresh (extract, compute, write) "
            f"{1000 * (t2 - t1):.0f} ms, {NpsFigures.objects.count()} rows"
        )
    for _ in range(0 if args.pages_only else 3):
        t0 = time.perf_counter()
        skipped = not nps_refresh.nps_figures_refresh(only_if_changed=True)
        print(
            f"periodic check, nothing changed (skipped={skipped}): {1000 * (time.perf_counter() - t0):.1f} ms"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")

    def measure(user, params: dict, n: int) -> tuple[float, float, float, int]:
        """Wall p50 and p95, and this process's CPU p50 (wall on a loaded machine waits for a
        core; with SQLite in-process the CPU is the request's whole cost)."""
        client = Client()
        client.force_login(user)
        for _ in range(2):
            client.get("/feedback/nps/", params)
        times, cpu = [], []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.get("/feedback/nps/", params)
            times.append(1000 * (time.perf_counter() - t0))
            cpu.append(1000 * (time.process_time() - c0))
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as ctx:
            client.get("/feedback/nps/", params)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        return statistics.median(times), p95, statistics.median(cpu), len(ctx.captured_queries)

    users = [User.objects.get(username=name) for name in args.users.split(",")]
    print("| view | user (role) | p50 ms | p95 ms | CPU p50 ms | queries |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    views = [
        ("default, month, CLV", {}),
        ("week, margin", {"period": "week", "weight": "margin"}),
        ("quarter, CLV", {"period": "quarter"}),
    ]
    for user in users:
        for label, params in views:
            p50, p95, cpu, q = measure(user, params, args.requests)
            print(
                f"| {label} (precomputed) | {user.username} ({user.role}) "
                f"| {p50:.0f} | {p95:.0f} | {cpu:.0f} | {q} |"
            )
    if args.pages_only:
        return
    NpsFigures.objects.all().delete()
    for user in users:
        p50, p95, cpu, q = measure(user, {}, max(3, args.requests // 4))
        print(
            f"| default, month, CLV (live) | {user.username} ({user.role}) "
            f"| {p50:.0f} | {p95:.0f} | {cpu:.0f} | {q} |"
        )
    nps_refresh.nps_figures_refresh()


if __name__ == "__main__":
    main()
