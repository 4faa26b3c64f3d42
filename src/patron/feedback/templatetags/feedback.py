"""Feedback pieces other apps' pages include: the rep's "detractors to call back" on the home page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from patron.feedback.selectors import my_follow_ups, my_open_reviews

register = template.Library()


@register.inclusion_tag("feedback/_my_callbacks.html", takes_context=True)
def my_callbacks(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {
        "follow_ups": my_follow_ups(user) if user.is_authenticated else [],
        "reviews": my_open_reviews(user, limit=5) if user.is_authenticated else [],
        "now": timezone.now(),
    }
