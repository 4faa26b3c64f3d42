"""The NPS figures' answer frame read through ADBC gives the figures the cursor's frame gives."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from patron.insights import extract, nps_figures, nps_refresh
from tests import factories

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite columnar reader")


@pytest.fixture(scope="module")
def database_file(django_db_setup, django_db_blocker, tmp_path_factory):
    """A small generated and scored book, committed, and a file copy for ADBC to open."""
    path = tmp_path_factory.mktemp("nps") / "copy.sqlite3"
    with django_db_blocker.unblock(), factories.committed_book(
        400, seed=22, as_of=date(2025, 12, 31), copy_to=path
    ):
        yield str(path)


@pytest.mark.django_db
def test_columnar_answers_give_the_cursors_figures(database_file, monkeypatch):
    cursor_frame = nps_refresh.answers_frame()
    monkeypatch.setattr(extract, "sqlite_file", lambda: database_file)
    calls = []
    real = extract._fetch_columnar
    monkeypatch.setattr(extract, "_fetch_columnar", lambda *a: calls.append(a) or real(*a))
    columnar_frame = nps_refresh.answers_frame()
    assert len(calls) == 3 and len(columnar_frame) == len(cursor_frame) > 50
    assert columnar_frame["segment"].notna().sum() > 0  # scored customers' fields came through
    expected, got = (nps_figures.compute(f, "Asia/Shanghai") for f in (cursor_frame, columnar_frame))
    assert got.total == expected.total
    assert dict(got.slices) == dict(expected.slices) and dict(got.pairs) == dict(expected.pairs)
