"""Export of records and analytical tables to CSV, XLSX and Parquet, streamed in chunks.

Headers come from ``patron.core.columns`` (the import reads the same names), values are
formatted one way everywhere: ISO 8601 dates with their offset, ``.`` decimals, ``true``/``false``.
CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly. CSV and XLSX text
cells that a spreadsheet would run as a formula get an apostrophe in front (``patron.core.cells``);
Parquet, typed data that no spreadsheet evaluates, keeps every value as it is.

Records are read in chunks of ``CHUNK`` with ``values_list(...).iterator()``; per chunk, one query
loads what the chunk needs besides (tags, order lines, registered score columns). Memory stays
flat whatever the table's size.

Other apps extend the export:
- ``register_customer_columns`` adds columns to the customers export (scores from insights);
- ``register_export`` adds a kind (survey responses from feedback).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse

from patron.commerce.models import CostEvent, ExchangeRate, Order, OrderLine, Product
from patron.core.audit import audit_record
from patron.core.cells import csv_cell, text_value, xlsx_cell
from patron.core.columns import COLUMNS, TAG_SEPARATOR
from patron.core.models import User
from patron.customers.models import Contact, Customer
from patron.customers.selectors import of_visible_customers, visible_customers
from patron.engagement.models import Interaction, Task

CHUNK = 2000
FORMATS = ("csv", "xlsx", "parquet")
BOM = "\ufeff"

# Column types: how a value is written to CSV/XLSX and typed in Parquet.
STR, INT, MONEY, QTY, BOOL, DATE, DATETIME = "str", "int", "money", "quantity", "bool", "date", "datetime"
RATE = "rate"
FLOAT = "float"  # a model's estimate (probabilities, predicted value), rounded when written
# Decimal places of FLOAT columns in exports: enough for a probability, more than money needs.
FLOAT_PLACES = {"clv": 2, "p_alive": 4, "churn_risk": 4}


@dataclass(frozen=True)
class ExtraColumns:
    """Columns another app adds to an export: ``load(ids)`` returns {record id: {column: value}}."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column, type)
    load: Callable[[list[int]], Mapping[int, Mapping[str, Any]]]


@dataclass(frozen=True)
class ExportKind:
    kind: str
    model: type[Model]
    # column -> ORM path read with values_list; columns not here are filled by ``complete``.
    fields: Mapping[str, str]
    types: Mapping[str, str]
    # The records a user may export (None: every record, for administrators at the CLI).
    visible: Callable[[User | None], QuerySet]
    # Fills computed columns of a chunk of rows, and may expand rows (orders -> one row per line).
    complete: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    header: Sequence[str] | None = None
    extras: list[ExtraColumns] = field(default_factory=list)
    # How many rows a queryset of records makes (orders: their lines); default: one per record.
    rows_of: Callable[[QuerySet], int] | None = None

    def columns(self) -> list[str]:
        base = list(self.header) if self.header is not None else list(COLUMNS[self.kind].export_header)
        return base + [c for extra in self.extras for c, _t in extra.columns]

    def type_of(self, column: str) -> str:
        for extra in self.extras:
            for name, kind in extra.columns:
                if name == column:
                    return kind
        return self.types.get(column, STR)


_KINDS: dict[str, ExportKind] = {}


def register_export(kind: ExportKind) -> None:
    _KINDS[kind.kind] = kind


def register_customer_columns(extra: ExtraColumns) -> None:
    """Add columns to the customers export (e.g. the latest scores); replaces one of the same name."""
    extras = _KINDS["customers"].extras
    extras[:] = [e for e in extras if e.name != extra.name] + [extra]


def export_kinds() -> list[str]:
    return list(_KINDS)


def get_kind(kind: str) -> ExportKind:
    return _KINDS[kind]


def _scoped(model: type[Model], user: User | None) -> QuerySet:
    qs = model._default_manager.all()  # type: ignore[attr-defined]
    return qs if user is None else of_visible_customers(qs, user)


# ---------------------------------------------------------------- values
# Every CSV and XLSX cell goes through patron.core.cells (text that cannot run as a formula).


def _xlsx_value(value: Any, kind: str) -> Any:
    # Numbers stay numbers for Excel; everything else is the CSV's text, so both import alike.
    return xlsx_cell(value, number=kind in (INT, MONEY, QTY, RATE, FLOAT))


# ---------------------------------------------------------------- reading


def iter_rows(kind: str, qs: QuerySet | None = None, *, user: User | None = None) -> Iterator[list[Any]]:
    """Rows of ``kind`` in header order, from ``qs`` (a filtered list) or everything ``user`` may see."""
    spec = _KINDS[kind]
    if qs is None:
        qs = spec.visible(user).order_by("pk")
    header = spec.columns()
    columns = list(spec.fields)
    paths = [spec.fields[c] for c in columns]
    chunk: list[dict[str, Any]] = []
    for values in qs.values_list(*paths).iterator(chunk_size=CHUNK):
        chunk.append(dict(zip(columns, values, strict=True)))
        if len(chunk) >= CHUNK:
            yield from _finish(spec, chunk, header)
            chunk = []
    if chunk:
        yield from _finish(spec, chunk, header)


def _finish(spec: ExportKind, chunk: list[dict[str, Any]], header: list[str]) -> Iterator[list[Any]]:
    rows = spec.complete(chunk) if spec.complete else chunk
    if spec.extras:
        ids = [r["id"] for r in chunk]
        for extra in spec.extras:
            loaded = extra.load(ids)
            for r in rows:
                r.update(loaded.get(r["id"], {}))
    for r in rows:
        yield [r.get(c) for c in header]


def count(kind: str, *, user: User | None = None) -> int:
    """The rows an export of ``kind`` for ``user`` writes (for progress bars)."""
    spec = _KINDS[kind]
    records = spec.visible(user)
    return spec.rows_of(records) if spec.rows_of else records.count()


# ---------------------------------------------------------------- writing


def iter_csv(kind: str, qs: QuerySet | None = None, *, user: User | None = None) -> Iterator[bytes]:
    """CSV bytes (UTF-8 with BOM), a chunk at a time, for streaming responses and files."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(_KINDS[kind].columns())
    for n, row in enumerate(iter_rows(kind, qs, user=user), start=1):
        writer.writerow([csv_cell(v) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_response(kind: str, qs: QuerySet, filename: str) -> StreamingHttpResponse:
    """A list as a streamed CSV download (the list's filters, sort and visibility apply)."""
    response = StreamingHttpResponse(iter_csv(kind, qs), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _write_csv(kind: str, rows: Iterable[list[Any]], out: IO[bytes]) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    text.write(BOM)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(_KINDS[kind].columns())
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    text.flush()
    text.detach()


def _write_xlsx(kind: str, rows: Iterable[list[Any]], out: IO[bytes]) -> None:
    from openpyxl import Workbook

    spec = _KINDS[kind]
    header = spec.columns()
    types = [spec.type_of(c) for c in header]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(kind)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_value(v, t) for v, t in zip(row, types, strict=True)])
    book.save(out)


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return {
        INT: pa.int64(),
        MONEY: pa.decimal128(16, 2),
        QTY: pa.decimal128(12, 3),
        RATE: pa.decimal128(20, 10),
        FLOAT: pa.float64(),
        BOOL: pa.bool_(),
        DATE: pa.date32(),
        DATETIME: pa.timestamp("us", tz="UTC"),
    }.get(kind, pa.string())


def _write_parquet(kind: str, rows: Iterable[list[Any]], out: IO[bytes]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = _KINDS[kind]
    header = spec.columns()
    schema = pa.schema([(c, _arrow_type(spec.type_of(c))) for c in header])
    writer = pq.ParquetWriter(out, schema, compression="zstd")
    try:
        batch: list[list[Any]] = []
        groups = 0
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK * 5:
                writer.write_table(_table(schema, batch))
                groups += 1
                batch = []
        if batch or not groups:  # an empty export still gets its schema
            writer.write_table(_table(schema, batch))
    finally:
        writer.close()


def _table(schema: Any, rows: list[list[Any]]) -> Any:
    import pyarrow as pa

    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in schema.names]
    arrays = []
    for values, fld in zip(columns, schema, strict=True):
        if pa.types.is_string(fld.type):
            values = [None if v is None else text_value(v) for v in values]
        arrays.append(pa.array(values, type=fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)


WRITERS: dict[str, Callable[[str, Iterable[list[Any]], IO[bytes]], None]] = {
    "csv": _write_csv,
    "xlsx": _write_xlsx,
    "parquet": _write_parquet,
}


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def export_to_file(
    kind: str,
    fmt: str,
    out: Path,
    *,
    user: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every record of ``kind`` that ``user`` may see to ``out``; returns the rows written.

    The file appears only when complete: it is written beside ``out`` and renamed at the end.
    """
    if kind not in _KINDS:
        raise ValueError(kind)
    if fmt not in WRITERS:
        raise ValueError(fmt)
    written = 0

    def counted() -> Iterator[list[Any]]:
        nonlocal written
        for row in iter_rows(kind, user=user):
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(1000)
            yield row

    out = out.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            WRITERS[fmt](kind, counted(), handle)
        # mkstemp makes the file private (0600); give it the permissions a new file normally gets.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(written % 1000)
    audit_record(
        "export.file", object_type=kind,
        changes={"format": fmt, "rows": written, "file": out.name, "as_user": user.get_username() if user else None},
    )
    return written


# ---------------------------------------------------------------- the kinds


def _tags(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    through = Customer.tags.through
    names: dict[int, list[str]] = {}
    for customer_id, tag in (
        through.objects.filter(customer_id__in=[r["id"] for r in rows])
        .order_by("tag__name")
        .values_list("customer_id", "tag__name")
    ):
        names.setdefault(customer_id, []).append(tag)
    for r in rows:
        r["tags"] = TAG_SEPARATOR.join(names.get(r["id"], []))
    return rows


def _customer_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tags joined, and the scores rounded (a customer never scored keeps empty cells)."""
    for r in _tags(rows):
        for column, places in FLOAT_PLACES.items():
            if r[column] is not None:
                r[column] = round(r[column], places)
        r["value_class"] = r["value_class"] or None
        r["rfm_segment"] = r["rfm_segment"] or None
    return rows


def _order_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines: dict[int, list[tuple[Any, ...]]] = {}
    for line in (
        OrderLine.objects.filter(order_id__in=[r["id"] for r in rows])
        .order_by("order_id", "line_no")
        .values_list("order_id", "line_no", "product__sku", "product__name", "quantity", "unit_price", "unit_cost", "amount")
    ):
        lines.setdefault(line[0], []).append(line[1:])
    out = []
    for r in rows:
        for line_no, sku, product_name, quantity, unit_price, unit_cost, amount in lines.get(r["id"], []):
            out.append(
                {
                    **r,
                    "line_no": line_no,
                    "product_sku": sku,
                    "product_name": product_name,
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "unit_cost": unit_cost,
                    "line_amount": amount,
                }
            )
    return out


_CUSTOMER_REF = {
    "customer_external_id": "customer__external_id",
    "customer_id": "customer_id",
    "customer_name": "customer__name",
}

register_export(
    ExportKind(
        "customers",
        Customer,
        fields={
            "id": "id",
            "external_id": "external_id",
            "name": "name",
            "kind": "kind",
            "email": "email",
            "phone": "phone",
            "city": "city",
            "address": "address",
            "owner": "owner__username",
            "branch": "branch__code",
            "region": "region__code",
            "stage": "stage",
            "acquired_on": "acquired_on",
            "acquisition_channel": "acquisition_channel",
            "acquisition_cost": "acquisition_cost",
            "currency": "currency",
            "is_key_account": "is_key_account",
            "consent_email": "consent_email",
            "consent_survey": "consent_survey",
            "revenue_total": "revenue_total",
            "cogs_total": "cogs_total",
            "cost_to_serve_total": "cost_to_serve_total",
            "profit_total": "profit_total",
            "order_count": "order_count",
            "first_order_at": "first_order_at",
            "last_order_at": "last_order_at",
            # The current scores through the one-to-one join: no query more per chunk.
            "value_class": "score__value_class",
            "clv": "score__clv",
            "p_alive": "score__p_alive",
            "churn_risk": "score__churn_risk",
            "rfm_segment": "score__rfm_segment",
        },
        types={
            "id": INT,
            "acquired_on": DATE,
            "acquisition_cost": MONEY,
            "is_key_account": BOOL,
            "consent_email": BOOL,
            "consent_survey": BOOL,
            "revenue_total": MONEY,
            "cogs_total": MONEY,
            "cost_to_serve_total": MONEY,
            "profit_total": MONEY,
            "order_count": INT,
            "first_order_at": DATETIME,
            "last_order_at": DATETIME,
            "clv": FLOAT,
            "p_alive": FLOAT,
            "churn_risk": FLOAT,
        },
        visible=lambda user: Customer.objects.all() if user is None else visible_customers(user),
        complete=_customer_rows,
    )
)

register_export(
    ExportKind(
        "contacts",
        Contact,
        fields={
            "id": "id",
            "external_id": "external_id",
            **_CUSTOMER_REF,
            "name": "name",
            "title": "title",
            "email": "email",
            "phone": "phone",
            "is_primary": "is_primary",
            "consent_email": "consent_email",
            "consent_survey": "consent_survey",
        },
        types={"id": INT, "customer_id": INT, "is_primary": BOOL, "consent_email": BOOL, "consent_survey": BOOL},
        visible=lambda user: _scoped(Contact, user),
    )
)

register_export(
    ExportKind(
        "products",
        Product,
        fields={
            "id": "id",
            "external_id": "external_id",
            "sku": "sku",
            "name": "name",
            "category": "category",
            "list_price": "list_price",
            "unit_cost": "unit_cost",
            "currency": "currency",
            "is_active": "is_active",
        },
        types={"id": INT, "list_price": MONEY, "unit_cost": MONEY, "is_active": BOOL},
        # The catalogue is not customer data: everyone who may sign in may read it.
        visible=lambda user: Product.objects.all(),
    )
)

register_export(
    ExportKind(
        "orders",
        Order,
        fields={
            "id": "id",
            "external_id": "external_id",
            **_CUSTOMER_REF,
            "channel": "channel",
            "branch": "branch__code",
            "ordered_at": "ordered_at",
            "currency": "currency",
            "exchange_rate": "exchange_rate",
            "base_revenue": "base_revenue",
            "base_cost_of_goods": "base_cost_of_goods",
        },
        types={
            "id": INT,
            "customer_id": INT,
            "ordered_at": DATETIME,
            "line_no": INT,
            "quantity": QTY,
            "unit_price": MONEY,
            "unit_cost": MONEY,
            "line_amount": MONEY,
            "exchange_rate": RATE,
            "base_revenue": MONEY,
            "base_cost_of_goods": MONEY,
        },
        visible=lambda user: _scoped(Order, user),
        complete=_order_lines,
        rows_of=lambda orders: OrderLine.objects.filter(order__in=orders).count(),
    )
)

register_export(
    ExportKind(
        "interactions",
        Interaction,
        fields={
            "id": "id",
            "external_id": "external_id",
            **_CUSTOMER_REF,
            "contact_external_id": "contact__external_id",
            "channel": "channel",
            "direction": "direction",
            "subject": "subject",
            "body": "body",
            "occurred_at": "occurred_at",
            "handled_by": "handled_by__username",
        },
        types={"id": INT, "customer_id": INT, "occurred_at": DATETIME},
        visible=lambda user: _scoped(Interaction, user),
    )
)

register_export(
    ExportKind(
        "cost_events",
        CostEvent,
        fields={
            "id": "id",
            "external_id": "external_id",
            **_CUSTOMER_REF,
            "kind": "kind",
            "amount": "amount",
            "currency": "currency",
            "occurred_at": "occurred_at",
            "note": "note",
            "exchange_rate": "exchange_rate",
            "base_amount": "base_amount",
        },
        types={
            "id": INT,
            "customer_id": INT,
            "amount": MONEY,
            "occurred_at": DATETIME,
            "exchange_rate": RATE,
            "base_amount": MONEY,
        },
        visible=lambda user: _scoped(CostEvent, user),
    )
)

register_export(
    ExportKind(
        "rates",
        ExchangeRate,
        fields={"currency": "currency", "date": "date", "rate": "rate", "source": "source"},
        types={"date": DATE, "rate": RATE},
        # Exchange rates are not customer data: everyone who may sign in may read them.
        visible=lambda user: ExchangeRate.objects.all(),
    )
)

register_export(
    ExportKind(
        "tasks",
        Task,
        fields={
            "id": "id",
            "external_id": "external_id",
            **_CUSTOMER_REF,
            "title": "title",
            "notes": "notes",
            "assignee": "assignee__username",
            "due_at": "due_at",
            "status": "status",
            "completed_at": "completed_at",
            "created_at": "created_at",
        },
        types={"id": INT, "customer_id": INT, "due_at": DATETIME, "completed_at": DATETIME, "created_at": DATETIME},
        visible=lambda user: _scoped(Task, user),
    )
)
