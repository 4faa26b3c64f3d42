"""Benchmark: what the score tables' range rules (CHECK constraints) cost a bulk insert on SQLite.

    .venv/bin/python bench/bench_score_checks.py --rows 1000000

Migrates an empty SQLite database in a temporary folder, takes the history table's definition
(``insights_customerscore``) as the migrations create it, and times ``executemany`` of the same
rows into an in-memory table with that definition and with the two rules
(``customerscore_probabilities_0_to_1``, ``customerscore_rfm_1_to_5``) removed, alternating,
five rounds each; foreign keys are left out of both so only the CHECKs differ. Reports CPU time
(the machine is shared). Writes a Markdown report (``--output``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

RULES = ("customerscore_probabilities_0_to_1", "customerscore_rfm_1_to_5")
COLUMNS = (
    "run_id, customer_id, profit_12m, value_class, value_gap, frequency, recency, tenure, monetary, p_alive, "
    "expected_purchases, clv, r_score, f_score, m_score, rfm_segment, trend, churn_risk, churn_reasons, "
    "move_down_prob, recommendations"
)


def table_definition() -> str:
    folder = tempfile.mkdtemp()
    os.environ["PATRON_DATA_DIR"] = folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    with sqlite3.connect(Path(folder) / "patron.sqlite3") as db:
        return db.execute("SELECT sql FROM sqlite_master WHERE name = 'insights_customerscore'").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default="bench/results/score_checks.md")
    args = parser.parse_args()
    with_rules = re.sub(r'REFERENCES "\w+" \("id"\) DEFERRABLE INITIALLY DEFERRED', "", table_definition())
    without = with_rules
    for rule in RULES:
        without = re.sub(rf', CONSTRAINT "{rule}" CHECK \(\(\(.*?\)\)\)\)', "", without)
    assert all(rule in with_rules and rule not in without for rule in RULES), without
    rng = random.Random(1)
    rows = [
        (1, i, rng.random() * 1000, "other", 1.0, 3.0, 10.0, 50.0, 80.0, rng.random(), 1.2, 300.0,
         rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5), "champions", "up", rng.random(), "[]",
         rng.random(), "[]")
        for i in range(args.rows)
    ]  # fmt: skip
    marks = ", ".join("?" * 21)

    def once(definition: str) -> float:
        db = sqlite3.connect(":memory:")
        db.execute(definition)
        started = time.process_time()
        with db:
            db.executemany(f"INSERT INTO insights_customerscore ({COLUMNS}) VALUES ({marks})", rows)
        spent = time.process_time() - started
        db.close()
        return spent

    times: dict[str, list[float]] = {"with the rules": [], "without them": []}
    for _ in range(args.rounds):
        times["without them"].append(once(without))
        times["with the rules"].append(once(with_rules))
    load = os.getloadavg()[0]
    lines = [
        "# Score tables' range rules: cost of a bulk insert (SQLite)",
        "",
        f"- date: {dt.date.today().isoformat()}; machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load:.1f}; Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}",
        f"- command: `.venv/bin/python bench/bench_score_checks.py --rows {args.rows}`",
        f"- {args.rows:,} rows into `insights_customerscore` (in memory, foreign keys left out), "
        f"`executemany`, {args.rounds} alternating rounds, CPU time",
        "",
        "| table | min | median |",
        "|---|---|---|",
    ]
    for name, values in times.items():
        lines.append(f"| {name} | {min(values):.3f} s | {statistics.median(values):.3f} s |")
    best = min(times["with the rules"]) - min(times["without them"])
    middle = statistics.median(times["with the rules"]) - statistics.median(times["without them"])
    lines += ["", f"The rules add {best:.3f} s CPU per {args.rows:,} rows (min against min), "
              f"{middle:.3f} s (median against median).", ""]
    Path(args.output).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
