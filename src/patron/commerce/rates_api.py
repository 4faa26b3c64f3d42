"""REST endpoints for exchange rates to the base currency.

Everyone who may sign in reads rates (they are not customer data); administrators write them.
``POST /rates`` takes one rate or a list and is idempotent on (currency, date): sending the same
rates again changes nothing; a new rate for a day replaces the old one. Orders and cost events
that were waiting for a rate of those currencies are converted at once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Body, Field, Query, Router, Schema

from patron.commerce.currency import RateInput, check_base_currency, rates_save
from patron.commerce.models import ExchangeRate
from patron.commerce.schemas import RateIn, RateOut, RatesSaved, rate_data
from patron.core.apikit import (
    ApiError,
    Currency,
    ErrorOut,
    ListParams,
    Page,
    csv_list,
    paginate,
    require_admin,
)
from patron.core.roles import user_of

router = Router()

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
MAX_RATES = 5000


class RateFilters(Schema):
    currency: Currency | None = None
    date_from: date | None = Field(None, description="On or after this day.")
    date_to: date | None = Field(None, description="On or before this day.")


@router.get("/rates", response={200: Page[RateOut], **ERRORS}, summary="List exchange rates", tags=["rates"])
def list_rates(request: HttpRequest, filters: Query[RateFilters], params: Query[ListParams]):
    """Rates to the base currency, newest day first; `format=csv` streams them all."""
    qs = ExchangeRate.objects.all()
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    if filters.date_from:
        qs = qs.filter(date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(date__lte=filters.date_to)
    if params.sort not in (None, "date", "-date"):
        raise ApiError(422, "invalid_sort", _("Unknown sort %(sort)s; use date or -date.") % {"sort": params.sort})
    qs = qs.order_by("date" if params.sort == "date" else "-date", "currency")
    if params.format == "csv":
        return csv_list("rates", qs)
    return paginate(request, qs, params, lambda rows: [rate_data(r) for r in rows])


@router.post("/rates", response={200: RatesSaved, **ERRORS}, summary="Save exchange rates", tags=["rates"])
def save_rates(request: HttpRequest, body: RateIn | list[RateIn] = Body(...)):  # noqa: B008 - ninja's marker
    """Administrators only. One rate or a list (at most 5,000), each the base currency's units
    for one unit of `currency` on `date`. Idempotent on (currency, date). All or nothing: one bad
    rate (the base currency itself, a day twice) refuses the call with 422."""
    require_admin(user_of(request))
    items = body if isinstance(body, list) else [body]
    if not items or len(items) > MAX_RATES:
        raise ApiError(422, "invalid", _("Send from 1 to %(n)s rates.") % {"n": MAX_RATES})
    results = rates_save(rates=[RateInput(i.currency, i.date, i.rate, i.source) for i in items])
    return {
        "base_currency": check_base_currency(),
        "items": [{**rate_data(r.rate), "status": r.status} for r in results],
    }
