"""Touchpoint events that start transactional surveys: a new order, cost event or interaction.

Connected in FeedbackConfig.ready to post_save of those models, so the commerce and engagement
services need not know about surveys. Runs inside the writer's transaction: the delayed
invitation task is stored with the order (or rolled back with it). Bulk loaders (the generator,
imports) use bulk_create, which sends no signal, so history loaded in bulk invites nobody.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from patron.commerce.models import CostEvent, Order
from patron.engagement.models import Interaction
from patron.feedback.models import FollowUpRule, Question, Survey, Trigger
from patron.feedback.selectors import surveys_changed
from patron.feedback.services.answers import rules_changed
from patron.feedback.triggers import triggers_fire


def order_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        _fire(Trigger.Event.ORDER, instance.channel, instance.customer_id, instance.branch_id, f"order:{instance.pk}")


def cost_event_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        _fire(Trigger.Event.COST_EVENT, instance.kind, instance.customer_id, None, f"cost:{instance.pk}")


def interaction_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        _fire(Trigger.Event.INTERACTION, instance.channel, instance.customer_id, None, f"interaction:{instance.pk}")


def _fire(event: str, match_value: str, customer_id: int, branch_id: int | None, source: str) -> None:
    triggers_fire(event=event, match_value=match_value, customer_id=customer_id, branch_id=branch_id, source=source)


def connect() -> None:
    post_save.connect(order_saved, sender=Order, dispatch_uid="feedback.order_saved")
    post_save.connect(cost_event_saved, sender=CostEvent, dispatch_uid="feedback.cost_event_saved")
    post_save.connect(interaction_saved, sender=Interaction, dispatch_uid="feedback.interaction_saved")

    post_save.connect(rules_changed, sender=FollowUpRule, dispatch_uid="feedback.rules_saved")
    post_delete.connect(rules_changed, sender=FollowUpRule, dispatch_uid="feedback.rules_deleted")

    for model in (Survey, Question):
        post_save.connect(surveys_changed, sender=model, dispatch_uid=f"feedback.{model.__name__}_saved")
        post_delete.connect(surveys_changed, sender=model, dispatch_uid=f"feedback.{model.__name__}_deleted")
