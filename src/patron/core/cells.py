"""Cells of the CSV and XLSX files Patron writes: one text format, and text that cannot run.

Spreadsheets (Excel, WPS, LibreOffice, Google Sheets) read a cell that starts with ``=``, ``+``,
``-`` or ``@`` as a formula, and skip a leading tab or carriage return before deciding; a formula
can open links, fetch data or, through old DDE, run programs (CSV or formula injection). So every
*text* cell that starts with one of those characters, or with the apostrophe itself, is written
with an apostrophe in front: a spreadsheet shows it as text, and Patron's import removes exactly
one leading apostrophe (``patron.imports.parsing.as_text``), so export → import gives back the
value exactly. Numbers, dates and flags are written as they are (a negative amount stays a
number). This module is the one place for the rule: the export, the lists' downloads and the
import's error files all write their cells through it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from patron.core.columns import FALSE, TRUE

# What a spreadsheet reads as the start of a formula (OWASP's list).
FORMULA_STARTS = frozenset("=+-@\t\r")
# Marks the rest of a cell as text; the import removes one.
APOSTROPHE = "'"


def escape_text(text: str) -> str:
    """``text`` as a cell that a spreadsheet shows as text and the import reads back as ``text``."""
    if text and (text[0] in FORMULA_STARTS or text[0] == APOSTROPHE):
        return APOSTROPHE + text
    return text


def unescape_text(text: str) -> str:
    """The value of a text cell: without the one leading apostrophe ``escape_text`` may add."""
    return text[1:] if text.startswith(APOSTROPHE) else text


def text_value(value: Any) -> str:
    """A value in the export's text format (ISO dates with their offset, ``.`` decimals, true/false)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# Values written as they are: what they print as cannot start a formula except a number's minus.
_NOT_TEXT = (bool, int, float, Decimal, date)


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: numbers, dates and flags as they are, anything else escaped as text."""
    if value is None or isinstance(value, _NOT_TEXT):
        return text_value(value)
    return escape_text(text_value(value))


def xlsx_cell(value: Any, *, number: bool) -> Any:
    """A value as an XLSX cell: numbers stay numbers where the column holds them; everything
    else is the CSV's text, escaped the same way, so it never starts with ``=`` (which openpyxl
    would write as a formula) and both formats import alike."""
    if value is None:
        return None
    if number and isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return value
    return csv_cell(value)
