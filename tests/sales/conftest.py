"""The sales book: leads and opportunities of alice (North), bob (South) and an unowned lead of
the North region, which mia manages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from patron.sales.models import Lead, Opportunity
from patron.sales.services import lead_create, opportunity_create
from tests.factories import make_customer


@dataclass
class Deals:
    alice_customer: object
    bob_customer: object
    alice_lead: Lead
    bob_lead: Lead
    north_lead: Lead  # no owner, in the North region
    alice_deal: Opportunity  # with alice's customer
    alice_lead_deal: Opportunity  # with alice's lead
    bob_deal: Opportunity


@pytest.fixture
def deals(alice, bob, north, south) -> Deals:
    ac = make_customer("Alder Ltd", owner=alice, branch=north)
    bc = make_customer("Birch Ltd", owner=bob, branch=south)
    al = lead_create(name="Wang Fang", company="Fang Tea", email="fang@example.com", phone="166 1320 7659",
                     source="referral", channel="web", owner=alice, branch=north)
    bl = lead_create(name="Li Lei", owner=bob, branch=south, source="event")
    nl = lead_create(name="Zhou Min", region=north.region, source="web")
    return Deals(
        alice_customer=ac,
        bob_customer=bc,
        alice_lead=al,
        bob_lead=bl,
        north_lead=nl,
        alice_deal=opportunity_create(name="Alder renewal", customer=ac, amount=Decimal("1200.00"),
                                      expected_close=date(2031, 3, 1), by=alice),
        alice_lead_deal=opportunity_create(name="Fang tea order", lead=al, amount=Decimal("500"), by=alice),
        bob_deal=opportunity_create(name="Birch pilot", customer=bc, amount=Decimal("800"), stage="meet", by=bob),
    )
