"""The audit log's writes: who changed what and when (``AuditEntry``, append-only).

Services call ``audit_record`` for a change to one record and ``audit_bulk`` once per batch of a
bulk writer (imports, the API's batch ingestion, bulk actions of the customer list): one row per
batch, with counts and id ranges, keeps an import's cost flat.

Who acted comes from the context: ``AuditMiddleware`` names the signed-in user of a web or API
request (a token counts as its user), ``acting(...)`` names it elsewhere (an import job, the
worker), and the ``patron`` command line is the source ``cli`` by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from patron.core.models import AuditEntry, AuditSource


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str
    source: str


SYSTEM = Actor(None, "system", AuditSource.SYSTEM)
_default: list[Actor | None] = [None]
_current: ContextVar[Actor | Callable[[], Actor] | None] = ContextVar("patron_audit_actor", default=None)


def set_default_source(source: str, label: str | None = None) -> None:
    """The actor of writes made outside any request or ``acting`` block (``patron`` CLI, worker)."""
    _default[0] = Actor(None, label or source, source)


def actor_of(user: Any, *, source: str, label: str = "") -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(None, label or source, source)
    name = user.get_username()
    return Actor(user.pk, f"{name} ({label})" if label else name, source)


@contextmanager
def acting(user: Any = None, *, source: str, label: str = "") -> Iterator[Actor]:
    """Attribute the audit entries written inside the block to ``user`` (or to ``label``)."""
    actor = actor_of(user, source=source, label=label)
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def current_actor() -> Actor:
    value = _current.get()
    if value is None:
        if _default[0] is None:
            # The ``patron`` command line sets PATRON_AUDIT_SOURCE=cli before Django starts.
            source = settings.PATRON_AUDIT_SOURCE
            return Actor(None, source, source) if source in AuditSource.values else SYSTEM
        return _default[0]
    return value() if callable(value) else value


class AuditMiddleware:
    """Names the request's user as the actor; resolved when an entry is written, after the API's
    token authentication has run (``request.auth``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        def resolve() -> Actor:
            if request.path.startswith("/api/"):
                user = getattr(request, "auth", None) or getattr(request, "user", None)
                label = "API token" if getattr(request, "patron_token_auth", False) else ""
                return actor_of(user, source=AuditSource.API, label=label)
            return actor_of(getattr(request, "user", None), source=AuditSource.WEB)

        token = _current.set(resolve)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


def jsonable(value: Any) -> Any:
    """A field's value as the log keeps it: model instances by id, dates as ISO text."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of ``fields`` (foreign keys by id) before a change, for ``diff``."""
    out = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = jsonable(getattr(instance, attname, None))
    return out


def diff(before: Mapping[str, Any], instance: models.Model) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields of ``before`` that ``instance`` now holds differently."""
    after = snapshot(instance, before)
    return {k: [before[k], after[k]] for k in before if before[k] != after[k]}


def audit_record(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: int | None = None,
    customer_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEntry:
    """Append one entry; call it inside the transaction of the change it records."""
    actor = actor or current_actor()
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_id = object_id if object_id is not None else obj.pk
    return AuditEntry.objects.create(
        at=timezone.now(),
        actor_id=actor.user_id,
        actor_label=actor.label[:200],
        source=actor.source,
        action=action,
        object_type=object_type,
        object_id=object_id,
        customer_id=customer_id,
        changes=jsonable_dict(changes or {}),
    )


# Fields whose values say who someone is: the log records that they changed (set or emptied),
# never the values, so the append-only log holds nothing that erasure would have to remove.
# Free text (subjects, bodies, notes) may name people too.
PERSONAL = frozenset({"name", "email", "phone", "address", "city", "title", "first_name", "last_name",
                      "subject", "body", "notes"})
MASK = "(personal data)"


def _mask(value: Any) -> Any:
    return None if value in (None, "") else MASK


def jsonable_dict(changes: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in changes.items():
        if key in PERSONAL:
            value = [_mask(v) for v in value] if isinstance(value, list | tuple) else _mask(value)
        out[key] = jsonable(value)
    return out


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs: a batch's new rows, numbered in a row, are one pair."""
    out: list[list[int]] = []
    for pk in sorted(set(ids)):
        if out and pk == out[-1][1] + 1:
            out[-1][1] = pk
        else:
            out.append([pk, pk])
    return out


def audit_bulk(
    action: str,
    *,
    object_type: str,
    ids: Sequence[int] | None = None,
    count: int | None = None,
    details: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEntry:
    """One entry for a whole batch: how many records, their id ranges and ``details``."""
    changes: dict[str, Any] = {"count": count if count is not None else len(ids or ())}
    if ids is not None:
        changes["ids"] = id_ranges(ids)
    changes.update(details or {})
    return audit_record(action, object_type=object_type, changes=changes, actor=actor)


def ids_in(ranges: Iterable[Sequence[int]]) -> list[int]:
    """The ids an entry's ``ids`` ranges name."""
    return [pk for first, last in ranges for pk in range(first, last + 1)]


def sqlite_allow_purge(allowed: bool = True) -> None:
    """On SQLite, let DELETE empty the audit table (Django's flush, which a test database runs
    between tests, deletes where PostgreSQL truncates). Nothing in the product calls it."""
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_audit_purge")
        if allowed:
            cursor.execute("INSERT INTO core_audit_purge (allowed) VALUES (1)")
