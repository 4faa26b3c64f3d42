"""The fields each kind of import understands and how a cell becomes a field's value.

A kind's default mapping is ``patron.core.columns``: the export writes exactly those headers,
so a file exported from Patron maps itself. ``id`` (an export-only column there) is also read, as
the key of a row that has no external id.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.core.dates import check_day
from patron.customers.phones import phone_normalise
from patron.imports.parsing import (
    ChoiceParser,
    ParseError,
    as_text,
    check_places,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_money,
)


@dataclass(frozen=True)
class ParseContext:
    date_order: str | None = None


Parser = Callable[[Any, ParseContext], Any]


@dataclass(frozen=True)
class FieldSpec:
    """One importable field: its name (the header export writes), a label, and its parser."""

    name: str
    label: Promise | str
    parse: Parser
    # Money fields give (amount, currency named by a symbol or None).
    money: bool = False
    help: Promise | str = ""
    aliases: tuple[str, ...] = field(default=())


def text(max_length: int | None) -> Parser:
    def parse(value: Any, ctx: ParseContext) -> str:
        out = as_text(value)
        if max_length is not None and len(out) > max_length:
            raise ParseError(_("is longer than %(n)s characters.") % {"n": max_length})
        return out

    # Lets the columnar path check a whole column of plain text at once.
    parse.max_length = max_length if max_length is not None else 10**9  # type: ignore[attr-defined]
    return parse


def email(value: Any, ctx: ParseContext) -> str:
    out = as_text(value)
    if len(out) > 254:
        raise ParseError(_("is longer than %(n)s characters.") % {"n": 254})
    try:
        validate_email(out)
    except ValidationError:
        raise ParseError(_("%(value)s is not an email address.") % {"value": f"“{out}”"}) from None
    return out


def phone(value: Any, ctx: ParseContext) -> str:
    """A phone number in E.164 (customers/phones.py: the country of ``PATRON_PHONE_REGION`` when
    the cell names none); a cell that is no valid number is the row's error."""
    try:
        return phone_normalise(as_text(value)[:100])
    except ValidationError as exc:
        raise ParseError(exc.messages[0]) from None


def positive_int(value: Any, ctx: ParseContext) -> int:
    if isinstance(value, bool):
        raise ParseError(_("%(value)s is not a whole number.") % {"value": f"“{value}”"})
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = as_text(value)
    if not out.isdigit() or int(out) < 1 or int(out) > 2**62:
        raise ParseError(_("%(value)s is not a whole number.") % {"value": f"“{out}”"})
    return int(out)


def choice(choices: Any) -> Parser:
    parser = ChoiceParser(choices)

    def parse(value: Any, ctx: ParseContext) -> str:
        return parser(value)

    return parse


def boolean(value: Any, ctx: ParseContext) -> bool:
    return parse_bool(value)


def _in_range(value: Any, parsed: Any) -> Any:
    try:
        return check_day(parsed)
    except ValueError as exc:
        raise ParseError(f"“{as_text(value)[:40]}” {exc}") from None


def day(value: Any, ctx: ParseContext) -> Any:
    return _in_range(value, parse_date(value, date_order=ctx.date_order))


def moment(value: Any, ctx: ParseContext) -> Any:
    return _in_range(value, parse_datetime(value, date_order=ctx.date_order))


_CURRENCY = re.compile(r"[A-Z]{3}")
_CURRENCY_SYMBOLS = {"¥": "CNY", "￥": "CNY", "元": "CNY", "RMB": "CNY", "€": "EUR", "£": "GBP", "$": "USD"}


def currency(value: Any, ctx: ParseContext) -> str:
    out = as_text(value)
    out = _CURRENCY_SYMBOLS.get(out, out.upper())
    if not _CURRENCY.fullmatch(out):
        raise ParseError(_("%(value)s is not a three-letter currency code such as CNY.") % {"value": f"“{out}”"})
    return out


def money(places: int = 2, max_digits: int = 16, *, negative: bool = False) -> Parser:
    def parse(value: Any, ctx: ParseContext) -> tuple[Decimal, str | None]:
        amount, code = parse_money(value)
        if amount < 0 and not negative:
            raise ParseError(_("cannot be negative."))
        return check_places(amount, places, max_digits, value), code

    return parse


def quantity(value: Any, ctx: ParseContext) -> Decimal:
    amount = check_places(parse_decimal(value), 3, 12, value)
    if amount <= 0:
        raise ParseError(_("must be more than zero."))
    return amount


def rate(value: Any, ctx: ParseContext) -> Decimal:
    """An exchange rate: a positive number with at most ten decimal places."""
    amount = check_places(parse_decimal(value), 10, 20, value)
    if amount <= 0:
        raise ParseError(_("must be more than zero."))
    return amount


def tags(value: Any, ctx: ParseContext) -> tuple[str, ...]:
    # Export separates tags with ";" (core.columns.TAG_SEPARATOR); the full-width one too.
    names = {t.strip() for t in as_text(value).replace("；", ";").split(";")}
    out = tuple(sorted(n for n in names if n))
    for name in out:
        if len(name) > 50:
            raise ParseError(_("the tag %(tag)s is longer than %(n)s characters.") % {"tag": name, "n": 50})
    return out


def spec(name: str, label: Promise | str, parse: Parser, **kwargs: Any) -> FieldSpec:
    return FieldSpec(name=name, label=label, parse=parse, **kwargs)


def model_text(model: type[models.Model], name: str) -> Parser:
    max_length = getattr(model._meta.get_field(name), "max_length", None)
    return text(max_length)


def model_choice(model: type[models.Model], name: str) -> Parser:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return choice(field.choices or [])


ID = spec("id", gettext_lazy("Patron id (used only when there is no external id)"), positive_int)
EXTERNAL_ID = spec("external_id", gettext_lazy("external id"), text(100))
CUSTOMER_EXTERNAL_ID = spec("customer_external_id", gettext_lazy("customer's external id"), text(100))
CUSTOMER_ID = spec("customer_id", gettext_lazy("customer's Patron id"), positive_int)
