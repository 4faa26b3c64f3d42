"""Named fixture users and small factories shared by the test suite.

alice and bob are reps in the North branch and the South branch; mia manages the North
region; nora is an analyst; root is an administrator.
"""

from __future__ import annotations

import pytest
from hypothesis import settings as hypothesis_settings

# Property-based tests draw the same examples on every run (CI is repeatable) and keep no
# example database in the work tree.
hypothesis_settings.register_profile("patron", derandomize=True, database=None, deadline=None)
hypothesis_settings.load_profile("patron")

# Factories import Django models; imported lazily so tests/analytics can run without Django.


def make_branch(*args, **kwargs):
    from tests.factories import make_branch as factory

    return factory(*args, **kwargs)


def make_user(*args, **kwargs):
    from tests.factories import make_user as factory

    return factory(*args, **kwargs)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, whose flush between transactional tests may empty the audit log
    (PostgreSQL truncates, which its append-only trigger allows; SQLite deletes)."""
    from patron.core.audit import sqlite_allow_purge

    with django_db_blocker.unblock():
        sqlite_allow_purge()


@pytest.fixture(autouse=True)
def _thread_state_restored():
    """Each test starts with the language and the audit log's default actor it would have alone:
    a page request in another language, or the worker command run in-process, leaves them set
    for the thread."""
    from django.utils import translation

    from patron.core import audit

    default = audit._default[0]
    yield
    translation.deactivate()
    audit._default[0] = default


@pytest.fixture
def north(db):
    return make_branch("N1", "North One", region_code="N", region_name="North")


@pytest.fixture
def south(db):
    return make_branch("S1", "South One", region_code="S", region_name="South")


@pytest.fixture
def mia(db, north):
    return make_user("mia", "manager", regions=[north.region])


@pytest.fixture
def alice(db, mia):
    return make_user("alice", "rep", reports_to=mia)


@pytest.fixture
def bob(db):
    return make_user("bob", "rep")


@pytest.fixture
def nora(db):
    return make_user("nora", "analyst")


@pytest.fixture
def root(db):
    return make_user("root", "admin")
