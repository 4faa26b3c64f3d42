"""Writing real import files (CSV in several encodings, XLSX) for the tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from patron.imports.engine import ImportOptions, ImportResult, run_import


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def run(path: Path, kind: str, **kwargs: Any) -> ImportResult:
    return run_import(path, ImportOptions(kind=kind, **kwargs))


def counts(result: ImportResult) -> tuple[int, int, int, int]:
    return result.created, result.updated, result.unchanged, result.rejected


def read_errors(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))
