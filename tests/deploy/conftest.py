"""Real ``patron`` processes against a SQLite file or the PostgreSQL test database (the fault
tests' fixtures: tests/faults/conftest.py)."""

from tests.faults.conftest import bytecode, faultdb, sqlite_template  # noqa: F401 - fixtures
