"""The PostgreSQL paths of the scoring run: COPY for the write-back, ADBC for the extract.

The tests that need a server run only when the suite runs on PostgreSQL
(``DATABASE_URL=postgres://... pytest tests/insights``); the address test runs everywhere.
"""

from __future__ import annotations

import pandas as pd
import pytest
from django.db import connection, connections

from patron.insights import extract, services
from tests import factories

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


@pytest.mark.django_db
def test_postgres_address_for_the_columnar_reader(monkeypatch):
    db = connections["default"]
    monkeypatch.setattr(db, "vendor", "postgresql")
    monkeypatch.setattr(db, "in_atomic_block", False)
    settings = {"NAME": "patron", "USER": "crm", "PASSWORD": "p@ss:w/rd", "HOST": "db.local", "PORT": 5433}
    for key, value in settings.items():
        monkeypatch.setitem(db.settings_dict, key, value)
    assert extract._postgres_uri() == "postgresql://crm:p%40ss%3Aw%2Frd@db.local:5433/patron"
    monkeypatch.setitem(db.settings_dict, "PASSWORD", "")
    monkeypatch.setitem(db.settings_dict, "HOST", "/run/postgresql")
    monkeypatch.setitem(db.settings_dict, "PORT", "")
    assert extract._postgres_uri() == "postgresql://crm@/patron?host=%2Frun%2Fpostgresql"
    # Another connection would not see this connection's uncommitted rows.
    monkeypatch.setattr(db, "in_atomic_block", True)
    assert extract._postgres_uri() is None


@pytest.fixture(scope="module")
def committed_book(django_db_setup, django_db_blocker):
    """A small generated book, committed so that a second connection (ADBC) sees it."""
    with django_db_blocker.unblock(), factories.committed_book(300, seed=23):
        yield


@on_postgres
@pytest.mark.django_db
def test_columnar_frames_equal_cursor_frames_on_postgres(committed_book, monkeypatch):
    cursor_inputs, cursor_facts = extract.inputs(), extract.customer_facts_frame()  # in a transaction
    uri = connection.settings_dict["NAME"]
    monkeypatch.setattr(connections["default"], "in_atomic_block", False)
    assert uri in (extract._postgres_uri() or "")
    columnar_inputs, columnar_facts = extract.inputs(), extract.customer_facts_frame()
    for name in ("orders", "lines", "costs", "customers", "nps", "interactions", "follow_ups"):
        expected, got = getattr(cursor_inputs, name), getattr(columnar_inputs, name)
        assert len(got) > 0, name
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
    pd.testing.assert_frame_equal(columnar_facts, cursor_facts, check_exact=True)


@on_postgres
@pytest.mark.django_db
def test_copy_writes_back_exactly_what_it_was_given():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE probe (a bigint, b double precision, c text, d jsonb)")
    rows = [
        (1, 0.1 + 0.2, "tab\there", '["late_order", 3]'),
        (2, 158.31187500000001, "back\\slash\nnew line", "[]"),
        (3, None, "", '["é"]'),
        (4, 1e-300, "N", "[]"),
    ]
    services._insert("probe", ["a", "b", "c", "d"], iter(rows))
    with connection.cursor() as cursor:
        cursor.execute("SELECT a, b, c, d::text FROM probe ORDER BY a")
        got = cursor.fetchall()
    assert [r[:3] for r in got] == [r[:3] for r in rows]  # floats to the last bit, NULL, escapes
    assert [r[3] for r in got] == ['["late_order", 3]', "[]", '["é"]', "[]"]
