"""Benchmark: ``patron generate`` into a fresh SQLite database.

Run from the repository root:

    .venv/bin/python bench/bench_generate.py --customers 1000000

Migrates an empty database in a temporary data folder, times ``generate_dataset`` (simulation
and database writes separately), and reports customers/s, order lines/s, peak RSS and the
database size. Writes bench/results/generate.md (or --out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--data-dir", type=Path, help="default: a temporary folder, removed afterwards")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "generate.md")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="patron-bench-generate-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PATRON_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)  # the embedded SQLite database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from patron.generator import writer

    call_command("migrate", verbosity=0)
    db_file = Path(settings.DATABASES["default"]["NAME"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # Wall time, and CPU time of this process (SQLite runs in-process, so it counts too): on a
    # shared machine the CPU time is the fairer figure.
    write_seconds = write_cpu = 0.0
    original = writer.write_chunk

    def timed_write(*a, **kw):
        nonlocal write_seconds, write_cpu
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*a, **kw)
        finally:
            write_seconds += time.perf_counter() - start
            write_cpu += time.process_time() - cpu

    writer.write_chunk = timed_write
    start, cpu_start = time.perf_counter(), time.process_time()
    dataset = writer.generate_dataset(args.customers, args.seed, progress=True, chunk_size=args.chunk_size)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts = dataset.truth["counts"]
    files = dataset.truth["files"]
    db_bytes = _size(db_file)
    truth_bytes = sum(Path(p).stat().st_size for p in files.values())

    command = " ".join([".venv/bin/python bench/bench_generate.py", *sys.argv[1:]])
    lines = [
        "# `patron generate` benchmark",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} CPUs (nproc), {_cpu_model()}, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}; load average {os.getloadavg()[0]:.1f} at the end "
        "(the machine is shared with other work, so wall times are upper bounds; CPU time is the fairer figure).",
        f"- Command: `{command}`",
        f"- Database: SQLite (WAL, synchronous=NORMAL, the project's defaults), fresh file in a temporary folder; "
        f"chunk size {args.chunk_size:,} customers per transaction.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| customers | {counts['customers']:,} |",
        f"| order lines | {counts['order_lines']:,} |",
        f"| orders | {counts['orders']:,} |",
        f"| cost events | {counts['cost_events']:,} |",
        f"| interactions | {counts['interactions']:,} |",
        f"| contacts | {counts['contacts']:,} |",
        f"| survey answers (Parquet) | {counts['responses']:,} |",
        f"| total time (wall) | {total:,.1f} s ({total / 60:.1f} min) |",
        f"| total CPU time (user + sys, this process) | {cpu:,.1f} s ({cpu / 60:.1f} min) |",
        f"| of which simulation and Parquet (wall / CPU) | {total - write_seconds:,.1f} s / {cpu - write_cpu:,.1f} s |",
        f"| of which database writes (wall / CPU) | {write_seconds:,.1f} s / {write_cpu:,.1f} s |",
        f"| customers/s (wall / CPU) | {counts['customers'] / total:,.0f} / {counts['customers'] / cpu:,.0f} |",
        f"| order lines/s (wall / CPU) | {counts['order_lines'] / total:,.0f} / {counts['order_lines'] / cpu:,.0f} |",
        f"| peak RSS | {peak_kib / 1024:,.0f} MiB (after migrate: {rss_before / 1024:,.0f} MiB) |",
        f"| database size | {db_bytes / 2**30:,.2f} GiB |",
        f"| truth + survey Parquet files | {truth_bytes / 2**20:,.0f} MiB |",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    if args.data_dir is None and not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        print(f"Data kept in {data_dir}")


if __name__ == "__main__":
    main()
