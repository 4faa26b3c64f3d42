"""One timeline per customer, merged across every kind of record, newest first.

Each kind of record registers a ``TimelineSource``; the timeline is one UNION ALL query over
the sources' (kind, id, time, channel) rows, sorted and sliced in the database, followed by one
query per kind present on the page to load the rows shown. The query count is bounded by the
number of sources, whatever the customer's history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import CharField, F, Value

from patron.customers.models import Customer


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # the source's code: "order", "interaction", ...
    pk: int
    at: datetime
    channel: str
    title: str
    detail: str = ""
    amount: Any = None
    currency: str = ""
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimelineSource:
    kind: str
    model: type[models.Model]
    time_field: str
    channel_field: str | None
    # Turns the loaded records into entries; receives a queryset filtered to the page's ids.
    describe: Callable[[models.QuerySet], Iterable[TimelineEntry]]
    select_related: tuple[str, ...] = ()


_SOURCES: dict[str, TimelineSource] = {}


def register(source: TimelineSource) -> None:
    _SOURCES[source.kind] = source


def sources() -> list[TimelineSource]:
    return list(_SOURCES.values())


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    page: int
    has_next: bool
    channel: str | None
    kinds: tuple[str, ...]

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def customer_timeline(
    customer: Customer | int,
    *,
    channel: str | None = None,
    kinds: Iterable[str] | None = None,
    page: int = 1,
    page_size: int = 25,
) -> TimelinePage:
    """A page of the customer's merged history. ``channel`` keeps only records on that channel."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    wanted = tuple(k for k in (kinds or _SOURCES) if k in _SOURCES)
    page = max(1, int(page))
    parts = []
    for kind in wanted:
        source = _SOURCES[kind]
        qs = source.model._default_manager.filter(customer_id=customer_id)  # type: ignore[attr-defined]
        if channel:
            if source.channel_field is None:
                continue
            qs = qs.filter(**{source.channel_field: channel})
        channel_expr = F(source.channel_field) if source.channel_field else Value("", output_field=CharField())
        parts.append(
            qs.order_by()
            .annotate(
                tl_kind=Value(kind, output_field=CharField()),
                tl_at=F(source.time_field),
                tl_channel=channel_expr,
            )
            .values_list("tl_kind", "pk", "tl_at", "tl_channel")
        )
    if not parts:
        return TimelinePage([], page, False, channel, wanted)
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    offset = (page - 1) * page_size
    rows = list(union.order_by("-tl_at", "-pk")[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    rows = rows[:page_size]

    by_kind: dict[str, list[int]] = {}
    for kind, pk, _at, _channel in rows:
        by_kind.setdefault(kind, []).append(pk)
    loaded: dict[tuple[str, int], TimelineEntry] = {}
    for kind, ids in by_kind.items():
        source = _SOURCES[kind]
        qs = source.model._default_manager.filter(pk__in=ids)  # type: ignore[attr-defined]
        if source.select_related:
            qs = qs.select_related(*source.select_related)
        for entry in source.describe(qs):
            loaded[(kind, entry.pk)] = entry
    entries = [loaded[(kind, pk)] for kind, pk, _at, _ch in rows if (kind, pk) in loaded]
    return TimelinePage(entries, page, has_next, channel, wanted)
