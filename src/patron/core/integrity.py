"""Rows that break the database's rules: found, reported, refused before a rule is added.

The rules themselves are constraints on the models (CHECK, UNIQUE, FOREIGN KEY), so every path
that writes — forms, the API, imports, the generator, the scoring run's bulk writers — is held
to them by the database. This module finds existing rows that break them:

* a migration that adds constraints first calls :func:`refuse_rows_breaking`: if rows already
  break a new rule, the migration stops before changing anything and says which rows, instead
  of failing half-way with the database's own message (or, on SQLite, a table rebuild error);
* ``patron integrity`` (:func:`breaches` over every model) lists them, before an upgrade on a
  copy of the database (docs/upgrade.md) or at any time.

Works on historical models (``apps.get_model`` in a migration) and on current ones alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models
from django.db.models import Count

SHOWN_IDS = 5


@dataclass(frozen=True)
class Breach:
    """``count`` rows of ``model`` ("app.Model") break ``rule``; ``ids`` are the first few."""

    model: str
    rule: str
    count: int
    ids: tuple[Any, ...]

    def __str__(self) -> str:
        rows = "1 row" if self.count == 1 else f"{self.count} rows"
        more = ", …" if self.count > len(self.ids) else ""
        return f"{self.model} {self.rule}: {rows} (id {', '.join(map(str, self.ids))}{more})"


class BadRowsError(IntegrityError):
    """Existing rows break rules a migration is about to add; the migration changed nothing."""

    def __init__(self, migration: str, found: Sequence[Breach]) -> None:
        total = sum(b.count for b in found)
        super().__init__(
            f"migration {migration} stopped before changing anything: "
            f"{'1 existing row breaks' if total == 1 else f'{total} existing rows break'} rules it adds: "
            f"{'; '.join(map(str, found))}. "
            "Fix or delete them (`patron integrity` lists them all), then run `patron migrate` "
            "again; see docs/upgrade.md."
        )
        self.found = list(found)


def _label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.object_name}"


def _breach(model: type[models.Model], rule: str, rows: models.QuerySet) -> Breach | None:
    count = rows.count()
    if not count:
        return None
    ids = tuple(rows.order_by("pk").values_list("pk", flat=True)[:SHOWN_IDS])
    return Breach(_label(model), rule, count, ids)


def constraint_breach(model: type[models.Model], constraint: models.BaseConstraint, using: str) -> Breach | None:
    """The rows of ``model`` that ``constraint`` would refuse (None if none, or if the kind of
    constraint cannot be checked this way)."""
    manager = model._base_manager.using(using)
    if isinstance(constraint, models.CheckConstraint):
        # The rules state their NULL cases explicitly (``x IS NULL OR …``), so excluding the
        # condition finds exactly the rows the database's CHECK refuses.
        return _breach(model, constraint.name, manager.exclude(constraint.condition))
    if isinstance(constraint, models.UniqueConstraint) and constraint.fields and constraint.condition is None:
        fields = list(constraint.fields)
        groups = manager.values(*fields).order_by().annotate(n=Count("pk")).filter(n__gt=1)
        keys = list(groups.values_list(*fields)[:1000])
        if not keys:
            return None
        match = models.Q()
        for key in keys:
            match |= models.Q(**dict(zip(fields, key, strict=True)))
        return _breach(model, constraint.name, manager.filter(match))
    return None


def orphan_breach(model: type[models.Model], field: models.ForeignKey, using: str) -> Breach | None:
    """Rows whose ``field`` points to no row (a foreign key the database did not enforce)."""
    target = field.related_model
    assert isinstance(target, type)
    column = field.attname
    rows = (
        model._base_manager.using(using)
        .exclude(**{f"{column}__isnull": True})
        .exclude(**{f"{column}__in": target._base_manager.using(using).values(field.target_field.attname)})
    )
    return _breach(model, f"{model._meta.db_table}.{field.column} → {target._meta.db_table}", rows)


def breaches(model_list: Iterable[type[models.Model]], using: str) -> list[Breach]:
    """Every row of these models that breaks one of their constraints or foreign keys."""
    found: list[Breach] = []
    for model in model_list:
        if model._meta.abstract or model._meta.proxy or not model._meta.managed:
            continue
        for constraint in model._meta.constraints:
            if breach := constraint_breach(model, constraint, using):
                found.append(breach)
        for field in model._meta.concrete_fields:
            # db_constraint: False where a model keeps an id on purpose without a foreign key.
            if not isinstance(field, models.ForeignKey) or not getattr(field, "db_constraint", True):
                continue
            if breach := orphan_breach(model, field, using):
                found.append(breach)
    return found


Rules = Sequence[tuple[str, models.BaseConstraint]]


def refuse_rows_breaking(migration: str, rules: Rules) -> Callable[[Any, Any], None]:
    """A ``RunPython`` step for the start of a migration that adds ``rules`` ((model name,
    constraint) pairs of the migration's app, ``migration`` is "app.0005_name"): raises
    :class:`BadRowsError` naming the rows that break them, before anything is changed."""
    app_label = migration.split(".", 1)[0]

    def check(apps: Any, schema_editor: Any) -> None:
        using = schema_editor.connection.alias
        found = [
            breach
            for model_name, constraint in rules
            if (breach := constraint_breach(apps.get_model(app_label, model_name), constraint, using))
        ]
        if found:
            raise BadRowsError(migration, found)

    return check
