"""Touchpoint events (an order, a visit, a cost event): the triggers that match schedule an
invitation after their delay."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone

from patron.feedback.jobs import trigger_invite
from patron.feedback.models import Trigger


def triggers_fire(
    *,
    event: str,
    match_value: str,
    customer_id: int,
    branch_id: int | None = None,
    source: str = "",
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> list[int]:
    """A touchpoint event happened: for each matching trigger the event is sampled in (at the
    trigger's rate) and an invitation is scheduled after the trigger's delay. Returns the
    trigger ids that were scheduled."""
    rng = rng or random.Random()
    now = now or timezone.now()
    scheduled: list[int] = []
    candidates = Trigger.objects.filter(event=event, is_active=True, survey__is_active=True).only(
        "id", "match", "sampling_rate", "delay_hours"
    )
    for trigger in candidates:
        if trigger.match and trigger.match != match_value:
            continue
        if rng.random() >= float(trigger.sampling_rate):
            continue
        trigger_invite.using(run_after=now + timedelta(hours=trigger.delay_hours)).enqueue(
            trigger.pk, customer_id, branch_id, source
        )
        scheduled.append(trigger.pk)
    return scheduled
