"""core.events: publishers reach subscribers they do not name, lazily and on commit when asked."""

from __future__ import annotations

import pytest
from django.db import transaction

from patron.core import events


@pytest.fixture
def heard():
    got: list[tuple[str, list[dict]]] = []

    def handler(event, payloads):
        got.append((event, list(payloads)))

    yield got, handler
    events.unsubscribe("test.happened", handler)


def test_a_published_event_reaches_its_subscriber_once(heard):
    got, handler = heard
    events.subscribe("test.happened", handler)
    events.subscribe("test.happened", handler)  # ready() run twice keeps one subscription
    events.publish("test.happened", {"id": 1})
    assert got == [("test.happened", [{"id": 1}])]


def test_an_event_no_app_subscribes_to_is_refused():
    with pytest.raises(events.UnknownEventError, match=r"test\.misspelt"):
        events.publish("test.misspelt", {"id": 2})


def test_payloads_are_not_read_when_nobody_listens(heard):
    got, handler = heard
    listening = {"now": False}
    events.subscribe("test.happened", handler, listening=lambda event: listening["now"])

    def payloads():
        raise AssertionError("read although nobody listens")
        yield {}

    assert not events.listening("test.happened")
    events.publish_many("test.happened", payloads())
    listening["now"] = True
    assert events.listening("test.happened")
    events.publish_many("test.happened", iter([{"id": 1}, {"id": 2}]))
    assert got == [("test.happened", [{"id": 1}, {"id": 2}])]


@pytest.mark.django_db(transaction=True)
def test_an_on_commit_subscriber_hears_only_committed_writes(heard):
    got, handler = heard
    events.subscribe("test.happened", handler, on_commit=True)
    with transaction.atomic():
        events.publish("test.happened", {"id": 1})
        assert got == []
    assert got == [("test.happened", [{"id": 1}])]
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish("test.happened", {"id": 2})
        raise RuntimeError("rolled back")
    assert got == [("test.happened", [{"id": 1}])]
