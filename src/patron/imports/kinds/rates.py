"""Exchange rates: one row per (currency, date), upserted on that pair."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.commerce.currency import (
    RateInput,
    check_rate,
    rates_save,
)
from patron.commerce.models import ExchangeRate
from patron.core.models import User, base_currency
from patron.core.roles import is_admin
from patron.imports import fields as f
from patron.imports.kinds.base import Importer
from patron.imports.run import (
    Row,
    ok,
)


class RateImporter(Importer):
    kind = "rates"
    model = ExchangeRate
    one_of = ()
    specs = [
        f.spec("currency", gettext_lazy("currency"), f.currency),
        f.spec("date", gettext_lazy("date"), f.day),
        f.spec("rate", gettext_lazy("rate (units of the base currency for one unit)"), f.rate),
        f.spec("source", gettext_lazy("source"), f.model_text(ExchangeRate, "source")),
    ]

    @classmethod
    def permitted(cls, user: User | None) -> bool:
        """Rates change everyone's money: administrators only."""
        if user is None or user.is_superuser:
            return True
        return user.is_active and is_admin(user)

    def process(self, rows: list[Row]) -> None:
        base = base_currency()
        batch: dict[Any, int] = {}
        live: list[Row] = []
        for r in ok(rows):
            item = RateInput(r.values["currency"], r.values["date"], r.values["rate"], r.values.get("source") or "")
            key = (item.currency, item.date)
            first = self.run.seen.get((self.kind, key)) or batch.get(key)
            if first is not None:
                r.reject(
                    _("%(currency)s on %(date)s already appears on line %(line)s.")
                    % {"currency": item.currency, "date": item.date.isoformat(), "line": first}
                )
                continue
            try:
                check_rate(item, base)
            except ValidationError as exc:
                r.reject(" ".join(exc.messages))
                continue
            batch[key] = r.line
            r.extra["rate"] = item
            live.append(r)
        # Orders and cost events that waited for these rates are converted with the batch.
        results = rates_save(rates=[r.extra["rate"] for r in live])
        for r, result in zip(live, results, strict=True):
            r.status = result.status
            self.run.seen[(self.kind, (result.rate.currency, result.rate.date))] = r.line
