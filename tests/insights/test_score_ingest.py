"""The history rows written through ADBC (SQLite file) equal the rows the cursor path writes."""

from __future__ import annotations

import sqlite3
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from django.db import connection

from patron.insights import extract, score_ingest, services, sqlite_worker
from patron.insights.models import CustomerScore, ScoringRun
from tests import factories

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite ADBC writer")

AS_OF = date(2025, 12, 31)
COLUMNS = ["run_id", "customer_id", *services.SCORE_FIELDS]


def _stored(rows: list[tuple]) -> list[tuple]:
    """Rows with each value's SQLite storage class, so 1 and 1.0 or NULL and '' differ."""
    return sorted(tuple((type(v).__name__, v) for v in row) for row in rows)


@pytest.fixture(scope="module")
def database_file(django_db_setup, django_db_blocker, tmp_path_factory):
    """A small generated book scored through the cursor path, committed, and a file copy."""
    path = tmp_path_factory.mktemp("ingest") / "copy.sqlite3"
    with django_db_blocker.unblock(), factories.committed_book(
        300, seed=24, as_of=AS_OF, copy_to=path
    ):
        yield str(path)


def test_arrow_columns_hold_the_cursor_paths_values() -> None:
    frame = pd.DataFrame(index=pd.Index([3, 1, 7, 9, 12], name="customer_id"))
    for name in services.SCORE_FIELDS:
        frame[name] = np.linspace(-2.5, 3.5, 5)
    frame["p_alive"] = [0.5, np.nan, np.inf, 0.0, -np.inf]
    frame["clv"] = None  # an object column of None
    frame["monetary"] = pd.Series([1, None, 2.5, "3", None], dtype=object, index=frame.index)
    frame["r_score"] = [1.0, 5.9, np.nan, 3.0, 2.0]  # truncated as int() truncates
    frame["value_class"] = ["most_valuable", None, "other", "below_zero", np.nan]
    frame["trend"] = ["up", 7, None, "flat", "up"]  # a non-str value: the cursor path's str()
    frame["churn_reasons"] = [["detractor"], None, [], np.nan, ["low_spend", "few_purchases"]]
    frame["recommendations"] = [[np.int64(4), 5], None, [], np.nan, [7]]
    columns = score_ingest.arrow_columns(
        frame,
        services.SCORE_FIELDS,
        text=services.TEXT_FIELDS,
        integer=services.INT_FIELDS,
        convert=services._column,
    )
    _ids, expected = services._columns(frame)
    for name, values in zip(services.SCORE_FIELDS, expected, strict=True):
        got = columns[name].to_pylist()
        assert [(type(v), v) for v in got] == [(type(v), v) for v in values], name
    assert columns["r_score"].to_pylist() == [1, 5, None, 3, 2]
    assert columns["trend"].to_pylist() == ["up", "7", "", "flat", "up"]


@pytest.mark.django_db
def test_rerun_through_adbc_writes_the_cursor_paths_rows(database_file, monkeypatch):
    run = ScoringRun.objects.get(as_of=AS_OF)
    quoted = ", ".join(f'"{c}"' for c in COLUMNS)
    select = f"SELECT {quoted} FROM insights_customerscore WHERE run_id = {run.pk}"  # noqa: S608
    with connection.cursor() as cursor:  # raw values: the ORM would decode the JSON text
        cursor.execute(select)
        cursor_rows = cursor.fetchall()
    assert len(cursor_rows) == 300
    file = sqlite3.connect(database_file)
    # One row damaged and one missing: the re-run rewrites every chunk, as after a kill.
    file.execute("UPDATE insights_customerscore SET clv = -1, trend = 'x' WHERE id = (SELECT min(id) FROM insights_customerscore)")
    file.execute("DELETE FROM insights_customerscore WHERE id = (SELECT max(id) FROM insights_customerscore)")
    file.commit()
    monkeypatch.setattr(extract, "sqlite_file", lambda: database_file)
    monkeypatch.setattr(services, "WRITE_CHUNK", 37)  # several chunks, the last one short
    ingested = []
    real = sqlite_worker.ingest
    monkeypatch.setattr(
        sqlite_worker, "ingest", lambda *a, **kw: ingested.append(a) or real(*a, **kw)
    )
    steps = []
    services.scoring_run_execute(as_of=AS_OF, progress=lambda *step: steps.append(step))
    assert len(ingested) == 1
    written = [done for name, done, _total in steps if name == "write"]
    assert written[-1] == 300 and written == sorted(written)
    file_rows = file.execute(select).fetchall()
    assert _stored(file_rows) == _stored(cursor_rows)
    # The run's history rows in the test database (cursor path) were not touched.
    assert CustomerScore.objects.filter(run=run).count() == 300
    file.close()


def test_a_failing_chunk_is_rolled_back_and_the_error_raised(database_file):
    with sqlite3.connect(database_file) as file:
        run_id, first = file.execute(
            "SELECT run_id, min(customer_id) FROM insights_customerscore"
        ).fetchone()
        template = file.execute(
            f"SELECT {', '.join(COLUMNS)} FROM insights_customerscore WHERE customer_id = ?",  # noqa: S608
            (first,),
        ).fetchone()
    good = pa.RecordBatch.from_pylist([dict(zip(COLUMNS, template, strict=True))])
    changed = good.set_column(COLUMNS.index("clv"), "clv", pa.array([123.5]))
    missing_customer = good.set_column(1, "customer_id", pa.array([10**9]))
    done = []
    with pytest.raises(sqlite_worker.WorkerError, match="FOREIGN KEY"):
        sqlite_worker.ingest(
            database_file,
            "insights_customerscore",
            run_id,
            [changed, missing_customer],
            done.append,
            pragmas=services._WRITER_PRAGMAS,  # the run's writer: foreign keys on
        )
    assert done == [1]
    with sqlite3.connect(database_file) as file:
        # The first chunk committed; the second (a customer that does not exist) left nothing.
        assert file.execute(
            "SELECT clv FROM insights_customerscore WHERE customer_id = ?", (first,)
        ).fetchone() == (123.5,)
        assert file.execute(
            "SELECT count(*) FROM insights_customerscore WHERE customer_id = ?", (10**9,)
        ).fetchone() == (0,)
