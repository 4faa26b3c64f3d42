"""SQLite: the current scores' indexes are rebuilt inside the write-back's transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from patron.insights import services
from patron.insights.models import CurrentScore

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="indexes are rebuilt on SQLite only"),
]
TABLE = CurrentScore._meta.db_table


def _indexes() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
            [TABLE],
        )
        return cursor.fetchall()


def test_indexes_are_gone_inside_and_back_after():
    before = _indexes()
    assert len(before) == len(CurrentScore._meta.indexes) == 5
    with transaction.atomic(), services._indexes_rebuilt(TABLE):
        assert _indexes() == []
    assert _indexes() == before
    # The planner uses them again: sorting by CLV walks its index.
    with connection.cursor() as cursor:
        cursor.execute(f'EXPLAIN QUERY PLAN SELECT customer_id FROM "{TABLE}" ORDER BY clv LIMIT 5')  # noqa: S608
        assert any("insights_cu_clv" in str(row) for row in cursor.fetchall())


def test_an_error_in_the_write_rolls_the_drop_back():
    before = _indexes()
    with pytest.raises(RuntimeError), transaction.atomic(), services._indexes_rebuilt(TABLE):
        raise RuntimeError("killed half-way")
    assert _indexes() == before

