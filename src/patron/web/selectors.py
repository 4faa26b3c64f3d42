"""Reads of the web app's own records (saved views)."""

from __future__ import annotations

from patron.core.models import User
from patron.web.models import SavedView

MAX_VIEWS_PER_LIST = 50


def saved_views_of(user: User, list_name: str) -> list[SavedView]:
    return list(
        SavedView.objects.filter(user=user, list_name=list_name).order_by("name", "id")[
            :MAX_VIEWS_PER_LIST
        ]
    )
