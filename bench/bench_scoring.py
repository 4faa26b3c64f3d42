"""Benchmark: one whole scoring run (``patron score``) on the database of DATABASE_URL.

Run from the repository root, on a database filled by ``patron generate``:

    DATABASE_URL=sqlite:////tmp/patron1m.sqlite3 .venv/bin/python bench/bench_scoring.py \\
        --as-of 2025-12-31

Times every stage of ``insights.services.scoring_run_execute`` (extract, each pipeline step,
the score writes, the dashboards' figures) in wall and CPU time, with the peak RSS, and writes
a Markdown report (bench/results/scoring.md, or --out). The database must be migrated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--as-of", default="2025-12-31", help="day to score as of (default: the generator's end)"
    )
    parser.add_argument("--out", default="bench/results/scoring.md")
    args = parser.parse_args()
    sys.path.insert(0, str(Path("src").resolve()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()
    from django.db import connection

    from patron.commerce.models import Order, OrderLine
    from patron.customers.models import Customer
    from patron.insights import services

    as_of = dt.date.fromisoformat(args.as_of)
    counts = {
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "order lines": OrderLine.objects.count(),
    }
    stages: list[tuple[str, float, float]] = []  # (name, wall at start, cpu at start)
    seen: set[str] = set()

    def progress(step: str, _done: int, _total: int) -> None:
        if step not in seen:
            seen.add(step)
            stages.append((step, time.perf_counter(), time.process_time()))
            print(f"{time.strftime('%H:%M:%S')} {step}", flush=True)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    run = services.scoring_run_execute(as_of=as_of, progress=progress)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    ends = [*stages[1:], ("end", wall0 + wall, cpu0 + cpu)]
    rows = [(name, e[1] - w, e[2] - c) for (name, w, c), e in zip(stages, ends, strict=True)]
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    lines = [
        "# Whole scoring run benchmark",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {connection.vendor} "
        f"{connection.Database.sqlite_version if connection.vendor == 'sqlite' else ''}; "
        f"load average {load:.1f} at the end (shared machine: wall times are upper bounds)",
        f"- Command: `DATABASE_URL=... .venv/bin/python bench/bench_scoring.py --as-of {args.as_of}`",
        f"- Data: {', '.join(f'{v:,} {k}' for k, v in counts.items())} (`patron generate --seed 1`)",
        f"- Run status: {run.status}, {run.n_customers:,} customers scored",
        "",
        "| stage | wall (s) | CPU (s) |",
        "| --- | ---: | ---: |",
        *[f"| {name} | {w:.1f} | {c:.1f} |" for name, w, c in rows],
        f"| **total** | **{wall:.1f}** | **{cpu:.1f}** |",
        "",
        f"Peak RSS: {rss_mib:,.0f} MiB.",
        "",
        "Pipeline step timings recorded by the run (wall, s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in (run.diagnostics or {}).get("timings", {}).items()),
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
