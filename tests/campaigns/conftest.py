"""Customers with scores, tags, totals and NPS answers, to check each key of a segment's filter."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from patron.customers.models import Customer
from patron.insights.models import CurrentScore
from tests.api.conftest import as_alice, as_mia, as_nora, as_root  # noqa: F401  (the API's fixture clients)
from tests.factories import make_user


@pytest.fixture(autouse=True)
def fresh_cache():
    """The book's channel prior is cached per process (campaigns.channels); each test its own."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def scored(customer: Customer, **fields: Any) -> Customer:
    CurrentScore.objects.create(customer=customer, updated_at=timezone.now(), **fields)
    return customer


def with_totals(customer: Customer, *, orders: int = 0, profit: str = "0", last_order: datetime | None = None) -> Customer:
    """The running totals the commerce services keep, set as they would stand after the orders."""
    Customer.objects.filter(pk=customer.pk).update(
        order_count=orders,
        profit_total=Decimal(profit),
        revenue_total=max(Decimal(profit), Decimal(0)),
        first_order_at=last_order,
        last_order_at=last_order,
    )
    customer.refresh_from_db()
    return customer


@pytest.fixture
def maya(db):
    return make_user("maya", "marketer")


@pytest.fixture
def carl(db):
    return make_user("carl", "cx")


@pytest.fixture
def nps_survey(db):
    from patron.feedback.services.surveys import survey_create

    return survey_create(name="Relationship NPS", kind="nps")


def answer(survey, customer: Customer, score: int, *, days_ago: int) -> None:
    from patron.feedback.services.answers import response_create

    response_create(
        survey=survey, score=score, channel="api", customer=customer,
        created_at=timezone.now() - timedelta(days=days_ago),
    )
