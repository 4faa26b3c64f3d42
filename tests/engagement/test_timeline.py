"""The merged customer timeline: every kind of record, newest first, paginated, by channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patron.commerce.services import cost_event_create
from patron.customers.timeline import customer_timeline, sources
from patron.engagement.services import interaction_create, task_create
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(alice):
    customer = make_customer("Timeline Ltd", owner=alice)
    now = timezone.now()
    make_order(customer, at=now - timedelta(days=5), channel="store", external_id="o-store")
    make_order(customer, at=now - timedelta(days=3), channel="web", external_id="o-web")
    interaction_create(customer=customer, channel="call", subject="Called about delivery", occurred_at=now - timedelta(days=4))
    interaction_create(customer=customer, channel="complaint", subject="Late parcel", occurred_at=now - timedelta(days=1))
    cost_event_create(customer=customer, kind="return", amount=20, occurred_at=now - timedelta(days=2))
    task_create(customer=customer, title="Call back")  # created now: newest
    return customer


def test_merged_newest_first(history):
    page = customer_timeline(history)
    assert [e.kind for e in page.entries] == ["task", "interaction", "cost", "order", "interaction", "order"]
    assert [e.title for e in page.entries][:2] == ["Call back", "Late parcel"]
    times = [e.at for e in page.entries]
    assert times == sorted(times, reverse=True)
    assert not page.has_next


def test_pagination_walks_every_entry_once(history):
    seen = []
    page_no = 1
    while True:
        page = customer_timeline(history, page=page_no, page_size=4)
        seen += [(e.kind, e.pk) for e in page.entries]
        if not page.has_next:
            break
        page_no += 1
    assert page_no == 2
    assert len(seen) == len(set(seen)) == 6


def test_channel_filter_keeps_only_that_channel(history):
    page = customer_timeline(history, channel="web")
    assert [(e.kind, e.channel) for e in page.entries] == [("order", "web")]
    page = customer_timeline(history, channel="complaint")
    assert [e.title for e in page.entries] == ["Late parcel"]


def test_other_customers_records_stay_out(history):
    other = make_customer("Other")
    make_order(other)
    assert len(customer_timeline(history).entries) == 6
    assert [e.kind for e in customer_timeline(other).entries] == ["order"]


def test_query_count_does_not_grow_with_history(history):
    with CaptureQueriesContext(connection) as small:
        customer_timeline(history)
    for _ in range(30):
        make_order(history)
        interaction_create(customer=history, channel="email", subject="x")
    with CaptureQueriesContext(connection) as large:
        customer_timeline(history)
    # One union query, then one per kind of record on the page, whatever the history's size.
    bound = 1 + len(sources())
    assert len(small.captured_queries) <= bound
    assert len(large.captured_queries) <= bound
