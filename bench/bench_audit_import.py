"""Benchmark: what the audit log costs an import (one entry per batch).

Run from the repository root:

    .venv/bin/python bench/bench_audit_import.py --rows 20000

Imports the same customers CSV (the row path: parse, match, insert) into fresh SQLite databases,
alternating runs with the audit entries written and with them left out, and reports the best
and median CPU time (``time.process_time``) of each, so a busy shared machine skews both alike.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="patron-bench-audit-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'template.sqlite3'}"
    os.environ["PATRON_DATA_DIR"] = str(work)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from patron.core.models import AuditEntry
    from patron.imports import engine
    from patron.imports.engine import ImportOptions, run_import

    call_command("migrate", verbosity=0)
    connection.close()
    path = work / "customers.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "email", "phone", "city"])
        for i in range(args.rows):
            writer.writerow([f"C-{i:07d}", f"Customer {i}", f"c{i}@example.com", f"138{i:08d}", "Suzhou"])

    audited = engine._audit_batch
    timings: dict[str, list[float]] = {"with audit": [], "without": []}
    entries = 0
    for run in range(args.repeat * 2):
        label = "with audit" if run % 2 == 0 else "without"
        connection.close()
        target = work / "run.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(work / "template.sqlite3", target)
        settings.DATABASES["default"]["NAME"] = str(target)
        engine._audit_batch = audited if label == "with audit" else (lambda *a, **k: None)  # type: ignore[assignment]
        start = time.process_time()
        result = run_import(path, ImportOptions(kind="customers", batch_size=args.batch_size, write_error_file=False))
        timings[label].append(time.process_time() - start)
        assert result.created == args.rows, result
        if label == "with audit":
            entries = AuditEntry.objects.filter(action="import.customers").count()
    engine._audit_batch = audited  # type: ignore[assignment]
    best = {k: min(v) for k, v in timings.items()}
    median = {k: statistics.median(v) for k, v in timings.items()}
    overhead = (best["with audit"] - best["without"]) / best["without"] * 100
    median_overhead = (median["with audit"] - median["without"]) / median["without"] * 100
    print(f"{args.rows:,} customers, batches of {args.batch_size:,}: {entries} audit entries")
    for label, seconds in best.items():
        print(f"  {label:>10}: best CPU {seconds:.3f} s ({args.rows / seconds:,.0f} rows/s)  runs: "
              + ", ".join(f"{s:.3f}" for s in timings[label]))
    print(f"  overhead: {overhead:+.1f}% (best), {median_overhead:+.1f}% (median)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
