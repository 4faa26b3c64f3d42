"""Outbound webhooks of feedback: the events and their payloads."""

from __future__ import annotations

from typing import Any

from patron.core import events
from patron.feedback.models import FollowUp, Response


def emit(event: str, payload: dict[str, Any]) -> None:
    """Publish the event; the outbound webhooks subscribe to it."""
    events.publish(event, payload)


def listening(*names: str) -> bool:
    """Whether anyone (an outbound webhook) listens to one of ``names``."""
    return any(events.listening(e) for e in names)


def response_payload(response: Response) -> dict[str, Any]:
    return {
        "id": response.pk,
        "survey": response.survey_id,
        "customer": response.customer_id,
        "score": response.score,
        "score_class": response.score_class,
        "comment": response.comment,
        "channel": response.channel,
        "touchpoint": response.touchpoint,
        "branch": response.branch_id,
        "language": response.language,
        "created_at": response.created_at.isoformat(),
    }


def follow_up_payload(follow_up: FollowUp) -> dict[str, Any]:
    return {
        "id": follow_up.pk,
        "customer": follow_up.customer_id,
        "response": follow_up.response_id,
        "owner": follow_up.owner_id,
        "reason": follow_up.reason,
        "opened_at": follow_up.opened_at.isoformat(),
        "due_at": follow_up.due_at.isoformat(),
        "escalated_to": follow_up.escalated_to_id,
    }
