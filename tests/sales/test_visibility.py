"""Who sees and changes leads and opportunities: the customers' rule. A rep sees their own, a
manager also those of their branches and regions, the organisation-wide roles all; analysts and
marketers read but change nothing."""

from __future__ import annotations

import pytest

from patron.sales.selectors import (
    can_edit_lead,
    can_edit_opportunity,
    visible_leads,
    visible_opportunities,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _names(qs):
    return sorted(x.name for x in qs)


def test_a_rep_sees_only_their_own(deals, alice, bob):
    assert _names(visible_leads(alice)) == ["Wang Fang"]
    assert _names(visible_opportunities(alice)) == ["Alder renewal", "Fang tea order"]
    assert _names(visible_leads(bob)) == ["Li Lei"]
    assert _names(visible_opportunities(bob)) == ["Birch pilot"]
    assert not can_edit_lead(alice, deals.bob_lead)
    assert not can_edit_opportunity(alice, deals.bob_deal)
    assert can_edit_opportunity(alice, deals.alice_lead_deal)


def test_a_manager_sees_their_region(deals, mia):
    assert _names(visible_leads(mia)) == ["Wang Fang", "Zhou Min"]
    assert _names(visible_opportunities(mia)) == ["Alder renewal", "Fang tea order"]
    assert can_edit_lead(mia, deals.north_lead)


def test_a_manager_by_branch(deals, south):
    sam = make_user("sam", "manager", branches=[south])
    assert _names(visible_leads(sam)) == ["Li Lei"]
    assert _names(visible_opportunities(sam)) == ["Birch pilot"]


def test_analysts_read_everything_and_change_nothing(deals, nora, root):
    assert len(visible_leads(nora)) == 3 and len(visible_opportunities(nora)) == 3
    assert not can_edit_lead(nora, deals.alice_lead)
    assert not can_edit_opportunity(nora, deals.alice_deal)
    assert can_edit_opportunity(root, deals.bob_deal)


def test_reassigning_a_lead_changes_who_sees_it(deals, alice, bob):
    from patron.sales.services import lead_update

    lead_update(lead=deals.alice_lead, changes={"owner": bob, "branch": None, "region": None})
    assert _names(visible_leads(alice)) == []
    assert "Fang tea order" not in _names(visible_opportunities(alice))
    assert "Fang tea order" in _names(visible_opportunities(bob))


def test_the_board_costs_a_query_per_stage_at_most(deals, mia, django_assert_max_num_queries):
    from patron.sales.selectors import board
    from patron.sales.services import pipeline_default_ensure

    pipeline = pipeline_default_ensure()
    with django_assert_max_num_queries(2 + 6):  # stages, figures, then one per stage with cards
        columns = board(mia, pipeline)
        cards = [(o.name, o.customer.name if o.customer else o.lead.name, o.owner) for c in columns for o in c.cards]
    assert sorted(c[0] for c in cards) == ["Alder renewal", "Fang tea order"]
    assert {c.stage.key: c.count for c in columns}["qualify"] == 2
