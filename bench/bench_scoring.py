"""Benchmark: one whole scoring run (``patron score``) on the database of DATABASE_URL.

Run from the repository root, on a database filled by ``patron generate``:

    DATABASE_URL=sqlite:////tmp/patron1m.sqlite3 .venv/bin/python bench/bench_scoring.py \\
        --as-of 2025-12-31

Times every stage of ``insights.services.scoring_run_execute`` (extract, each pipeline step,
the score writes, the dashboards' figures) in wall and CPU time (on a local PostgreSQL also the
CPU time of the run's server backend), with the peak RSS, and writes
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
    # (name, wall at start, cpu at start, server cpu at start)
    stages: list[tuple[str, float, float, float]] = []
    seen: set[str] = set()
    postgres = connection.vendor == "postgresql"

    def server_cpu() -> float:
        """CPU time of this process's PostgreSQL backend (local server only), else 0.

        On PostgreSQL much of the write-back's work is the server's, not this process's. ADBC's
        own connections (the extract) are other backends and are not counted.
        """
        if not postgres:
            return 0.0
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def progress(step: str, _done: int, _total: int) -> None:
        if step not in seen:
            seen.add(step)
            stages.append((step, time.perf_counter(), time.process_time(), server_cpu()))
            print(f"{time.strftime('%H:%M:%S')} {step}", flush=True)

    def children_cpu() -> float:
        """CPU time of the SQLite ADBC child processes (readers and writer), which the run
        stops and waits for at its end: this process's children usage."""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime - children0

    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    children0 = usage0.ru_utime + usage0.ru_stime
    wall0, cpu0, server0 = time.perf_counter(), time.process_time(), server_cpu()
    run = services.scoring_run_execute(as_of=as_of, progress=progress)
    wall, cpu, server = time.perf_counter() - wall0, time.process_time() - cpu0, server_cpu() - server0
    children = children_cpu()
    ends = [*stages[1:], ("end", wall0 + wall, cpu0 + cpu, server0 + server)]
    rows = [(name, e[1] - w, e[2] - c, e[3] - sc) for (name, w, c, sc), e in zip(stages, ends, strict=True)]
    server_head = " server CPU (s) |" if postgres else ""
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
        f"| stage | wall (s) | CPU (s) |{server_head}",
        "| --- | ---: | ---: |" + (" ---: |" if postgres else ""),
        *[f"| {name} | {w:.1f} | {c:.1f} |" + (f" {sc:.1f} |" if postgres else "") for name, w, c, sc in rows],
        f"| **total** | **{wall:.1f}** | **{cpu:.1f}** |" + (f" **{server:.1f}** |" if postgres else ""),
        "",
        f"Peak RSS: {rss_mib:,.0f} MiB.",
        "",
        "CPU is this process's (every thread). Not in it: the SQLite ADBC child processes "
        f"(`insights.sqlite_worker`, readers and writer): {children:.1f} s.",
        "",
        "Migration and baskets run in a second thread from the start of the pipeline: their rows "
        "above are the wait for them after churn; their own wall times are among the step "
        "timings below.",
        "",
        "Pipeline step timings recorded by the run (wall, s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in (run.diagnostics or {}).get("timings", {}).items()),
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
