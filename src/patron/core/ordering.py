"""The sort of a list page: a named ordering, then the id, so pages never overlap or skip."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def ordered(
    qs: QuerySet[M], sorts: Mapping[str, tuple[Any, ...]], key: str, default: str
) -> QuerySet[M]:
    """``sorts[key]`` (``default`` for an unknown key), then the id in the key's direction."""
    chosen = key if key in sorts else default
    return qs.order_by(*sorts[chosen], "-id" if chosen.startswith("-") else "id")
