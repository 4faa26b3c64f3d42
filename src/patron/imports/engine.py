"""The import run: read the file, map its columns, parse rows, process them in batches.

Each batch is one transaction, so a run stopped half-way (a kill, a power cut) leaves whole
batches behind, and running the same file again completes it: rows that landed are found by
their external ids and come out "unchanged". Bad rows never stop a run; they are written, with
their line number and reason, to ``<input>.errors.csv`` beside the input.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from patron.core import bulk
from patron.core.audit import audit_bulk, id_ranges
from patron.core.cells import escape_text
from patron.core.models import User
from patron.customers.duplicates import possible_duplicates_flag
from patron.imports.fields import FieldSpec, ParseContext
from patron.imports.kinds.base import Importer
from patron.imports.kinds.registry import IMPORTERS
from patron.imports.parsing import ParseError, UnreadableFileError, as_text
from patron.imports.run import Row, RunState
from patron.imports.sources import Table, is_blank, open_table

DEFAULT_BATCH_SIZE = 5000
ERROR_SAMPLE = 200


class ImportInputError(Exception):
    """The input cannot be used at all: unknown kind, unreadable file, bad mapping (exit 2)."""


@dataclass
class ImportOptions:
    kind: str
    # file column -> field name; None means the default mapping (core.columns headers).
    columns: dict[str, str] | None = None
    date_order: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    user: User | None = None
    write_error_file: bool = True


@dataclass
class ImportResult:
    kind: str
    path: Path
    format: str = ""
    encoding: str = ""
    dry_run: bool = False
    total_estimate: int | None = None
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    batches: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_file: Path | None = None
    duplicates_flagged: int = 0

    @property
    def landed(self) -> int:
        return self.created + self.updated + self.unchanged


def error_file_for(path: Path) -> Path:
    return Path(f"{path}.errors.csv")


def importer_class(kind: str) -> type[Importer]:
    try:
        return IMPORTERS[kind]
    except KeyError:
        raise ImportInputError(
            _("Unknown kind %(kind)s; choose one of: %(kinds)s.") % {"kind": kind, "kinds": ", ".join(IMPORTERS)}
        ) from None


# ---------------------------------------------------------------------------------------------
# Mapping


def _norm(name: str) -> str:
    return re.sub(r"[\s\-./]+", "_", name.strip().casefold()).strip("_")


def default_mapping(kind: str, header: list[str]) -> dict[str, str]:
    """file column -> field for the columns whose header names a field: exactly (the export's
    headers), or in another case/spacing, or by the field's label in any of Patron's languages."""
    specs = importer_class(kind).fields()
    by_label: dict[str, str] = {}
    for language in ("en", "zh-hans", "zh-hant"):
        with override(language):
            for name, spec in specs.items():
                by_label.setdefault(_norm(str(spec.label)), name)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for passes in ("exact", "loose"):
        for column in header:
            if not column or column in mapping:
                continue
            if passes == "exact":
                target = column if column in specs else None
            else:
                target = _norm(column) if _norm(column) in specs else by_label.get(_norm(column))
            if target is not None and target not in used:
                mapping[column] = target
                used.add(target)
    return mapping


def check_mapping(kind: str, header: list[str], columns: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The usable part of ``columns`` for this header, or ``ImportInputError`` saying what is wrong.
    Returns (mapping, columns the mapping names that the file lacks)."""
    cls = importer_class(kind)
    specs = cls.fields()
    mapping: dict[str, str] = {}
    missing: list[str] = []
    targets: dict[str, str] = {}
    for column, target in columns.items():
        if not target:
            continue
        if target not in specs:
            raise ImportInputError(
                _("The mapping sends column %(column)s to %(field)s, which %(kind)s do not have; fields: %(fields)s.")
                % {"column": column, "field": target, "kind": kind, "fields": ", ".join(specs)}
            )
        if column not in header:
            missing.append(column)
            continue
        if target in targets:
            raise ImportInputError(
                _("Columns %(a)s and %(b)s are both mapped to %(field)s.")
                % {"a": targets[target], "b": column, "field": target}
            )
        targets[target] = column
        mapping[column] = target
    for name in cls.required():
        if name not in targets:
            raise ImportInputError(
                _("No column is mapped to %(field)s, which %(kind)s need.") % {"field": name, "kind": kind}
            )
    for group in cls.one_of:
        if not any(name in targets for name in group):
            raise ImportInputError(
                _("No column is mapped to %(fields)s; %(kind)s need one of them.")
                % {"fields": ", ".join(group), "kind": kind}
            )
    return mapping, missing


# ---------------------------------------------------------------------------------------------
# Rows


class _RowParser:
    """Cells -> field values. Each field remembers what it made of each distinct cell, so a
    column of repeated values (channels, the time of an order's lines, SKUs) is parsed once.

    The per-row function is generated for the file's mapping: straight-line code with one memo
    lookup per mapped cell, because this loop is most of an import's Python time.
    """

    def __init__(self, header: list[str], mapping: dict[str, str], specs: dict[str, FieldSpec],
                 required: tuple[str, ...], ctx: ParseContext) -> None:
        self.width = len(header)
        self.ctx = ctx
        self.columns = [(header.index(column), name, column, specs[name].parse) for column, name in mapping.items()]
        self.memos: list[dict[Any, Any]] = [{None: None} for _ in self.columns]
        self.parse = self._compile(required)

    def miss(self, position: int, raw: Any) -> Any:
        """Parse a cell not seen before (or unhashable); errors are kept as ParseError values."""
        parse = self.columns[position][3]
        if raw.__class__ is str and not as_text(raw):
            value: Any = None
        else:
            try:
                value = parse(raw, self.ctx)
            except ParseError as exc:
                value = exc
        memo = self.memos[position]
        try:
            if len(memo) > 50_000:
                memo.clear()
                memo[None] = None
            memo[raw] = value
        except TypeError:  # an unhashable cell value: nothing to remember
            pass
        return value

    def _compile(self, required: tuple[str, ...]) -> Callable[[int, list[Any]], Row]:
        width = max((index for index, *_rest in self.columns), default=-1) + 1
        body = [
            "def parse(line, cells):",
            "    errors = []",
            "    n = len(cells)",
            f"    if n > {self.width} and not is_blank(cells[{self.width}:]):",
            "        errors.append(too_many)",
            f"    if n < {width}:",
            f"        cells = list(cells) + [None] * ({width} - n)",
        ]
        for position, (index, name, _column, _parse) in enumerate(self.columns):
            body += [
                f"    raw = cells[{index}]",
                "    try:",
                f"        v{position} = memo{position}.get(raw, MISS)",
                "    except TypeError:",
                "        v" + str(position) + " = MISS",
                f"    if v{position} is MISS:",
                f"        v{position} = miss({position}, raw)",
                f"    if v{position}.__class__ is ParseError:",
                f"        errors.append(column{position} + ': ' + str(v{position}))",
                f"        v{position} = None",
            ]
            if name in required:
                body += [
                    f"    elif v{position} is None:",
                    f"        errors.append(required{position})",
                ]
        items = ", ".join(f"{name!r}: v{position}" for position, (_i, name, _c, _p) in enumerate(self.columns))
        body.append(f"    return Row(line, cells, {{{items}}}, errors)")
        namespace: dict[str, Any] = {
            "Row": Row,
            "MISS": _MISS,
            "ParseError": ParseError,
            "is_blank": is_blank,
            "too_many": _("The row has more cells than the header has columns."),
            "miss": self.miss,
        }
        for position, (_index, _name, column, _parse) in enumerate(self.columns):
            namespace[f"memo{position}"] = self.memos[position]
            namespace[f"column{position}"] = column
            namespace[f"required{position}"] = _("%(column)s is required.") % {"column": column}
        exec(compile("\n".join(body), "<import row parser>", "exec"), namespace)  # noqa: S102 - code built above from the mapping's positions
        return cast(Callable[[int, list[Any]], Row], namespace["parse"])


_MISS = object()


class _ErrorFile:
    """``<input>.errors.csv``: the original columns, then ``line`` and ``error``; UTF-8 with a
    BOM so Excel opens it, and importable again once fixed (the two extra columns are ignored)."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        self.header = header
        self.handle: Any = None
        self.writer: Any = None

    def write(self, row: Row) -> None:
        if self.handle is None:
            self.handle = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
            self.writer = csv.writer(self.handle)
            names = set(self.header)
            line_col = "line" if "line" not in names else "import_line"
            error_col = "error" if "error" not in names else "import_error"
            self.writer.writerow([escape_text(c) for c in [*self.header, line_col, error_col]])
        width = len(self.header)
        # Each cell as the import reads it, written so that it reads back the same and cannot
        # run as a formula in a spreadsheet (the file may hold someone else's bad input).
        cells = [_error_cell(c) for c in row.cells[:width]]
        cells += [""] * (width - len(cells))
        self.writer.writerow([*cells, row.line, escape_text(" ".join(row.errors))])

    def close(self) -> bool:
        if self.handle is None:
            return False
        self.handle.close()
        return True


def _error_cell(cell: Any) -> Any:
    if cell is None:
        return ""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return as_text(cell)  # an XLSX number: written as one
    return escape_text(as_text(cell))


def _open(path: Path, options: ImportOptions) -> Table:
    try:
        return open_table(path, encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet)
    except UnreadableFileError as exc:
        raise ImportInputError(str(exc)) from exc
    except OSError as exc:
        raise ImportInputError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}) from exc


def read_header(path: Path, options: ImportOptions, preview_rows: int = 0) -> tuple[list[str], list[list[Any]], Table]:
    """The header and the first rows, for the mapping page."""
    table = _open(path, options)
    rows: list[list[Any]] = []
    with table:
        for _line, cells in table.rows:
            if len(rows) >= preview_rows:
                break
            if not is_blank(cells):
                rows.append(cells)
    return table.header, rows, table


ProgressCallback = Callable[[ImportResult, list[Row]], None]
# Takes a batch's line numbers and cells; returns how many rows it created, or None for the row path.
FastPath = Callable[[list[int], list[list[Any]]], int | None]


def run_import(path: Path | str, options: ImportOptions, *, on_batch: ProgressCallback | None = None) -> ImportResult:
    """Import ``path``; returns what happened. Raises ``ImportInputError`` for unusable input."""
    path = Path(path)
    cls = importer_class(options.kind)
    if not cls.permitted(options.user):
        raise ImportInputError(
            _("%(user)s may not import %(kind)s.") % {"user": options.user, "kind": options.kind}
        )
    if options.date_order not in (None, "", "dmy", "mdy"):
        raise ImportInputError(_("The date order must be dmy or mdy."))
    table = _open(path, options)
    with table:
        header = table.header
        columns = options.columns if options.columns is not None else default_mapping(options.kind, header)
        mapping, missing = check_mapping(options.kind, header, columns)
        result = ImportResult(
            kind=options.kind,
            path=path,
            format=table.format,
            encoding=table.encoding,
            dry_run=options.dry_run,
            total_estimate=table.total,
            mapping=mapping,
            ignored_columns=[c for c in header if c and c not in mapping],
            missing_columns=missing,
        )
        run = RunState(user=options.user, ctx=ParseContext(date_order=options.date_order or None), dry_run=options.dry_run)
        importer = cls(run)
        parser = _RowParser(header, mapping, cls.fields(), cls.required(), run.ctx)
        errors_path = error_file_for(path)
        error_file = _ErrorFile(errors_path, header) if options.write_error_file else None
        batch_size = max(1, options.batch_size)
        key_columns = [header.index(c) for f in importer.group_fields for c, t in mapping.items() if t == f]
        fast = importer.fast_path(header, mapping, table.format) if not options.dry_run else None
        try:
            with bulk.fewer_gc_passes(), bulk.sqlite_bulk_write():
                _read_batches(table, parser, importer, batch_size, result, error_file, run, on_batch, key_columns, fast)
        except csv.Error as exc:
            line = table.reader.line_num if table.reader is not None else "?"
            raise ImportInputError(
                _("The file stops being readable CSV near line %(line)s: %(error)s. Rows before it were imported.")
                % {"line": line, "error": exc}
            ) from exc
        finally:
            wrote_errors = error_file.close() if error_file is not None else False
        if wrote_errors:
            result.error_file = errors_path
        elif options.write_error_file and errors_path.exists():
            # An error file from an earlier run of this input no longer describes it.
            errors_path.unlink()
    if options.kind == "customers" and not options.dry_run and run.touched_customers:
        result.duplicates_flagged = possible_duplicates_flag(customer_ids=run.touched_customers)
    return result


def _read_batches(table: Table, parser: _RowParser, importer: Importer, batch_size: int, result: ImportResult,
                  error_file: _ErrorFile | None, run: RunState, on_batch: ProgressCallback | None,
                  key_columns: list[int], fast: FastPath | None) -> None:
    # Two parallel lists rather than a tuple per row: this loop runs once per row of the file.
    lines: list[int] = []
    rows: list[list[Any]] = []
    last_key: Any = None
    key_index = key_columns[0] if key_columns else None
    for line, cells in table.rows:
        if not any(cells):
            continue
        first = cells[0]
        if (first is None or (first.__class__ is str and not first.strip())) and is_blank(cells):
            continue
        if key_index is None:
            key = None
        else:
            # The key as written: enough to keep an order's adjacent lines in one batch.
            key = cells[key_index] if key_index < len(cells) else None
            if not key:
                key = _raw_key(cells, key_columns)
        if len(rows) >= batch_size and (key is None or key != last_key):
            _flush(importer, parser, lines, rows, result, error_file, run, on_batch, fast)
            lines, rows = [], []
        lines.append(line)
        rows.append(cells)
        last_key = key
    if rows:
        _flush(importer, parser, lines, rows, result, error_file, run, on_batch, fast)


def _raw_key(cells: list[Any], key_columns: list[int]) -> Any:
    """The cell that groups rows (an order's external id) as written, so a batch never splits them."""
    for index in key_columns:
        if index < len(cells):
            value = cells[index]
            if value.__class__ is str:
                value = value.strip()
            if value not in (None, ""):
                return value
    return None


def _audit_batch(importer: Importer, lines: list[int], batch: list[Row], created: int | None) -> None:
    """One audit entry per batch (not per row: an import's cost stays that of its writes)."""
    details: dict[str, Any] = {"lines": [lines[0], lines[-1]] if lines else []}
    if created is not None:  # the columnar path: whole orders created, nothing else
        details["created"] = created
        audit_bulk(f"import.{importer.kind}", object_type=importer.kind, count=created, details=details)
        return
    counts: dict[str, int] = {}
    customers: set[int] = set()
    for r in batch:
        status = "rejected" if r.errors else r.status or ""
        counts[status] = counts.get(status, 0) + 1
        if status in ("created", "updated"):
            if r.customer is not None:
                customers.add(r.customer[0])
            elif importer.kind == "customers" and "id" in r.extra:
                customers.add(r.extra["id"])
    details.update(counts)
    details["customer_ids"] = id_ranges(customers)
    audit_bulk(f"import.{importer.kind}", object_type=importer.kind, count=len(batch), details=details)


def _flush(importer: Importer, parser: _RowParser, lines: list[int], rows: list[list[Any]], result: ImportResult,
           error_file: _ErrorFile | None, run: RunState, on_batch: ProgressCallback | None,
           fast: FastPath | None) -> None:
    run.now = timezone.now()
    batch: list[Row] = []
    with transaction.atomic():
        created = fast(lines, rows) if fast is not None else None
        if created is None:
            parse = parser.parse
            batch = [parse(line, cells) for line, cells in zip(lines, rows, strict=True)]
            if any(not r.errors for r in batch):
                importer.process(batch)
        if run.dry_run:
            transaction.set_rollback(True)
        else:
            _audit_batch(importer, lines, batch, created)
    if created is not None:
        result.batches += 1
        result.processed += len(rows)
        result.created += created
        if on_batch is not None:
            on_batch(result, [])
        return
    result.batches += 1
    result.processed += len(batch)
    for r in batch:
        if r.errors:
            result.rejected += 1
            if len(result.errors) < ERROR_SAMPLE:
                result.errors.append((r.line, " ".join(r.errors)))
            if error_file is not None:
                error_file.write(r)
        elif r.status == "created":
            result.created += 1
        elif r.status == "updated":
            result.updated += 1
        elif r.status == "unchanged":
            result.unchanged += 1
        else:
            raise RuntimeError(f"line {r.line}: the importer left the row undecided")
    if on_batch is not None:
        on_batch(result, batch)
