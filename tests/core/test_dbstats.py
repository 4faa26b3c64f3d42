"""Bulk-load commands leave the planner with statistics (a bulk load otherwise has none)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection


def _analysed() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'customers_customer'"
            )
            return bool(cursor.fetchone()[0])
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'customers_customer'")
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_generate_leaves_planner_statistics(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    call_command("generate", "--customers", "40", "--seed", "3", "--no-progress", verbosity=0)
    assert _analysed()
