"""The sales services: stage history with who and when, reasons to close, conversion once (also
when two run at once), and the validation of bad input."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from patron.core.errors import DuplicateExternalIdError
from patron.core.models import AuditEntry
from patron.customers.models import Customer
from patron.sales.models import Lead, Opportunity, Pipeline, Stage, StageChange
from patron.sales.services import (
    lead_convert,
    lead_create,
    lead_disqualify,
    lead_update,
    opportunity_create,
    opportunity_move,
    opportunity_update,
    pipeline_default_ensure,
)

pytestmark = pytest.mark.django_db


def test_the_default_pipeline_has_six_stages():
    # The migrations create it; a database flushed since (transactional tests) gets it back.
    pipeline = pipeline_default_ensure()
    assert Pipeline.objects.filter(is_default=True).count() == 1
    stages = list(pipeline.stages.order_by("position"))
    assert [s.key for s in stages] == ["qualify", "meet", "propose", "negotiate", "won", "lost"]
    assert [str(s.probability) for s in stages] == ["0.10", "0.25", "0.50", "0.75", "1.00", "0.00"]
    assert [s.outcome for s in stages][-2:] == ["won", "lost"]
    assert stages[0].label == "Qualify"
    Pipeline.objects.all().delete()
    again = pipeline_default_ensure()
    assert [s.key for s in again.stages.order_by("position")] == [s.key for s in stages]


def test_a_default_stage_name_is_translated():
    from django.utils import translation

    from patron.sales.models import DEFAULT_STAGE_NAMES

    stage = pipeline_default_ensure().stages.get(key="propose")
    assert stage.name == ""  # the default stages keep no name of their own: their label translates
    with translation.override("zh-hans"):
        assert stage.label == str(DEFAULT_STAGE_NAMES["propose"])
    stage.name = "Quote sent"
    assert stage.label == "Quote sent"


def test_moves_are_recorded_with_who_and_when(deals, alice):
    deal = deals.alice_deal
    assert [(c.from_stage, c.to_stage.key) for c in StageChange.objects.filter(opportunity=deal)] == [(None, "qualify")]
    opportunity_move(opportunity=deal, stage="propose", by=alice)
    opportunity_move(opportunity=deal, stage="propose", by=alice)  # no move: nothing recorded
    changes = list(StageChange.objects.filter(opportunity=deal).order_by("id"))
    assert [(c.from_stage and c.from_stage.key, c.to_stage.key) for c in changes] == [(None, "qualify"), ("qualify", "propose")]
    assert changes[-1].changed_by == alice and changes[-1].changed_at is not None
    assert AuditEntry.objects.filter(action="opportunity.move", object_id=deal.pk).count() == 1


def test_closing_needs_its_reason_and_reopening_clears_it(deals, alice):
    deal = deals.alice_deal
    with pytest.raises(ValidationError) as err:
        opportunity_move(opportunity=deal, stage="won", by=alice)
    assert "won_reason" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        opportunity_move(opportunity=deal, stage="lost", by=alice, lost_reason="  ")
    assert "lost_reason" in err.value.message_dict
    deal.refresh_from_db()
    assert deal.stage.key == "qualify" and deal.closed_at is None

    opportunity_move(opportunity=deal, stage="lost", by=alice, lost_reason="Price")
    deal.refresh_from_db()
    assert deal.closed_at is not None and deal.lost_reason == "Price"
    opportunity_move(opportunity=deal, stage="negotiate", by=alice)
    deal.refresh_from_db()
    assert deal.closed_at is None and deal.lost_reason == "" and deal.stage.key == "negotiate"
    opportunity_update(opportunity=deal, changes={"stage": "won", "won_reason": "Best offer"}, by=alice)
    deal.refresh_from_db()
    assert deal.stage.key == "won" and deal.won_reason == "Best offer" and deal.closed_at is not None
    with pytest.raises(ValidationError):
        opportunity_update(opportunity=deal, changes={"won_reason": ""})
    opportunity_update(opportunity=deal, changes={"stage": "won", "won_reason": "Best offer and service"}, by=alice)
    deal.refresh_from_db()
    assert deal.won_reason == "Best offer and service"
    assert StageChange.objects.filter(opportunity=deal, to_stage__key="won").count() == 1


def test_unknown_stage_and_a_stage_of_another_pipeline_are_refused(deals):
    with pytest.raises(ValidationError) as err:
        opportunity_move(opportunity=deals.alice_deal, stage="signed")
    assert "qualify" in str(err.value)
    other = Pipeline.objects.create(name="Projects")
    foreign = Stage.objects.create(pipeline=other, key="scope", position=1)
    with pytest.raises(ValidationError):
        opportunity_move(opportunity=deals.alice_deal, stage=foreign)


def test_an_opportunity_has_a_customer_or_a_lead_and_no_negative_amount(deals):
    with pytest.raises(ValidationError):
        opportunity_create(name="Both", customer=deals.alice_customer, lead=deals.alice_lead)
    with pytest.raises(ValidationError):
        opportunity_create(name="Neither")
    with pytest.raises(ValidationError):
        opportunity_create(name="Minus", customer=deals.alice_customer, amount=Decimal("-1"))
    with pytest.raises(ValidationError):
        opportunity_create(name="Bad currency", customer=deals.alice_customer, currency="usd")
    with pytest.raises(DuplicateExternalIdError):
        opportunity_create(name="A", customer=deals.alice_customer, external_id="X1")
        opportunity_create(name="B", customer=deals.alice_customer, external_id="X1")


def test_the_database_holds_the_customer_or_lead_rule(deals):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.filter(pk=deals.alice_deal.pk).update(lead=deals.alice_lead)


def test_a_lead_phone_is_normalised_and_a_bad_one_refused(deals):
    assert deals.alice_lead.phone == "+8616613207659" and deals.alice_lead.phone_digits == "8616613207659"
    with pytest.raises(ValidationError) as err:
        lead_create(name="X", phone="12")
    assert "phone" in err.value.message_dict


def test_convert_creates_the_customer_and_moves_the_open_opportunities_once(deals, alice):
    lead = deals.alice_lead
    lost = opportunity_create(name="Old deal", lead=lead, stage="lost", lost_reason="Budget")
    done = lead_convert(lead=lead)
    customer = done.customer
    assert customer.name == "Fang Tea" and customer.kind == Customer.Kind.COMPANY
    assert customer.owner == alice and customer.branch == lead.branch and customer.region == lead.region
    assert customer.acquisition_channel == "web" and customer.stage == Customer.Stage.PROSPECT
    contact = customer.contacts.get()
    assert contact.name == "Wang Fang" and contact.email == "fang@example.com" and contact.phone == "+8616613207659"
    assert done.opportunity_ids == [deals.alice_lead_deal.pk]
    moved = Opportunity.objects.get(pk=deals.alice_lead_deal.pk)
    assert moved.customer == customer and moved.lead is None
    lost.refresh_from_db()
    assert lost.lead == lead  # a closed deal stays with the lead
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED and lead.converted_customer == customer and lead.converted_at
    with pytest.raises(ValidationError) as err:
        lead_convert(lead=lead)
    assert err.value.code == "already_converted"
    assert Customer.objects.filter(name="Fang Tea").count() == 1
    with pytest.raises(ValidationError):
        lead_update(lead=lead, changes={"name": "Changed"})
    assert AuditEntry.objects.filter(action="lead.convert", object_id=lead.pk).count() == 1


def test_a_person_lead_becomes_a_person_and_a_disqualified_one_is_not_converted(deals):
    person = lead_convert(lead=deals.bob_lead).customer
    assert person.name == "Li Lei" and person.kind == Customer.Kind.PERSON
    with pytest.raises(ValidationError):
        lead_disqualify(lead=deals.north_lead, reason="")
    lead_disqualify(lead=deals.north_lead, reason="No budget")
    with pytest.raises(ValidationError) as err:
        lead_convert(lead=deals.north_lead)
    assert err.value.code == "not_open"


@pytest.mark.django_db(transaction=True)
def test_two_conversions_at_once_make_one_customer(alice, north):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers (immediate transactions): see the sequential test above")
    lead = lead_create(name="Race Ltd buyer", company="Race Ltd", owner=alice, branch=north)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def convert() -> None:
        try:
            barrier.wait()
            lead_convert(lead=Lead.objects.get(pk=lead.pk))
            results.append("ok")
        except ValidationError as exc:
            results.append(str(exc.code))
        finally:
            connection.close()

    threads = [threading.Thread(target=convert) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["already_converted", "ok"]
    assert Customer.objects.filter(name="Race Ltd").count() == 1


def test_update_lead_fields_and_audit(deals):
    lead = lead_update(lead=deals.north_lead, changes={"company": "Min Co", "phone": "+86 138 0013 8000"})
    assert lead.phone == "+8613800138000"
    with pytest.raises(ValidationError):
        lead_update(lead=lead, changes={"status": "converted"})
    assert AuditEntry.objects.filter(action="lead.update", object_id=lead.pk).exists()


def test_a_lead_deal_closes_on_date(deals):
    deal = opportunity_update(opportunity=deals.bob_deal, changes={"expected_close": date(2030, 1, 2), "amount": "9.50"})
    deal.refresh_from_db()
    assert deal.expected_close == date(2030, 1, 2) and deal.amount == Decimal("9.50")
