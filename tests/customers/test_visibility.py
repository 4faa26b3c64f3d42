"""Who sees which customer: decided once, from the records, at query time."""

from __future__ import annotations

import pytest

from patron.customers.selectors import can_edit_customer, visible_customers
from patron.customers.services import customer_assign_owner
from tests.factories import make_customer, make_user

pytestmark = pytest.mark.django_db


def names(user):
    return set(visible_customers(user).values_list("name", flat=True))


def test_rep_sees_only_own_customers(alice, bob, north):
    make_customer("A1", owner=alice, branch=north)
    make_customer("B1", owner=bob, branch=north)
    assert names(alice) == {"A1"}
    assert names(bob) == {"B1"}


def test_manager_sees_region_and_branch_customers(mia, alice, bob, north, south):
    make_customer("north-alice", owner=alice, branch=north)
    make_customer("north-bob", owner=bob, branch=north)
    make_customer("south-bob", owner=bob, branch=south)
    make_customer("unassigned-north", branch=north)
    assert names(mia) == {"north-alice", "north-bob", "unassigned-north"}
    mia.branches.add(south)
    assert "south-bob" in names(mia)


def test_org_wide_roles_see_everyone(nora, root, alice, bob):
    make_customer("A1", owner=alice)
    make_customer("B1", owner=bob)
    for role in ("cx", "marketer"):
        assert names(make_user(f"u-{role}", role)) == {"A1", "B1"}
    assert names(nora) == {"A1", "B1"}
    assert names(root) == {"A1", "B1"}


def test_reassigning_changes_visibility_at_once(alice, bob):
    customer = make_customer("moving", owner=alice)
    assert names(alice) == {"moving"}
    customer_assign_owner(customer=customer, owner=bob)
    assert names(alice) == set()
    assert names(bob) == {"moving"}


def test_inactive_user_sees_nothing(alice):
    make_customer("A1", owner=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert names(alice) == set()


def test_analyst_reads_but_cannot_edit(nora, alice):
    customer = make_customer("A1", owner=alice)
    assert can_edit_customer(alice, customer)
    assert not can_edit_customer(nora, customer)
