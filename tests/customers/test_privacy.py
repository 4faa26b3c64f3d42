"""Privacy: the export holds everything about a person, erasure removes who they are and what they
wrote but keeps every figure, both are audit-logged, and consent is honoured on every channel."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum
from django.utils import timezone

from patron.analytics.nps import nps_from_counts
from patron.commerce.models import Order
from patron.commerce.services import cost_event_create
from patron.core.models import AuditEntry
from patron.customers import consent
from patron.customers.models import Customer
from patron.customers.privacy import privacy_erase, privacy_export
from patron.customers.services import contact_create, customer_update
from patron.engagement.services import interaction_create
from patron.feedback.contact_policy import contact_decisions
from patron.feedback.models import ContactPurpose, FollowUp, Invitation, Response
from patron.feedback.services.answers import response_create
from patron.feedback.services.follow_ups import follow_up_close
from patron.feedback.services.invitations import invitations_create
from patron.feedback.services.surveys import survey_create
from tests.api.conftest import client_for
from tests.factories import make_customer, make_order
from tests.feedback.conftest import run_worker, smtp  # noqa: F401  (smtp: the loopback mail server fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(alice):
    customer = make_customer(
        "Zhang Wei", owner=alice, email="zw@example.com", phone="13800138000", consent_email=True, consent_survey=True,
    )
    customer_update(customer=customer, changes={"city": "Suzhou", "address": "1 Garden Road"}, tags=["vip"])
    contact_create(customer=customer, name="Wang Fang", email="wf@example.com", phone="13900139000")
    make_order(customer, quantity=3)
    make_order(customer, quantity=1)
    cost_event_create(customer=customer, kind="ticket", amount=Decimal("12.50"), occurred_at=timezone.now(), note="Called about Zhang's parcel")
    interaction_create(customer=customer, channel="call", subject="Zhang called", body="Lives at 1 Garden Road", occurred_at=timezone.now())
    survey = survey_create(name="NPS", kind="nps")
    response_create(survey=survey, score=3, channel="web", customer=customer, comment="Zhang Wei here: the parcel was late")
    response_create(survey=survey, score=10, channel="web", customer=make_customer("Other", owner=alice), comment="Great")
    return customer


def _figures() -> dict:
    totals = Customer.objects.aggregate(
        revenue=Sum("revenue_total"), cogs=Sum("cogs_total"), serve=Sum("cost_to_serve_total"),
        profit=Sum("profit_total"), orders=Sum("order_count"),
    )
    orders = Order.objects.aggregate(n=Count("id"), revenue=Sum("base_revenue"))
    classes = dict(Response.objects.values_list("score_class").annotate(n=Count("id")))
    nps = nps_from_counts(classes.get("promoter", 0), classes.get("passive", 0), classes.get("detractor", 0))
    return {**totals, **orders, "nps": nps, "scores": sorted(Response.objects.values_list("score", flat=True))}


def test_export_holds_everything_about_the_person(person, root):
    data = privacy_export(person.pk)
    assert data["customer"]["email"] == "zw@example.com" and data["customer"]["address"] == "1 Garden Road"
    assert data["tags"] == ["vip"]
    assert [c["name"] for c in data["contacts"]] == ["Wang Fang"]
    assert len(data["orders"]) == 2 and sorted(len(o["lines"]) for o in data["orders"]) == [1, 1]
    assert data["cost_events"][0]["note"] == "Called about Zhang's parcel"
    assert data["interactions"][0]["body"] == "Lives at 1 Garden Road"
    assert [r["comment"] for r in data["survey_responses"]] == ["Zhang Wei here: the parcel was late"]
    assert {e["action"] for e in data["audit"]} >= {"customer.create", "customer.update", "contact.create"}
    json.dumps(data)  # JSON as it is
    [entry] = AuditEntry.objects.filter(action="privacy.export")
    assert entry.customer_id == person.pk


def test_erase_removes_the_person_and_keeps_every_figure(person):
    before = _figures()
    privacy_erase(person.pk)
    assert _figures() == before
    person.refresh_from_db()
    assert person.erased_at is not None and not person.consent_email and not person.consent_survey
    assert (person.email, person.phone, person.city, person.address) == ("", "", "", "")
    assert person.revenue_total > 0 and person.order_count == 2
    text = json.dumps(privacy_export(person.pk), ensure_ascii=False)
    for personal in ("Zhang", "zw@example.com", "13800138000", "Garden Road", "Wang Fang", "wf@example.com", "parcel"):
        assert personal not in text, personal
    # The audit log (append-only) never held the values in the first place.
    logged = json.dumps(list(AuditEntry.objects.values_list("changes", flat=True)), ensure_ascii=False)
    assert "Zhang" not in logged and "zw@example.com" not in logged and "Garden" not in logged
    [entry] = AuditEntry.objects.filter(action="privacy.erase")
    assert entry.customer_id == person.pk and entry.changes["records"]["customers.Contact"] == 1
    privacy_erase(person.pk)  # again: nothing breaks, erased_at stays
    assert Customer.objects.get(pk=person.pk).erased_at == person.erased_at


def test_command_line(person, capsys):
    call_command("privacy", "export", str(person.pk))
    assert json.loads(capsys.readouterr().out)["customer"]["id"] == person.pk
    with pytest.raises(CommandError, match="--yes") as refused:
        call_command("privacy", "erase", str(person.pk))
    assert refused.value.returncode == 2 and "\n" not in str(refused.value)
    assert Customer.objects.get(pk=person.pk).erased_at is None
    for args in (["export", "999999"], ["erase", "999999", "--yes"], ["export", "abc"]):
        with pytest.raises(CommandError) as unknown:
            call_command("privacy", *args)
        assert unknown.value.returncode == 2 and "\n" not in str(unknown.value)
    call_command("privacy", "erase", str(person.pk), "--yes")
    assert Customer.objects.get(pk=person.pk).erased_at is not None
    assert AuditEntry.objects.get(action="privacy.erase").source in {"cli", "system"}


def test_api_is_for_administrators(person, alice, root):
    assert client_for(alice).get(f"/customers/{person.pk}/privacy-export").status_code == 403
    assert client_for(alice).post(f"/customers/{person.pk}/privacy-erase").status_code == 403
    api = client_for(root)
    assert api.get("/customers/999999/privacy-export").status_code == 404
    exported = api.get(f"/customers/{person.pk}/privacy-export")
    assert exported.status_code == 200 and exported.json()["customer"]["email"] == "zw@example.com"
    erased = api.post(f"/customers/{person.pk}/privacy-erase")
    assert erased.status_code == 200 and erased.json()["id"] == person.pk and erased.json()["erased_at"]
    actions = list(AuditEntry.objects.filter(customer_id=person.pk, source="api").values_list("action", "actor_id"))
    assert ("privacy.export", root.pk) in actions and ("privacy.erase", root.pk) in actions


# ---------------------------------------------------------------- consent on every channel


def test_one_predicate(alice):
    yes = make_customer("Yes", owner=alice, email="y@example.com", consent_email=True, consent_survey=True)
    assert consent.may_contact(yes, "email", purpose=consent.SURVEY)
    assert consent.may_contact(yes, "email", purpose=consent.CAMPAIGN)
    no_survey = make_customer("No survey", owner=alice, email="n@example.com", consent_email=True)
    assert consent.refusal(no_survey, "email", purpose=consent.SURVEY) == consent.NO_CONSENT
    assert consent.refusal(no_survey, "sms", purpose=consent.SURVEY) == consent.NO_CONSENT
    no_email = make_customer("No email", owner=alice, consent_survey=True, consent_email=True)
    assert consent.refusal(no_email, "email", purpose=consent.SURVEY) == consent.NO_EMAIL
    only_survey = make_customer("Only survey", owner=alice, email="o@example.com", consent_survey=True)
    assert consent.refusal(only_survey, "email", purpose=consent.CAMPAIGN) == consent.NO_CONSENT
    assert consent.may_contact(only_survey, "email", purpose=consent.FEEDBACK_REPLY)
    privacy_erase(yes.pk)
    yes.refresh_from_db()
    yes.consent_email = yes.consent_survey = True  # even if flags were set again
    yes.email = "y@example.com"
    assert consent.refusal(yes, "email", purpose=consent.SURVEY) == consent.ERASED
    decisions = contact_decisions([yes, only_survey], channel="email", purpose=ContactPurpose.SURVEY)
    assert decisions[yes.pk].reason == consent.ERASED and decisions[only_survey.pk].allowed


def test_invitation_queued_then_consent_withdrawn_is_not_sent(smtp, alice, settings):  # noqa: F811
    settings.PATRON_BASE_URL = "https://crm.example.com"
    survey = survey_create(name="NPS", kind="nps")
    keeps = make_customer("Keeps", owner=alice, email="k@example.com", consent_survey=True)
    withdraws = make_customer("Withdraws", owner=alice, email="w@example.com", consent_survey=True)
    erased = make_customer("Erased", owner=alice, email="e@example.com", consent_survey=True)
    batch = invitations_create(survey=survey, customers=[keeps, withdraws, erased])
    assert len(batch.queued) == 3
    customer_update(customer=withdraws, changes={"consent_survey": False})
    privacy_erase(erased.pk)
    run_worker()
    assert [m["To"] for m in smtp.messages] == ["k@example.com"]
    refused = Invitation.objects.filter(customer__in=[withdraws, erased]).order_by("customer_id")
    assert [i.send_error for i in refused] == ["not sent: no_consent", "not sent: erased"]
    assert not refused.filter(sent_at__isnull=False).exists()


def test_feedback_reply_needs_consent(smtp, alice, settings):  # noqa: F811
    settings.PATRON_BASE_URL = "https://crm.example.com"
    survey = survey_create(name="NPS", kind="nps")
    silent = make_customer("Silent", owner=alice, email="s@example.com")
    response_create(survey=survey, score=2, channel="web", customer=silent, comment="Bad")
    follow_up = FollowUp.objects.get(customer=silent)
    follow_up_close(
        follow_up=follow_up, user=alice, root_cause="delivery", action_taken="Changed courier", outcome="resolved",
        notify_customer=True, customer_message="We changed the courier.",
    )
    run_worker()
    assert smtp.messages == []
    follow_up.refresh_from_db()
    assert follow_up.customer_notified_at is None


def test_withdrawing_consent_through_the_unsubscribe_link_is_logged(alice):
    from patron.feedback.contact_policy import contact_opt_out

    customer = make_customer("Leaving", owner=alice, email="l@example.com", consent_email=True, consent_survey=True)
    contact_opt_out(customer=customer, all_email=True)
    customer.refresh_from_db()
    assert not customer.consent_email and not customer.consent_survey
    [entry] = AuditEntry.objects.filter(action="customer.consent")
    assert entry.actor_label == "unsubscribe link" and entry.customer_id == customer.pk
    assert entry.changes == {"consent_survey": [True, False], "consent_email": [True, False]}
