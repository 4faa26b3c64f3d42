"""Reading the values people put in spreadsheets: encodings, dates, amounts, booleans, choices.

Every parser takes what a CSV cell (a string) or an XLSX cell (str, int, float, bool, date,
datetime) holds and returns a Python value or raises ``ParseError`` with a translated reason.
Blank cells never reach these functions: the caller treats them as "no value".
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from patron.core.cells import unescape_text


class ParseError(ValueError):
    """A value that cannot be read; the message says why, in the user's language."""


class UnreadableFileError(ValueError):
    """The file as a whole cannot be read (unknown encoding, not a spreadsheet)."""


# ---------------------------------------------------------------------------------------------
# Encodings


def detect_encoding(path: Path, *, chunk_size: int = 1 << 20) -> str:
    """``utf-8-sig`` if the whole file decodes strictly as UTF-8 (with or without BOM), else
    ``gb18030`` (a superset of GBK, what Excel in mainland China writes) if that decodes, else
    UTF-16 when the file starts with its BOM. Raises ``UnreadableFileError`` otherwise."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8-sig", "gb18030"):
        if _decodes(path, encoding, chunk_size):
            return encoding
    raise UnreadableFileError(
        _("The file is neither UTF-8 nor GB18030/GBK text; save it as CSV UTF-8 or give --encoding.")
    )


def _decodes(path: Path, encoding: str, chunk_size: int) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as handle:
            while block := handle.read(chunk_size):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def check_encoding(path: Path, encoding: str) -> str:
    """A declared encoding: known to Python and able to decode the whole file."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise UnreadableFileError(_("Unknown encoding %(enc)s.") % {"enc": encoding}) from exc
    if name == "utf-8":
        name = "utf-8-sig"  # drop a BOM if there is one
    if not _decodes(path, name, 1 << 20):
        raise UnreadableFileError(_("The file is not valid %(enc)s text.") % {"enc": encoding})
    return name


# ---------------------------------------------------------------------------------------------
# Text


def as_text(value: Any) -> str:
    """A cell as text: without surrounding spaces and without one leading apostrophe (which
    marks text that would run as a formula, ``patron.core.cells``); numbers typed into Excel
    (ids, phones) lose the spurious ``.0``."""
    if isinstance(value, str):
        return unescape_text(value.strip())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


_NON_DIGIT = re.compile(r"\D+")
_NAME_JUNK = re.compile(r"[\W_]+", re.UNICODE)


def has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def normalise_phone(phone: str) -> str:
    """Digits only: "+86 138-0013-8000" and "8613800138000" give the same key."""
    return _NON_DIGIT.sub("", phone or "")


def normalise_name(name: str) -> str:
    """Casefold and drop spaces and punctuation; a Chinese name is compared as written."""
    name = (name or "").strip()
    if has_cjk(name):
        return name
    return _NAME_JUNK.sub("", name.casefold())


def normalise_email(email: str) -> str:
    return (email or "").strip().casefold()


# ---------------------------------------------------------------------------------------------
# Booleans and choices

_TRUE = {"true", "t", "yes", "y", "1", "on", "x", "是", "真", "对", "✓", "✔", "√"}
_FALSE = {"false", "f", "no", "n", "0", "off", "否", "假", "不", "✗", "×"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = as_text(value).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParseError(_("%(value)s is not true or false.") % {"value": _quote(value)})


class ChoiceParser:
    """Accepts a choice's code or its label in any of Patron's languages, in any case."""

    def __init__(self, choices: Iterable[tuple[str, Any]]) -> None:
        self.choices = list(choices)
        self._lookup: dict[str, str] | None = None

    def _build(self) -> dict[str, str]:
        lookup: dict[str, str] = {}
        for language in ("en", "zh-hans", "zh-hant"):
            with override(language):
                for code, label in self.choices:
                    lookup.setdefault(str(label).casefold(), code)
        for code, _label in self.choices:
            lookup[code.casefold()] = code
        return lookup

    def __call__(self, value: Any) -> str:
        if self._lookup is None:
            self._lookup = self._build()
        text = as_text(value).casefold()
        code = self._lookup.get(text)
        if code is None:
            raise ParseError(
                _("%(value)s is not one of: %(choices)s.")
                % {"value": _quote(value), "choices": ", ".join(c for c, _label in self.choices)}
            )
        return code


# ---------------------------------------------------------------------------------------------
# Amounts

_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CURRENCY_WORDS = {
    "¥": "CNY",
    "￥": "CNY",
    "元": "CNY",
    "rmb": "CNY",
    "€": "EUR",
    "£": "GBP",
    "$": "USD",
    "us$": "USD",
    "hk$": "HKD",
    "nt$": "TWD",
}
_CURRENCY_PATTERN = r"(?:US\$|HK\$|NT\$|RMB|[A-Za-z]{3}|[¥￥$€£元])"
_MONEY = re.compile(
    rf"^(?P<sign1>[-−+])?\s*(?P<cur1>{_CURRENCY_PATTERN})?\s*(?P<sign2>[-−+])?\s*"
    r"(?P<num>\d[\d\s.,'’\u00a0\u202f\u2009]*)"
    rf"\s*(?P<cur2>{_CURRENCY_PATTERN})?\s*(?P<sign3>-)?$"
)
_GROUP_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'’")


def parse_money(value: Any) -> tuple[Decimal, str | None]:
    """An amount and the currency its symbol or code names, if any.

    Accepts ``1234.50``, ``¥1,234.50``, ``$1,234.50``, ``1 234,50 €``, ``1.234,50``,
    ``CNY 12``, ``12元``, ``(12.00)`` and ``-12`` (negative). A single separator followed by
    exactly three digits is a thousands separator (``1,234`` is 1234; ``1.234`` is ambiguous
    and read as 1.234, which the caller's decimal-places check rejects for money).
    ``¥`` means CNY and ``$`` USD.
    """
    if isinstance(value, bool):
        raise ParseError(_("%(value)s is not an amount.") % {"value": _quote(value)})
    if isinstance(value, Decimal):
        return _finite(value, value), None
    if isinstance(value, int):
        return Decimal(value), None
    if isinstance(value, float):
        # Excel stores 0.1 + 0.2 as 0.30000000000000004; 12 significant digits is what it shows.
        number = _finite(Decimal(repr(value)), value)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -6:
            number = number.quantize(Decimal(1).scaleb(-6))
        return number, None
    text = as_text(value)
    if _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text), None
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    match = _MONEY.match(text)
    if match is None:
        raise ParseError(_("%(value)s is not an amount.") % {"value": _quote(value)})
    signs = [match.group(g) for g in ("sign1", "sign2", "sign3") if match.group(g)]
    if len(signs) > 1 or (negative and signs):
        raise ParseError(_("%(value)s is not an amount.") % {"value": _quote(value)})
    if signs and signs[0] in "-−":
        negative = True
    currencies = {c for c in (match.group("cur1"), match.group("cur2")) if c}
    currency = None
    if len(currencies) > 1:
        raise ParseError(_("%(value)s names two currencies.") % {"value": _quote(value)})
    if currencies:
        word = currencies.pop()
        currency = _CURRENCY_WORDS.get(word.lower(), word.upper() if len(word) == 3 else None)
    amount = Decimal(_normalise_number(match.group("num").strip(), value))
    return (-amount if negative else amount), currency


def _normalise_number(text: str, original: Any) -> str:
    """Digits with separators -> digits with an optional ``.`` decimal point."""
    bad = ParseError(_("%(value)s is not an amount.") % {"value": _quote(original)})
    grouped_by_space = any(ch in text for ch in " \u00a0\u202f\u2009'’")
    text_nospace = text.translate(_GROUP_SPACES)
    dots, commas = text_nospace.count("."), text_nospace.count(",")
    if dots and commas:
        decimal_sep = "." if text_nospace.rfind(".") > text_nospace.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        if text_nospace.count(decimal_sep) != 1:
            raise bad
        whole, frac = text_nospace.split(decimal_sep)
        _check_groups(whole.split(thousands), bad)
        return f"{whole.replace(thousands, '')}.{frac}"
    if commas or dots:
        sep = "," if commas else "."
        parts = text_nospace.split(sep)
        if len(parts) > 2:
            _check_groups(parts, bad)  # 1,234,567 or 1.234.567
            return "".join(parts)
        whole, frac = parts
        if not frac or not whole:
            raise bad
        # "1,234" is a thousands group; "1,23", "12,5" and "0,123" use a decimal comma.
        if sep == "," and len(frac) == 3 and whole != "0" and not grouped_by_space:
            _check_groups(parts, bad)
            return whole + frac
        if grouped_by_space:
            _check_groups(_space_groups(text.split(sep)[0]), bad)
        return f"{whole}.{frac}"
    if grouped_by_space:
        _check_groups(_space_groups(text), bad)
    if not text_nospace.isdigit():
        raise bad
    return text_nospace


def _space_groups(text: str) -> list[str]:
    return [g for g in re.split(r"[\s'’\u00a0\u202f\u2009]", text) if g != ""]


def _check_groups(groups: list[str], bad: ParseError) -> None:
    if not groups or not all(g.isdigit() for g in groups):
        raise bad
    if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
        raise bad


def _finite(number: Decimal, original: Any) -> Decimal:
    if not number.is_finite():
        raise ParseError(_("%(value)s is not an amount.") % {"value": _quote(original)})
    return number


def parse_decimal(value: Any) -> Decimal:
    """A plain number (a quantity): the same separators as amounts, no currency."""
    amount, currency = parse_money(value)
    if currency is not None:
        raise ParseError(_("%(value)s is not a number.") % {"value": _quote(value)})
    return amount


def check_places(amount: Decimal, places: int, max_digits: int, original: Any) -> Decimal:
    """Fit a Decimal into a DecimalField(max_digits, places) or say why it does not."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        rounded = amount.quantize(Decimal(1).scaleb(-places))
        if rounded != amount:
            raise ParseError(
                _("%(value)s has more than %(n)s decimal places.") % {"value": _quote(original), "n": places}
            )
        amount = rounded
    if abs(amount) >= Decimal(10) ** (max_digits - places):
        raise ParseError(_("%(value)s is too large.") % {"value": _quote(original)})
    return amount


# ---------------------------------------------------------------------------------------------
# Dates and times

DATE_ORDERS = ("dmy", "mdy")
_EXCEL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001 - a calendar origin, not a moment
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_YMD = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})")
_YMD_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_XYZ = re.compile(r"(\d{1,2})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_D_MON_Y = re.compile(r"(\d{1,2})[\s-]+([A-Za-z]{3,9})\.?[\s-]+(\d{4})")
_MON_D_Y = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})")
_TIME = re.compile(
    r"(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?\s*([AaPp][Mm])?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)


def _excel_serial(number: float, original: Any) -> datetime:
    if not 1 <= number < 2958466:
        raise ParseError(_("%(value)s is not a date.") % {"value": _quote(original)})
    moment = _EXCEL_EPOCH + timedelta(days=number)
    # Serials carry float noise; round to the second.
    return (moment + timedelta(microseconds=500_000)).replace(microsecond=0)


def _make_date(year: int, month: int, day: int, original: Any) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ParseError(_("%(value)s is not a date.") % {"value": _quote(original)}) from None


def _two_digit_year(year: str) -> int:
    value = int(year)
    if len(year) == 2:
        return 2000 + value if value < 70 else 1900 + value
    return value


def _date_part(text: str, date_order: str | None, original: Any) -> date:
    not_a_date = ParseError(_("%(value)s is not a date.") % {"value": _quote(original)})
    if m := _YMD.fullmatch(text) or _YMD_CN.fullmatch(text):
        return _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), original)
    if m := _XYZ.fullmatch(text):
        first, second, year = int(m.group(1)), int(m.group(3)), _two_digit_year(m.group(4))
        order = date_order
        if order is None:
            if first > 12 >= second:
                order = "dmy"
            elif second > 12 >= first:
                order = "mdy"
            elif first == second:
                order = "dmy"
            else:
                raise ParseError(
                    _("%(value)s could be day/month or month/day; declare the date order (dmy or mdy).")
                    % {"value": _quote(original)}
                )
        if order == "dmy":
            return _make_date(year, second, first, original)
        return _make_date(year, first, second, original)
    if m := _COMPACT.fullmatch(text):
        return _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), original)
    if m := _D_MON_Y.fullmatch(text):
        month = _MONTHS.get(m.group(2).lower())
        if month is None:
            raise not_a_date
        return _make_date(int(m.group(3)), month, int(m.group(1)), original)
    if m := _MON_D_Y.fullmatch(text):
        month = _MONTHS.get(m.group(1).lower())
        if month is None:
            raise not_a_date
        return _make_date(int(m.group(3)), month, int(m.group(2)), original)
    raise not_a_date


def parse_date(value: Any, *, date_order: str | None = None) -> date:
    """2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, 05/03/2024 (dmy or mdy as
    declared; unambiguous ones like 25/03/2024 need no declaration), 5 Mar 2024, Mar 5, 2024,
    an Excel serial (45356) and the date of an ISO date-time."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ParseError(_("%(value)s is not a date.") % {"value": _quote(value)})
    if isinstance(value, int | float):
        return _excel_serial(float(value), value).date()
    text = as_text(value)
    if len(text) == 10 and text[4] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    if _SERIAL.fullmatch(text):
        return _excel_serial(float(text), value).date()
    match = _TIME.search(text)
    if match:
        return parse_datetime(value, date_order=date_order).date()
    return _date_part(text, date_order, value)


def parse_datetime(value: Any, *, date_order: str | None = None, tz: tzinfo | None = None) -> datetime:
    """Any date ``parse_date`` reads, with an optional time (``14:30``, ``2:30 PM``,
    ``14:30:05.123``) and offset (``Z``, ``+08:00``). A time without an offset is in ``tz``
    (default: the configured TIME_ZONE); a date alone is midnight there."""
    zone = tz or timezone.get_default_timezone()
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else _localise(value, zone)
    if isinstance(value, date):
        return _localise(datetime.combine(value, time()), zone)
    if isinstance(value, bool):
        raise ParseError(_("%(value)s is not a date.") % {"value": _quote(value)})
    if isinstance(value, int | float):
        return _localise(_excel_serial(float(value), value), zone)
    text = as_text(value)
    if len(text) >= 10 and text[4] == "-":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo is not None else _localise(moment, zone)
    if _SERIAL.fullmatch(text):
        return _localise(_excel_serial(float(text), value), zone)
    match = _TIME.search(text)
    if match is None:
        return _localise(datetime.combine(_date_part(text, date_order, value), time()), zone)
    day = _date_part(text[: match.start()].strip(), date_order, value)
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    micro = int((match.group(4) or "0").ljust(6, "0"))
    meridiem = (match.group(5) or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            raise ParseError(_("%(value)s is not a time.") % {"value": _quote(value)})
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    try:
        naive = datetime.combine(day, time(hour, minute, second, micro))
    except ValueError:
        raise ParseError(_("%(value)s is not a time.") % {"value": _quote(value)}) from None
    offset = match.group(6)
    if offset is None:
        return _localise(naive, zone)
    if offset in {"Z", "UTC", "GMT"}:
        return naive.replace(tzinfo=UTC)
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    if delta >= timedelta(hours=24):
        raise ParseError(_("%(value)s is not a time.") % {"value": _quote(value)})
    from datetime import timezone as dt_timezone

    return naive.replace(tzinfo=dt_timezone(delta if offset[0] == "+" else -delta))


def _localise(naive: datetime, zone: tzinfo) -> datetime:
    # fold=0: an ambiguous wall time (the hour repeated when clocks go back) is the first one.
    return naive.replace(tzinfo=zone)


def _quote(value: Any) -> str:
    text = as_text(value) if not isinstance(value, str) else value.strip()
    if len(text) > 40:
        text = text[:37] + "…"
    return f"“{text}”"
