"""Reading a CSV or XLSX file as a header and numbered rows, streaming.

Row numbers are what a spreadsheet shows: the header is line 1 and the first data row is
line 2 (a CSV cell with line breaks inside quotes still counts as one row).
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from patron.imports.parsing import UnreadableFileError, as_text, check_encoding, detect_encoding

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
DELIMITERS = (",", ";", "\t", "|")
# Fields longer than the csv module's default 128 KiB are legitimate notes and bodies.
csv.field_size_limit(16 * 1024 * 1024)


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    total: int | None
    format: str
    encoding: str = ""
    delimiter: str = ""
    _close: list[Any] = field(default_factory=list)
    reader: Any = None  # the csv reader, for the line number of a malformed row

    def close(self) -> None:
        for closer in self._close:
            closer()
        self._close.clear()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_xlsx(path: Path) -> bool:
    if path.suffix.lower() in XLSX_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError:
        return False
    return magic == b"PK\x03\x04" and zipfile.is_zipfile(path)


def open_table(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None
) -> Table:
    """The header and a row iterator; raises ``UnreadableFileError`` for unusable files."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(_("There is no file %(path)s.") % {"path": path})
    if path.suffix.lower() == ".xls":
        raise UnreadableFileError(_("Old .xls workbooks are not read; save the sheet as .xlsx or CSV."))
    if is_xlsx(path):
        return _open_xlsx(path, sheet)
    return _open_csv(path, encoding, delimiter)


def _clean_header(cells: list[Any]) -> list[str]:
    header = ["" if c is None else as_text(str(c).lstrip("\ufeff")) for c in cells]
    while header and header[-1] == "":
        header.pop()
    if not any(header):
        raise UnreadableFileError(_("The first row must name the columns, but it is empty."))
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise UnreadableFileError(_("The column %(name)s appears twice in the header.") % {"name": name})
        seen.add(name)
    return header


def _sniff_delimiter(line: str) -> str:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_lines(path: Path) -> int:
    count = 0
    last = b""
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (1 if last and last != b"\n" else 0)


def _open_csv(path: Path, encoding: str | None, delimiter: str | None) -> Table:
    enc = check_encoding(path, encoding) if encoding else detect_encoding(path)
    handle = open(path, encoding=enc, newline="")  # noqa: SIM115 - closed by Table.close
    try:
        first = handle.readline()
        if not first.strip():
            raise UnreadableFileError(_("The file is empty or its first row is blank."))
        delim = delimiter or _sniff_delimiter(first)
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delim)
        header = _clean_header(next(reader))
    except (csv.Error, UnicodeDecodeError) as exc:
        handle.close()
        raise UnreadableFileError(_("The file is not readable CSV: %(error)s") % {"error": exc}) from exc
    except BaseException:
        handle.close()
        raise
    total = max(0, _count_lines(path) - 1)

    # enumerate in C rather than a generator: this loop runs once per row of the file. A
    # malformed row raises csv.Error, which run_import reports with reader.line_num.
    table = Table(header, enumerate(reader, start=2), total, "csv", enc, delim, [handle.close])
    table.reader = reader
    return table


def _open_xlsx(path: Path, sheet: str | None) -> Table:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFileError(_("The file is not a readable XLSX workbook: %(error)s") % {"error": exc}) from exc
    try:
        if sheet is not None:
            if sheet not in book.sheetnames:
                raise UnreadableFileError(
                    _("The workbook has no sheet %(sheet)s; it has: %(sheets)s.")
                    % {"sheet": sheet, "sheets": ", ".join(book.sheetnames)}
                )
            ws: Any = book[sheet]
        else:
            ws = book.worksheets[0]
        iterator = ws.iter_rows(values_only=True)
        try:
            first = next(iterator)
        except StopIteration:
            raise UnreadableFileError(_("The file is empty or its first row is blank.")) from None
        header = _clean_header(list(first))
        max_row = ws.max_row
    except BaseException:
        book.close()
        raise
    total = max(0, max_row - 1) if isinstance(max_row, int) else None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        line = 1
        for cells in iterator:
            line += 1
            yield line, list(cells)

    return Table(header, rows(), total, "xlsx", "", "", [book.close])


def is_blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)
