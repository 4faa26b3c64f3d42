"""Planner statistics after bulk loads.

A bulk load of millions of rows leaves PostgreSQL without statistics until autovacuum gets to the
tables (never, where autovacuum is off): the planner then guesses, and a 360° page that takes 80 ms
takes seconds. Commands that load in bulk call this at the end.
"""

from __future__ import annotations

from django.db import connection

# Loads below this many rows change the statistics too little to be worth a pass.
BULK_ROWS = 10_000


def refresh_planner_statistics() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
        elif connection.vendor == "sqlite":
            # Sampled: about a thousand rows per index, so seconds even over ten million lines.
            cursor.execute("PRAGMA analysis_limit = 1000")
            cursor.execute("ANALYZE")
