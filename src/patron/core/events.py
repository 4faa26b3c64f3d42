"""Events: a write says what happened without knowing who listens.

Producers (commerce, feedback, imports, ingest) ``publish`` an event with a JSON-ready payload;
apps that react (the outbound webhooks) ``subscribe`` to it in their ``AppConfig.ready()``::

    from patron.core import events
    events.publish("order.created", order_data(...))

Handlers run in the publisher's transaction, so what they record is written or rolled back with
the write it tells of; a handler that must act only on commit either says ``on_commit=True`` or
calls ``transaction.on_commit`` itself (the webhooks record their deliveries in the transaction
and send them after it commits). ``publish_many`` takes an iterable that is read only if a
subscriber is listening: an event nobody listens to costs nothing, not even its payloads.
``listening`` asks each subscriber's own ``listening`` predicate (webhooks keep the events with
an active subscription per process), so a producer can skip work no one would see.
Publishing an event that no app ever subscribed to raises ``UnknownEventError``: a misspelt name
fails loudly instead of dropping the event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction

Payload = Mapping[str, Any]
Handler = Callable[[str, Iterable[Payload]], object]


@dataclass(frozen=True)
class _Subscriber:
    handler: Handler
    listening: Callable[[str], bool] | None
    on_commit: bool

    def wants(self, event: str) -> bool:
        return self.listening is None or self.listening(event)


_subscribers: dict[str, list[_Subscriber]] = {}


class UnknownEventError(LookupError):
    """An event that no app subscribes to (a misspelt name, or its app is not installed)."""


def subscribe(
    event: str, handler: Handler, *, listening: Callable[[str], bool] | None = None, on_commit: bool = False
) -> None:
    """Call ``handler(event, payloads)`` for every publication of ``event``.

    ``listening(event)`` says whether the handler would do anything now (None: always). With
    ``on_commit`` the handler runs after the publisher's transaction commits, never if it rolls
    back. Subscribing the same handler twice (``ready()`` run again) keeps one subscription.
    """
    subscribers = _subscribers.setdefault(event, [])
    subscribers[:] = [s for s in subscribers if s.handler != handler]
    subscribers.append(_Subscriber(handler, listening, on_commit))


def unsubscribe(event: str, handler: Handler) -> None:
    _subscribers[event] = [s for s in _subscribers.get(event, []) if s.handler != handler]


def listening(event: str) -> bool:
    """Whether publishing ``event`` now would reach a handler that does something with it."""
    return any(s.wants(event) for s in _subscribers.get(event, ()))


def publish(event: str, payload: Payload) -> None:
    """Tell the subscribers of ``event``; see :func:`publish_many`."""
    publish_many(event, [payload])


def publish_many(event: str, payloads: Iterable[Payload]) -> None:
    """Tell the subscribers of ``event`` of each payload; ``payloads`` is read only if one listens."""
    if event not in _subscribers:
        raise UnknownEventError(f"no app subscribes to the event {event!r}")
    wanting = [s for s in _subscribers.get(event, ()) if s.wants(event)]
    if not wanting:
        return
    if len(wanting) > 1 or any(s.on_commit for s in wanting):
        payloads = list(payloads)  # read once, handed to every handler
    for subscriber in wanting:
        if subscriber.on_commit:
            transaction.on_commit(partial(subscriber.handler, event, payloads))
        else:
            subscriber.handler(event, payloads)
