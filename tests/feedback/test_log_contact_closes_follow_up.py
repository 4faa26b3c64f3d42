"""Logging a call on a customer with an open detractor follow-up offers to count it as the
follow-up's first contact and to close the follow-up in the same form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patron.engagement.models import Interaction
from patron.feedback.models import FollowUp
from patron.feedback.services.answers import response_create
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def unhappy(alice, nps_survey):
    customer = make_customer("Angry Ltd", owner=alice)
    response_create(survey=nps_survey, customer=customer, score=2, channel="api")
    return FollowUp.objects.get(customer=customer)


def _log(client, case, **extra):
    data = {"channel": "call", "subject": "Called about the late delivery", "body": "Rebooked for Friday.", **extra}
    return client.post(reverse("customer-log-interaction", args=[case.customer_id]), data)


def test_the_form_offers_the_open_follow_up_preselected(client, alice, unhappy):
    client.force_login(alice)
    page = client.get(reverse("customer-detail", args=[unhappy.customer_id])).content.decode()
    form = page.split('action="' + reverse("customer-log-interaction", args=[unhappy.customer_id]))[1].split("</form>")[0]
    assert f'<option value="{unhappy.pk}" selected>' in form
    assert 'name="close"' in form and 'name="root_cause"' in form and 'name="outcome"' in form


def test_the_call_becomes_the_first_contact(client, alice, unhappy):
    client.force_login(alice)
    _log(client, unhappy, follow_up=str(unhappy.pk))
    unhappy.refresh_from_db()
    assert unhappy.first_contact_at is not None and unhappy.closed_at is None
    call = Interaction.objects.get(customer=unhappy.customer)
    assert (call.subject, call.body, call.channel) == ("Called about the late delivery", "Rebooked for Friday.", "call")


def test_the_call_closes_the_follow_up_with_its_cause_and_outcome(client, alice, unhappy):
    client.force_login(alice)
    _log(client, unhappy, follow_up=str(unhappy.pk), close="on", root_cause="delivery", outcome="resolved")
    unhappy.refresh_from_db()
    assert unhappy.closed_at is not None and unhappy.closed_by == alice
    assert (unhappy.root_cause, unhappy.outcome, unhappy.action_taken) == ("delivery", "resolved", "Rebooked for Friday.")


def test_closing_without_a_cause_saves_nothing(client, alice, unhappy):
    client.force_login(alice)
    response = _log(client, unhappy, follow_up=str(unhappy.pk), close="on", outcome="resolved")
    assert response.status_code == 302
    unhappy.refresh_from_db()
    assert unhappy.first_contact_at is None and unhappy.closed_at is None
    assert not Interaction.objects.filter(customer=unhappy.customer).exists()


def test_an_unrelated_call_leaves_the_follow_up_alone(client, alice, unhappy):
    client.force_login(alice)
    _log(client, unhappy, follow_up="")
    unhappy.refresh_from_db()
    assert unhappy.first_contact_at is None
    assert Interaction.objects.filter(customer=unhappy.customer).count() == 1


def test_a_follow_up_of_another_customer_cannot_be_named(client, alice, nps_survey, unhappy):
    other = make_customer("Other Ltd", owner=alice)
    client.force_login(alice)
    client.post(reverse("customer-log-interaction", args=[other.pk]),
                {"channel": "call", "subject": "Hello", "follow_up": str(unhappy.pk)})
    unhappy.refresh_from_db()
    assert unhappy.first_contact_at is None  # not among the other customer's follow-ups: ignored
