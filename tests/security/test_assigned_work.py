"""The one deliberate exception to the visibility rule: a follow-up or a quarterly review stays
visible to the person it is assigned (or escalated) to, who must act on it, even where the
customer itself is not; the customer's own pages stay a 404 for them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from patron.feedback.models import FollowUp, Review
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from tests.factories import make_customer, make_user

pytestmark = pytest.mark.django_db


def test_an_escalated_follow_up_reaches_a_manager_who_does_not_see_the_customer(client, north, south):
    boss = make_user("boss", "manager", regions=[north.region])
    far = make_user("far", "rep", reports_to=boss)
    customer = make_customer("Far Away Ltd", owner=far, branch=south)  # outside boss's regions
    survey = survey_create(name="NPS", kind="nps")
    response = response_create(survey=survey, score=2, channel="api", customer=customer, comment="Slow")
    follow_up = FollowUp.objects.get(response=response)
    FollowUp.objects.filter(pk=follow_up.pk).update(escalated_to=boss, escalated_at=timezone.now())
    client.force_login(boss)
    assert client.get(f"/feedback/follow-ups/{follow_up.pk}/").status_code == 200
    assert client.post(f"/feedback/follow-ups/{follow_up.pk}/contact/", {"channel": "call"}).status_code == 302
    assert client.get(f"/customers/{customer.pk}/").status_code == 404
    assert "Far Away Ltd" not in client.get("/customers/?q=Far").content.decode()


def test_a_review_stays_with_its_owner_not_the_customer(client, alice, bob):
    customer = make_customer("Key Co", owner=bob, is_key_account=True)
    review = Review.objects.create(customer=customer, owner=alice, quarter="2099Q1", due_at=timezone.now() + timedelta(days=9))
    client.force_login(alice)
    assert client.get(f"/feedback/reviews/{review.pk}/").status_code == 200
    assert client.get(f"/customers/{customer.pk}/").status_code == 404
