"""The sorts of a list: named orderings, then the id, so pages never overlap or skip.

A list's sort table maps each public key to its ordering, both directions spelled out (``key``
ascending, ``-key`` descending), and lives with the list's selectors. The page and the API read the
same table: the page with ``ordered`` (an unknown key falls back to the default, as a stale link
should), the API with ``core.apikit.sorted_by`` (an unknown key is a 422). ``both_ways`` writes
the two entries of a plain key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db.models import Expression, F, Model, QuerySet

M = TypeVar("M", bound=Model)
Sorts = Mapping[str, tuple[Any, ...]]


def both_ways(
    key: str, field: str | Expression | None = None, *then: Any, nulls_last: bool = False
) -> dict[str, tuple[Any, ...]]:
    """``key`` and ``-key`` ordering by ``field`` (a field path or an expression; default: the
    key), then by ``then``'s fixed tie-breakers. ``nulls_last`` for a nullable field: its empties
    last in both directions (only there, so PostgreSQL keeps using a plain index for the others)."""
    expression = field if isinstance(field, Expression) else F(field or key)
    extra = {"nulls_last": True} if nulls_last else {}
    return {key: (expression.asc(**extra), *then), f"-{key}": (expression.desc(**extra), *then)}


def sort_keys(sorts: Sorts) -> list[str]:
    """The keys a table offers, without their direction: what an error message lists."""
    return sorted({key.lstrip("-") for key in sorts})


def ordered(qs: QuerySet[M], sorts: Sorts, key: str, default: str) -> QuerySet[M]:
    """``sorts[key]`` (``default`` for an unknown key), then the id in the key's direction."""
    chosen = key if key in sorts else default
    return qs.order_by(*sorts[chosen], "-id" if chosen.startswith("-") else "id")
