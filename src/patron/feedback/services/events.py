"""Outbound webhooks of feedback: the events and their payloads."""

from __future__ import annotations

import importlib
from typing import Any

from patron.feedback.models import FollowUp, Response


def _webhooks() -> Any:
    """``patron.ingest.webhooks`` (outbound webhooks) when that module is installed, else None."""
    try:
        return importlib.import_module("patron.ingest.webhooks")
    except ModuleNotFoundError as exc:
        if exc.name in {"patron.ingest.webhooks", "patron.ingest"}:
            return None
        raise


def emit(event: str, payload: dict[str, Any]) -> None:
    """Tell the outbound webhooks' ``emit`` of the event."""
    emit = getattr(_webhooks(), "emit", None)
    if callable(emit):
        emit(event, payload)


def listening(*events: str) -> bool:
    """Whether an outbound webhook subscribes to one of ``events``."""
    module = _webhooks()
    return module is not None and any(module.listening(e) for e in events)


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
