"""The timeline sources of the commerce records: orders and cost events."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from patron.commerce.models import CostEvent, Order
from patron.core.models import base_currency
from patron.customers.timeline import TimelineEntry, TimelineSource, register


def _original(amount: Decimal, currency: str, base: str) -> dict[str, Any]:
    return {"original_amount": amount, "original_currency": currency} if currency != base else {}


def _orders(qs: QuerySet[Order]) -> Iterable[TimelineEntry]:
    base = base_currency()
    for order in qs.annotate(n_lines=Count("lines")):
        yield TimelineEntry(
            kind="order",
            pk=order.pk,
            at=order.ordered_at,
            channel=order.channel,
            title=_("Order %(ref)s") % {"ref": order.external_id or f"#{order.pk}"},
            detail=ngettext("%(n)d line", "%(n)d lines", order.n_lines) % {"n": order.n_lines},  # type: ignore[attr-defined]
            # In the base currency, as the totals; the original amount beside it when it differs.
            amount=order.base_revenue if order.converted else None,
            currency=base,
            extra={"channel_label": order.get_channel_display(), "margin": order.margin, **_original(
                order.revenue, order.currency, base)},
        )


def _cost_events(qs: QuerySet[CostEvent]) -> Iterable[TimelineEntry]:
    base = base_currency()
    for event in qs:
        yield TimelineEntry(
            kind="cost",
            pk=event.pk,
            at=event.occurred_at,
            channel="",
            title=str(event.get_kind_display()),
            detail=event.note,
            amount=-event.base_amount if event.converted else None,
            currency=base,
            extra=_original(-event.amount, event.currency, base),
        )


def register_commerce_sources() -> None:
    register(TimelineSource("order", Order, "ordered_at", "channel", _orders))
    register(TimelineSource("cost", CostEvent, "occurred_at", None, _cost_events))
