"""The column names of every kind of record, defined once for export and import.

For each kind, ``COLUMNS[kind].columns`` is the ordered header an export writes and the default
mapping an import reads, so a file exported from Patron imports back with no mapping and changes
nothing. ``COLUMNS[kind].derived`` are columns an export adds for people and analysis (Patron's
own ids, names, computed figures); an import ignores them when it finds them.

Value formats (the same on both sides):
- dates and times: ISO 8601 (``2024-03-05``; ``2024-03-05T14:30:00+08:00``, always with an offset);
- decimals: digits with ``.`` as the decimal point and no thousands separator (``1234.50``);
- booleans: ``true`` / ``false``;
- users by username, branches and regions by code, products by SKU;
- a customer by ``customer_external_id`` when it has one, else by ``customer_id`` (Patron's id,
  meaningful only in the database the file came from);
- tags in one cell separated by ``;``;
- empty cell: no value.

An order is one row per line: the order's columns repeat on each of its lines, and the lines of
one order share its ``external_id`` (or its ``id`` when it has no external id).

Other apps add kinds with ``register_kind`` (survey responses come from the feedback app); extra
customer columns for the analytical export (scores) are registered in ``patron.ingest.export``.
"""

from __future__ import annotations

from dataclasses import dataclass

TAG_SEPARATOR = ";"
TRUE = "true"
FALSE = "false"


@dataclass(frozen=True)
class KindColumns:
    kind: str
    # Written by export and read by import, in this order.
    columns: tuple[str, ...]
    # Written by export only; ignored by import.
    derived: tuple[str, ...] = ()
    # Columns a row must fill for an import to accept it.
    required: tuple[str, ...] = ()
    # False for kinds that are exported but not imported (tasks).
    importable: bool = True

    @property
    def export_header(self) -> tuple[str, ...]:
        """The export's header: Patron's id first, then the importable columns, then the rest."""
        head = tuple(c for c in self.derived if c == "id")
        tail = tuple(c for c in self.derived if c != "id")
        return head + self.columns + tail


COLUMNS: dict[str, KindColumns] = {}


def register_kind(spec: KindColumns) -> None:
    COLUMNS[spec.kind] = spec


register_kind(
    KindColumns(
        "customers",
        columns=(
            "external_id",
            "name",
            "kind",
            "email",
            "phone",
            "city",
            "address",
            "owner",
            "branch",
            "region",
            "stage",
            "acquired_on",
            "acquisition_channel",
            "acquisition_cost",
            "currency",
            "is_key_account",
            "consent_email",
            "consent_survey",
            "tags",
        ),
        derived=(
            "id",
            "revenue_total",
            "cogs_total",
            "cost_to_serve_total",
            "profit_total",
            "order_count",
            "first_order_at",
            "last_order_at",
            # The current scores (insights), so a segment or a list leaves with its value.
            "value_class",
            "clv",
            "p_alive",
            "churn_risk",
            "rfm_segment",
        ),
        required=("name",),
    )
)

register_kind(
    KindColumns(
        "contacts",
        columns=(
            "external_id",
            "customer_external_id",
            "customer_id",
            "name",
            "title",
            "email",
            "phone",
            "is_primary",
            "consent_email",
            "consent_survey",
        ),
        derived=("id", "customer_name"),
        required=("name",),
    )
)

register_kind(
    KindColumns(
        "products",
        columns=("external_id", "sku", "name", "category", "list_price", "unit_cost", "currency", "is_active"),
        derived=("id",),
        required=("sku", "name", "list_price", "unit_cost"),
    )
)

register_kind(
    KindColumns(
        "orders",
        columns=(
            "external_id",
            "customer_external_id",
            "customer_id",
            "channel",
            "branch",
            "ordered_at",
            "currency",
            "line_no",
            "product_sku",
            "quantity",
            "unit_price",
            "unit_cost",
        ),
        # The order's rate and amounts in the base currency (commerce.currency), on each line.
        derived=("id", "customer_name", "product_name", "line_amount", "exchange_rate", "base_revenue",
                 "base_cost_of_goods"),
        required=("channel", "ordered_at", "product_sku", "quantity"),
    )
)

register_kind(
    KindColumns(
        "interactions",
        columns=(
            "external_id",
            "customer_external_id",
            "customer_id",
            "contact_external_id",
            "channel",
            "direction",
            "subject",
            "body",
            "occurred_at",
            "handled_by",
        ),
        derived=("id", "customer_name"),
        required=("channel", "subject", "occurred_at"),
    )
)

register_kind(
    KindColumns(
        "cost_events",
        columns=(
            "external_id",
            "customer_external_id",
            "customer_id",
            "kind",
            "amount",
            "currency",
            "occurred_at",
            "note",
        ),
        derived=("id", "customer_name", "exchange_rate", "base_amount"),
        required=("kind", "amount", "occurred_at"),
    )
)

register_kind(
    KindColumns(
        "rates",
        # Base-currency units for one unit of ``currency`` on ``date`` (commerce.currency).
        columns=("currency", "date", "rate", "source"),
        required=("currency", "date", "rate"),
    )
)

register_kind(
    KindColumns(
        "tasks",
        columns=(
            "external_id",
            "customer_external_id",
            "customer_id",
            "title",
            "notes",
            "assignee",
            "due_at",
            "status",
            "completed_at",
        ),
        derived=("id", "customer_name", "created_at"),
        required=("title",),
        importable=False,
    )
)


def import_columns(kind: str) -> tuple[str, ...]:
    """The default mapping of an import: these header names, matched exactly."""
    return COLUMNS[kind].columns


def export_columns(kind: str) -> tuple[str, ...]:
    """The header of an export of ``kind`` (before any registered extra customer columns)."""
    return COLUMNS[kind].export_header


def importable_kinds() -> list[str]:
    return [k for k, spec in COLUMNS.items() if spec.importable]
