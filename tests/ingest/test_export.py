"""Export: the shared headers, one value format, visibility, streaming, and a round trip."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patron.commerce.models import CostEvent, Order, OrderLine, Product
from patron.commerce.services import LineInput, cost_event_create, order_create
from patron.core.columns import COLUMNS, export_columns, import_columns, importable_kinds
from patron.customers.models import Contact, Customer
from patron.customers.services import contact_create
from patron.engagement.models import Interaction
from patron.engagement.services import interaction_create, task_create
from patron.ingest import export
from tests.api.conftest import client_for
from tests.factories import make_customer, make_product

pytestmark = pytest.mark.django_db


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def data(alice, bob, north):
    tea = make_product(sku="TEA", price=Decimal("88.50"), cost=Decimal("30.25"), external_id="P-TEA")
    cup = make_product(sku="CUP", price=Decimal("12.00"), cost=Decimal("3.10"))
    mine = make_customer(
        "张伟", owner=alice, branch=north, external_id="C-1", email="zw@example.com", tags=["vip", "茶"],
        acquired_on=timezone.now().date() - timedelta(days=400), acquisition_channel="web",
        acquisition_cost=Decimal("15.50"), consent_email=True,
    )
    theirs = make_customer("Bob's, \"quoted\"", owner=bob, external_id="C-2")
    at = timezone.now().replace(microsecond=0) - timedelta(days=3)
    order_create(customer=mine, channel="store", ordered_at=at, external_id="O-1", branch=north,
                 lines=[LineInput(tea, Decimal("1.5")), LineInput(cup, 4, unit_price=Decimal("10.00"))])
    order_create(customer=theirs, channel="web", ordered_at=at, external_id="O-2", lines=[LineInput(cup, 1)])
    cost_event_create(customer=mine, kind="delivery", amount=Decimal("8.80"), occurred_at=at, external_id="CE-1")
    contact = contact_create(customer=mine, name="Li Na", external_id="CT-1", is_primary=True)
    interaction_create(customer=mine, channel="call", subject="Renewal, soon", occurred_at=at, handled_by=alice,
                       contact=contact, external_id="I-1", body="Line one\nline two")
    task_create(customer=mine, title="Call back", external_id="T-1")
    return mine, theirs


@pytest.mark.parametrize("kind", ["customers", "contacts", "products", "orders", "interactions", "cost_events", "tasks"])
def test_every_kind_exports_with_the_shared_header(tmp_path, data, kind):
    out = tmp_path / f"{kind}.csv"
    call_command("export", kind, "--format", "csv", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    rows = read_csv(out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == export_columns(kind)
    assert set(import_columns(kind)) <= set(header) if COLUMNS[kind].importable else True
    assert rows, kind


def test_values_are_iso_dates_dot_decimals_and_true_false(tmp_path, data):
    mine, _ = data
    out = tmp_path / "customers.csv"
    call_command("export", "customers", "--format", "csv", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    row = next(r for r in read_csv(out) if r["external_id"] == "C-1")
    mine.refresh_from_db()
    assert row["name"] == "张伟" and row["owner"] == "alice" and row["branch"] == "N1" and row["region"] == "N"
    assert row["tags"] == "vip;茶"
    assert row["acquisition_cost"] == "15.50" and row["consent_email"] == "true" and row["is_key_account"] == "false"
    assert row["revenue_total"] == str(mine.revenue_total) == "172.75"  # 1.5×88.50 = 132.75 (rounded) + 4×10
    assert row["profit_total"] == str(mine.profit_total)
    assert row["acquired_on"] == mine.acquired_on.isoformat()
    first = timezone.datetime.fromisoformat(row["first_order_at"])
    assert first.utcoffset() == timedelta(hours=8) and first == mine.first_order_at  # Asia/Shanghai, with offset


def test_orders_have_one_row_per_line(tmp_path, data):
    out = tmp_path / "orders.csv"
    call_command("export", "orders", "--format", "csv", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    rows = [r for r in read_csv(out) if r["external_id"] == "O-1"]
    assert [(r["line_no"], r["product_sku"], r["quantity"], r["unit_price"], r["line_amount"]) for r in rows] == [
        ("1", "TEA", "1.500", "88.50", "132.75"),
        ("2", "CUP", "4.000", "10.00", "40.00"),
    ]
    assert {r["customer_external_id"] for r in rows} == {"C-1"} and {r["branch"] for r in rows} == {"N1"}


def test_user_option_restricts_to_what_that_user_sees(tmp_path, data):
    out = tmp_path / "orders.csv"
    call_command("export", "orders", "--format", "csv", "--out", str(out), "--user", "alice",
                 stdout=io.StringIO(), stderr=io.StringIO())
    assert {r["external_id"] for r in read_csv(out)} == {"O-1"}
    call_command("export", "customers", "--format", "csv", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    assert {r["external_id"] for r in read_csv(out)} == {"C-1", "C-2"}
    with pytest.raises(CommandError, match="no user named ghost"):
        call_command("export", "orders", "--out", str(out), "--user", "ghost", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError):
        call_command("export", "planets", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())


def test_xlsx_and_parquet(tmp_path, data):
    import pyarrow.parquet as pq
    from openpyxl import load_workbook

    xlsx = tmp_path / "orders.xlsx"
    call_command("export", "orders", "--format", "xlsx", "--out", str(xlsx), stdout=io.StringIO(), stderr=io.StringIO())
    sheet = load_workbook(xlsx, read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == export_columns("orders")
    first = dict(zip(values[0], values[1], strict=True))
    assert isinstance(first["quantity"], int | float) and first["external_id"] in {"O-1", "O-2"}

    parquet = tmp_path / "customers.parquet"
    call_command("export", "customers", "--format", "parquet", "--out", str(parquet), stdout=io.StringIO(), stderr=io.StringIO())
    table = pq.read_table(parquet)
    assert table.column_names == list(export_columns("customers"))
    assert str(table.schema.field("profit_total").type) == "decimal128(16, 2)"
    assert str(table.schema.field("last_order_at").type) == "timestamp[us, tz=UTC]"
    by_ext = {r["external_id"]: r for r in table.to_pylist()}
    assert by_ext["C-1"]["revenue_total"] == Decimal("172.75") and by_ext["C-1"]["consent_email"] is True


def test_the_customers_export_carries_the_current_scores(tmp_path, data):
    from patron.insights.models import CurrentScore

    mine, theirs = data
    CurrentScore.objects.create(
        customer=mine, updated_at=timezone.now(), value_class="most_valuable", clv=1234.56789,
        p_alive=0.876543, churn_risk=0.123456, rfm_segment="champions",
    )
    out = tmp_path / "customers.csv"
    call_command("export", "customers", "--format", "csv", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    by_name = {r["name"]: r for r in read_csv(out)}
    scored = by_name["张伟"]
    assert (scored["value_class"], scored["clv"], scored["p_alive"], scored["churn_risk"], scored["rfm_segment"]) == (
        "most_valuable", "1234.57", "0.8765", "0.1235", "champions"
    )
    # A customer not scored yet: empty cells, not zeros.
    unscored = by_name[theirs.name]
    assert [unscored[c] for c in ("value_class", "clv", "p_alive", "churn_risk", "rfm_segment")] == [""] * 5
    # Parquet keeps the estimates as numbers.
    import pyarrow.parquet as pq

    parquet = tmp_path / "customers.parquet"
    call_command("export", "customers", "--format", "parquet", "--out", str(parquet), stdout=io.StringIO(),
                 stderr=io.StringIO())
    rows = {r["name"]: r for r in pq.read_table(parquet).to_pylist()}
    assert rows["张伟"]["clv"] == pytest.approx(1234.57) and rows[theirs.name]["churn_risk"] is None
    # The customer list's download and the API's CSV carry them too.
    as_alice = client_for(mine.owner)
    body = b"".join(as_alice.get("/customers", format="csv").streaming_content).decode("utf-8-sig")
    assert next(csv.DictReader(io.StringIO(body)))["clv"] == "1234.57"
    browser = Client()
    browser.force_login(mine.owner)
    page = browser.get("/customers/", {"format": "csv"})
    rows_page = list(csv.DictReader(io.StringIO(b"".join(page.streaming_content).decode("utf-8-sig"))))
    assert rows_page[0]["value_class"] == "most_valuable" and rows_page[0]["rfm_segment"] == "champions"


def test_registered_score_columns_join_the_customers_export(tmp_path, data):
    mine, theirs = data
    extra = export.ExtraColumns(
        "test-scores",
        (("clv", export.MONEY), ("p_alive", "str")),
        lambda ids: {pk: {"clv": Decimal("999.90"), "p_alive": "0.8"} for pk in ids if pk == mine.pk},
    )
    export.register_customer_columns(extra)
    try:
        rows = list(export.iter_rows("customers"))
        header = export.get_kind("customers").columns()
        assert header[-2:] == ["clv", "p_alive"]
        by_name = {r[header.index("name")]: r for r in rows}
        assert by_name["张伟"][-2:] == [Decimal("999.90"), "0.8"]
        assert by_name[theirs.name][-2:] == [None, None]
    finally:
        kind = export.get_kind("customers")
        kind.extras[:] = [e for e in kind.extras if e.name != "test-scores"]


def test_export_is_streamed_in_chunks_with_bounded_queries(monkeypatch, alice):
    monkeypatch.setattr(export, "CHUNK", 10)
    for n in range(45):
        make_customer(f"S{n:02d}", owner=alice, tags=["t"])
    with CaptureQueriesContext(connection) as queries:
        chunks = list(export.iter_csv("customers"))
    text = b"".join(chunks).decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 46
    # One read of the customers plus one tag query per chunk of 10: not one query per customer.
    assert len(queries) <= 8


def test_api_lists_and_the_customer_page_export_csv_with_visibility(data, alice):
    as_alice = client_for(alice)
    response = as_alice.get("/orders", format="csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["external_id"] for r in rows} == {"O-1"} and len(rows) == 2
    assert as_alice.get("/customers", format="xml").status_code == 422
    filtered = b"".join(as_alice.get("/interactions", format="csv", channel="email").streaming_content)
    assert len(filtered.decode("utf-8-sig").strip().splitlines()) == 1  # the header only

    browser = Client()
    browser.force_login(alice)
    page = browser.get("/customers/", {"format": "csv", "q": "张"})
    assert page.status_code == 200 and "attachment" in page["Content-Disposition"]
    names = [r["name"] for r in csv.DictReader(io.StringIO(b"".join(page.streaming_content).decode("utf-8-sig")))]
    assert names == ["张伟"]


def snapshot():
    return {
        "customers": sorted(Customer.objects.values_list(
            "external_id", "name", "email", "owner__username", "branch__code", "stage", "acquisition_cost",
            "consent_email", "revenue_total", "profit_total", "order_count")),
        "tags": sorted(Customer.tags.through.objects.values_list("customer__external_id", "tag__name")),
        "contacts": sorted(Contact.objects.values_list("external_id", "customer_id", "name", "is_primary")),
        "products": sorted(Product.objects.values_list("sku", "name", "list_price", "unit_cost", "is_active")),
        "orders": sorted(Order.objects.values_list("external_id", "customer_id", "channel", "ordered_at", "revenue")),
        "lines": sorted(OrderLine.objects.values_list("order__external_id", "line_no", "product__sku", "quantity", "unit_price", "unit_cost")),
        "interactions": sorted(Interaction.objects.values_list("external_id", "subject", "body", "occurred_at", "handled_by__username")),
        "cost_events": sorted(CostEvent.objects.values_list("external_id", "kind", "amount", "occurred_at")),
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_exported_file_imports_back_unchanged(tmp_path, data, fmt):
    before = snapshot()
    for kind in importable_kinds():
        out = tmp_path / f"{kind}.{fmt}"
        call_command("export", kind, "--format", fmt, "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
        call_command("import", kind, str(out), stdout=io.StringIO(), stderr=io.StringIO())
    assert snapshot() == before


def test_the_file_gets_ordinary_permissions_and_no_partial_file_is_left(tmp_path, data, monkeypatch):
    import os

    out = tmp_path / "products.csv"
    call_command("export", "products", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(export.WRITERS, "csv", broken)
    with pytest.raises(RuntimeError):
        call_command("export", "products", "--out", str(tmp_path / "new.csv"), stdout=io.StringIO(), stderr=io.StringIO())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["products.csv"]
