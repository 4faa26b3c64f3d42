"""Migrations forward on a populated database, as docs/upgrade.md tells users to run them.

A database of its own (a file on SQLite, a second database on PostgreSQL) is migrated to an
earlier state and filled through that state's models with real-looking data and edge cases
(``tests/core/upgrade_book.py``, in a child process whose default database it is, as for
``patron migrate``), then migrated to the latest state: every row must come through unchanged
and no row may break a rule. Rows that break a rule a migration adds stop that migration with
one line naming them; the fixes that are unambiguous are made.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def database_url(django_db_setup, django_db_blocker, tmp_path) -> Iterator[str]:
    """An empty database beside the test database, of the same kind."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
        return
    settings = connection.settings_dict
    name = f"{settings['NAME']}_upgrade"
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    login = quote(settings["USER"], safe="") + (f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else "")
    try:
        yield f"postgres://{login}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"
    finally:
        with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(url: str, tmp_path: Path, *args: str, module: str = "tests.core.upgrade_book") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "PATRON_DATA_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900, check=False)  # fmt: skip


def _step(url: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / f"{args[0]}.json"
    done = _run(url, tmp_path, args[0], str(out), *args[1:])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def test_a_populated_database_upgrades_with_every_row_unchanged(database_url, tmp_path):
    before = _step(database_url, tmp_path, "prepare", "latest")
    # The earlier state leaves out each app's latest migration, among them the integrity rules,
    # and has every app's tables.
    assert ["commerce", "0006_integrity_constraints"] in before["leaves"]
    behind = {app for app, name in before["targets"] if [app, name] not in before["leaves"]}
    assert {"commerce", "customers", "feedback", "insights", "imports"} <= behind
    assert {app for app, _name in before["leaves"]} == {app for app, _name in before["targets"]}
    rows = before["rows"]
    filled = ("customers_customer", "customers_contact", "commerce_orderline", "commerce_costevent",
              "engagement_interaction", "feedback_response", "feedback_followup", "feedback_review",
              "insights_customerscore", "insights_currentscore", "imports_possibleduplicate")  # fmt: skip
    assert all(rows[table] for table in filled), [t for t in filled if not rows[t]]
    after = _step(database_url, tmp_path, "upgrade")
    assert after["reported"] == [] and after["breaches"] == []
    for table, kept in rows.items():
        if table == "django_migrations":
            continue  # the one table a migration adds rows to
        assert after["rows"][table].keys() == kept.keys(), table
        for key, row in kept.items():
            now = after["rows"][table][key]
            assert {column: now[column] for column in row} == row, (table, key)


def test_rows_that_break_a_new_rule_stop_it_named_in_one_line_then_the_upgrade_completes(database_url, tmp_path):
    before = _step(database_url, tmp_path, "prepare", "integrity", "bad")
    assert not any(name.endswith("_integrity_constraints") for _app, name in before["targets"])
    bad, people = before["ids"]["bad"], before["ids"]["people"]
    # What an operator sees: one line naming the rows, exit status 2, the migration not applied.
    done = _run(database_url, tmp_path, "migrate", "commerce", module="patron.cli")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("patron: database error: migration commerce.0006_integrity_constraints stopped")
    assert f"commerce.OrderLine orderline_quantity_positive: 1 row (id {bad['line']})" in lines[0]
    assert "`patron integrity`" in lines[0] and "docs/upgrade.md" in lines[0]
    assert (ROOT / "docs" / "upgrade.md").exists()
    shown = _run(database_url, tmp_path, "showmigrations", "commerce", module="patron.cli")
    assert "[ ] 0006_integrity_constraints" in shown.stdout
    listed = _run(database_url, tmp_path, "integrity", module="patron.cli")
    assert listed.returncode == 1
    assert f"feedback.Response response_score_0_to_10: 1 row (id {bad['answer']})" in listed.stdout
    # Each migration that meets bad rows stops; the child deletes them and goes on.
    after = _step(database_url, tmp_path, "upgrade")
    assert sorted(after["reported"]) == sorted([
        f"commerce.OrderLine orderline_quantity_positive: 1 row (id {bad['line']})",
        f"commerce.OrderLine orderline_money_not_negative: 1 row (id {bad['line']})",
        f"feedback.Response response_score_0_to_10: 1 row (id {bad['answer']})",
        f"insights.CustomerScore customerscore_probabilities_0_to_1: 1 row (id {bad['score']})",
    ])  # fmt: skip
    assert after["breaches"] == []
    rows = after["rows"]
    # First and last order recomputed from the customer's one order; the order row unchanged.
    customer = rows["customers_customer"][str(people[0])]
    order = next(o for o in rows["commerce_order"].values() if o["customer_id"][1] == str(people[0]))
    assert customer["first_order_at"] == customer["last_order_at"] == order["ordered_at"]
    pairs = {(int(p["customer_id"][1]), int(p["other_id"][1])): p["status"][1]
             for p in rows["imports_possibleduplicate"].values()}  # fmt: skip
    assert all(a < b for a, b in pairs)
    assert pairs[tuple(sorted([people[1], bad["third"]]))] == "open"  # turned
    assert pairs[tuple(bad["pair"])] == "dismissed"  # stored both ways: one row, "not a duplicate" kept
    assert (bad["third"], bad["third"]) not in pairs  # paired with itself: dropped
    assert len(pairs) == 3
