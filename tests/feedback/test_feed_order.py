"""Feeds list the newest answers first by when they were given, not by when they were stored, and
polling still brings only answers stored since."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.feedback.models import Response
from patron.feedback.selectors import FeedFilters, feed
from patron.feedback.services.answers import response_create
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_an_older_answer_stored_later_comes_after_newer_ones(root, nps_survey):
    customer = make_customer("Ash")
    recent = response_create(survey=nps_survey, customer=customer, score=9, channel="api")
    history = response_create(survey=nps_survey, customer=customer, score=3, channel="api")
    Response.objects.filter(pk=history.pk).update(created_at=timezone.now() - timedelta(days=3 * 365))
    assert history.pk > recent.pk
    assert [r.pk for r in feed(root, FeedFilters())] == [recent.pk, history.pk]


def test_polling_after_the_page_brings_only_answers_stored_since(client, root, nps_survey):
    customer = make_customer("Birch")
    first = response_create(survey=nps_survey, customer=customer, score=9, channel="api")
    old = response_create(survey=nps_survey, customer=customer, score=2, channel="api")
    Response.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    client.force_login(root)
    page = client.get(reverse("feedback:feed")).content.decode()
    assert first.pk < old.pk
    assert f"after={old.pk}\"" in page  # the poll starts after the highest id stored, not the newest date
    new = response_create(survey=nps_survey, customer=customer, score=10, channel="api")
    polled = [r.pk for r in feed(root, FeedFilters(), after_id=old.pk)]
    assert polled == [new.pk]
