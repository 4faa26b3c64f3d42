"""Cost-to-serve events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from patron.commerce.bulk import customers_recount
from patron.commerce.currency import (
    RateBook,
    rate_day,
    to_base,
)
from patron.commerce.models import CostEvent
from patron.core.models import base_currency
from patron.imports import fields as f
from patron.imports.kinds.base import RecordImporter
from patron.imports.run import (
    Row,
    ok,
)


class CostEventImporter(RecordImporter):
    kind = "cost_events"
    model = CostEvent
    one_of = (("external_id", "id"), ("customer_external_id", "customer_id"))
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.CUSTOMER_EXTERNAL_ID,
        f.CUSTOMER_ID,
        f.spec("kind", gettext_lazy("kind"), f.model_choice(CostEvent, "kind")),
        f.spec("amount", gettext_lazy("amount"), f.money(), money=True),
        f.spec("currency", gettext_lazy("currency"), f.currency),
        f.spec("occurred_at", gettext_lazy("occurred at"), f.moment),
        f.spec("note", gettext_lazy("note"), f.model_text(CostEvent, "note")),
    ]
    targets = {
        "kind": ("kind", ""),
        "amount": ("amount", Decimal(0)),
        "occurred_at": ("occurred_at", None),
        "note": ("note", ""),
    }

    def prepare(self, r: Row) -> None:
        self.money_currency(r, ["amount"], r.customer[1] if r.customer else None)
        super().prepare(r)

    def compare_fields(self) -> list[str]:
        return [*super().compare_fields(), "currency", "exchange_rate", "base_amount"]

    def _currency(self, r: Row, old: dict[str, Any] | None) -> str:
        if "currency" in r.desired:
            return str(r.desired["currency"])
        if old is not None:
            return str(old["currency"])  # no currency in the file: an update keeps the event's
        return str(r.extra.get("currency_default") or (r.customer[1] if r.customer else base_currency()))

    def check_existing(self, rows: list[Row], found: dict[Any, dict[str, Any]]) -> None:
        """Also convert each amount at the rate of its date: a row without a rate is an error."""
        super().check_existing(rows, found)
        live = ok(rows)
        book = RateBook((self._currency(r, found.get(r.key)), rate_day(r.desired["occurred_at"])) for r in live)
        for r in live:
            currency = self._currency(r, found.get(r.key))
            try:
                rate = book.rate(currency, rate_day(r.desired["occurred_at"]))
                r.desired["base_amount"] = to_base(r.desired["amount"], rate, currency)
            except ValidationError as exc:
                r.reject(" ".join(exc.messages))
                continue
            r.desired["exchange_rate"] = rate
            r.extra["currency"] = currency

    def create_values(self, r: Row) -> dict[str, Any]:
        values = super().create_values(r)
        values.setdefault("currency", r.extra["currency"])
        return values

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        affected = {r.desired["customer_id"] for r in creates + updates}
        affected |= {r.extra["old"]["customer_id"] for r in updates}
        customers_recount(affected, sender=CostEvent)
