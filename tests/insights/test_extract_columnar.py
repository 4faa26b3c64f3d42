"""The whole-book extract through ADBC gives exactly the frames the cursor gives."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from django.db import connection, connections

from patron.insights import extract
from tests import factories

# The SQLite reader: a copy of the test database is opened as a file (tests/insights/
# test_postgres_paths.py covers PostgreSQL's).
pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite columnar reader")


@pytest.fixture(scope="module")
def database_file(django_db_setup, django_db_blocker, tmp_path_factory):
    """A small generated book, committed, and a file copy of the test database for ADBC to open."""
    path = tmp_path_factory.mktemp("extract") / "copy.sqlite3"
    with django_db_blocker.unblock(), factories.committed_book(400, seed=21, copy_to=path):
        yield str(path)


@pytest.mark.django_db
def test_columnar_frames_equal_cursor_frames(database_file, monkeypatch):
    cursor_inputs, cursor_facts = extract.inputs(), extract.customer_facts_frame()
    monkeypatch.setattr(extract, "sqlite_file", lambda: database_file)
    columnar_inputs, columnar_facts = extract.inputs(), extract.customer_facts_frame()
    for name in ("orders", "lines", "costs", "customers", "nps", "interactions", "follow_ups"):
        expected, got = getattr(cursor_inputs, name), getattr(columnar_inputs, name)
        assert len(got) > 0, name
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
    pd.testing.assert_frame_equal(columnar_facts, cursor_facts, check_exact=True)


@pytest.mark.django_db
def test_columnar_read_handles_nulls_types_and_empty_results(database_file, monkeypatch):
    monkeypatch.setattr(extract, "sqlite_file", lambda: database_file)
    with sqlite3.connect(database_file) as con:
        con.execute("CREATE TABLE IF NOT EXISTS probe (a INTEGER, b REAL, c TEXT)")
        con.execute("DELETE FROM probe")
        rows = [(i, i / 2, f"t{i}") for i in range(3000)] + [(None, None, None)] * 10
        con.executemany("INSERT INTO probe VALUES (?, ?, ?)", rows)
    frame = extract._fetch_columnar("SELECT a, b, c FROM probe", ["a", "b", "c"])
    assert frame is not None and len(frame) == len(rows)
    # NULL makes an integer column float64 with NaN, as pandas makes the cursor's rows.
    assert frame["a"].dtype == "float64" and frame["a"].isna().sum() == 10
    assert frame["b"].dtype == "float64" and frame["b"].iloc[3] == 1.5
    assert frame["c"].iloc[1] == "t1" and frame["c"].isna().sum() == 10
    nulls = extract._fetch_columnar("SELECT a FROM probe WHERE a IS NULL", ["a"])
    assert nulls is not None and nulls["a"].dtype == object and nulls["a"].isna().all()
    empty = extract._fetch_columnar("SELECT a, c FROM probe WHERE 1 = 0", ["a", "c"])
    assert empty is not None and list(empty.columns) == ["a", "c"] and empty.empty
    # NULL in the driver's first rows and REAL later: the driver types each column from its
    # first rows and will not change it, so the caller is told (None) to read through the cursor.
    late = "SELECT CASE WHEN a >= 2000 THEN b END FROM probe ORDER BY a IS NOT NULL, a"
    assert extract._fetch_columnar(late, ["b"]) is None


@pytest.mark.django_db
def test_cursor_is_used_inside_a_transaction_and_for_memory_databases(monkeypatch):
    db = connections["default"]
    # Another connection would not see this (test's) transaction's uncommitted rows.
    assert db.in_atomic_block and extract.sqlite_file() is None
    monkeypatch.setattr(db, "in_atomic_block", False)
    monkeypatch.setitem(db.settings_dict, "NAME", "data/patron.sqlite3")
    assert extract.sqlite_file() == "data/patron.sqlite3"
    monkeypatch.setitem(db.settings_dict, "NAME", ":memory:")
    assert extract.sqlite_file() is None
    monkeypatch.setitem(db.settings_dict, "NAME", "file:memorydb_default?mode=memory&cache=shared")
    assert extract.sqlite_file() is None
