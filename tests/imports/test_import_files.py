"""Files as people have them: encodings, XLSX, bad rows, error files, dry runs and kills."""

from __future__ import annotations

import codecs
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from patron.commerce.models import Order, OrderLine
from patron.commerce.signals import customers_changed
from patron.customers.models import Customer
from patron.imports.engine import ImportInputError
from tests.factories import make_customer, make_product
from tests.imports.helpers import counts, read_errors, run, write_csv, write_xlsx

pytestmark = pytest.mark.django_db

HEADER = ["external_id", "name", "email", "phone", "city", "acquired_on", "acquisition_cost", "tags"]
ROWS = [
    ["C-001", "张伟", "zhangwei@example.cn", "138 0013 8000", "北京", "2024年3月5日", "￥1,234.50", "重点;北区"],
    ["C-002", "李娜", "", "", "上海", "2024/3/6", "0", ""],
    ["C-003", "Müller GmbH", "info@mueller.de", "+49 30 1234567", "Berlin", "2024-03-07", "1.234,50 €", "export"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    rows = ROWS[:2]  # GBK cannot encode "ü"
    path = write_csv(tmp_path / f"{encoding}.csv", HEADER, rows, encoding=encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(codecs.BOM_UTF8)
    result = run(path, "customers")
    assert counts(result) == (2, 0, 0, 0), result.errors
    zhang = Customer.objects.get(external_id="C-001")
    assert (zhang.name, zhang.city, zhang.phone) == ("张伟", "北京", "+8613800138000")  # stored in E.164
    assert zhang.acquired_on == date(2024, 3, 5)
    assert zhang.acquisition_cost == Decimal("1234.50")
    assert sorted(zhang.tags.values_list("name", flat=True)) == ["北区", "重点"]
    assert "北京" in zhang.name_search or zhang.name_search.startswith("zhang")


def test_declared_encoding_and_bad_encoding(tmp_path):
    path = write_csv(tmp_path / "gbk.csv", HEADER, ROWS[:1], encoding="gb18030")
    assert counts(run(path, "customers", encoding="gb18030")) == (1, 0, 0, 0)
    with pytest.raises(ImportInputError, match="not valid utf-8"):
        run(path, "customers", encoding="utf-8")
    with pytest.raises(ImportInputError, match="Unknown encoding"):
        run(path, "customers", encoding="klingon")


def test_semicolon_csv_from_european_excel(tmp_path):
    path = write_csv(tmp_path / "eu.csv", HEADER, ROWS[2:], delimiter=";")
    assert counts(run(path, "customers")) == (1, 0, 0, 0)
    mueller = Customer.objects.get(external_id="C-003")
    assert mueller.acquisition_cost == Decimal("1234.50")
    assert mueller.currency == "EUR"  # the € in the amount names the currency


def test_xlsx_with_native_dates_numbers_and_text(tmp_path):
    path = write_xlsx(
        tmp_path / "customers.xlsx",
        HEADER,
        [
            ["C-001", "张伟", "zw@example.cn", 13800138000, "北京", datetime(2024, 3, 5), 1234.5, "vip"],
            [1002, "Li Na", None, "010-6232-1234", "上海", 45356, "¥99.90", None],
            ["C-003", "Bad Date", None, None, None, "someday", 5, None],
        ],
    )
    result = run(path, "customers")
    assert result.format == "xlsx"
    assert counts(result) == (2, 0, 0, 1)
    zhang = Customer.objects.get(external_id="C-001")
    assert zhang.phone == "+8613800138000"  # a number cell, without ".0", in E.164
    assert zhang.acquired_on == date(2024, 3, 5)
    assert zhang.acquisition_cost == Decimal("1234.50")
    li = Customer.objects.get(external_id="1002")
    assert li.acquired_on == date(2024, 3, 5)  # Excel serial
    assert result.errors == [(4, "acquired_on: “someday” is not a date.")]
    errors = read_errors(result.error_file)
    assert errors[0]["external_id"] == "C-003" and errors[0]["line"] == "4"
    # Importing the same workbook again changes nothing.
    assert counts(run(path, "customers")) == (0, 0, 2, 1)


def test_unusable_inputs(tmp_path):
    with pytest.raises(ImportInputError, match="Unknown kind"):
        run(tmp_path / "x.csv", "planets")
    with pytest.raises(ImportInputError, match="no file"):
        run(tmp_path / "missing.csv", "customers")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ImportInputError, match="empty"):
        run(empty, "customers")
    twice = write_csv(tmp_path / "twice.csv", ["name", "name"], [["a", "b"]])
    with pytest.raises(ImportInputError, match="appears twice"):
        run(twice, "customers")
    no_name = write_csv(tmp_path / "noname.csv", ["external_id", "email"], [["C1", "a@b.cn"]])
    with pytest.raises(ImportInputError, match="No column is mapped to name"):
        run(no_name, "customers")
    fake_xlsx = tmp_path / "fake.xlsx"
    fake_xlsx.write_bytes(b"not a zip")
    with pytest.raises(ImportInputError, match="XLSX"):
        run(fake_xlsx, "customers")
    with pytest.raises(ImportInputError, match="which customers do not have"):
        run(write_csv(tmp_path / "ok.csv", HEADER, ROWS[:1]), "customers", columns={"name": "nickname"})
    assert not Customer.objects.exists()


def test_bad_rows_are_reported_by_line_and_the_fixed_error_file_imports(tmp_path):
    path = write_csv(
        tmp_path / "customers.csv",
        HEADER,
        [
            ROWS[0],  # line 2
            ["C-010", "", "", "", "", "", "", ""],  # line 3: no name
            ["C-011", "Wang Fang", "not-an-email", "", "", "2024-02-30", "", ""],  # line 4: two bad cells
            ["", "No Id", "", "", "", "", "", ""],  # line 5: no key
            ["C-012", "Zhou Jie", "", "", "", "", "12.345", ""],  # line 6: 3 decimals
            ["C-001", "张伟 again", "", "", "", "", "", ""],  # line 7: duplicate external id
            ROWS[1],  # line 8
        ],
    )
    result = run(path, "customers")
    assert counts(result) == (2, 0, 0, 5)
    lines = dict(result.errors)
    assert set(lines) == {3, 4, 5, 6, 7}
    assert "name is required" in lines[3]
    assert "email: “not-an-email” is not an email address." in lines[4]
    assert "acquired_on: “2024-02-30” is not a date." in lines[4]
    assert "Give external_id, id, email or phone" in lines[5]
    assert "more than 2 decimal places" in lines[6]
    assert "already appears on line 2" in lines[7]
    error_file = tmp_path / "customers.csv.errors.csv"
    assert result.error_file == error_file
    rows = read_errors(error_file)
    assert [r["line"] for r in rows] == ["3", "4", "5", "6", "7"]
    assert list(rows[0])[: len(HEADER)] == HEADER and list(rows[0])[-2:] == ["line", "error"]
    assert rows[1]["email"] == "not-an-email" and "not a date" in rows[1]["error"]

    # The user fixes the rows in the error file (and drops the duplicate) and imports it.
    fixed = [r for r in rows if r["line"] != "7"]
    fixed[0]["name"] = "Chen Jing"
    fixed[1]["email"], fixed[1]["acquired_on"] = "wf@example.cn", "2024-02-29"
    fixed[2]["external_id"] = "C-013"
    fixed[3]["acquisition_cost"] = "12.35"
    write_csv(error_file, [*HEADER, "line", "error"], [[r[c] for c in [*HEADER, "line", "error"]] for r in fixed], encoding="utf-8-sig")
    again = run(error_file, "customers")
    assert counts(again) == (4, 0, 0, 0), again.errors
    assert again.ignored_columns == ["line", "error"]
    assert Customer.objects.count() == 6
    # A clean run of the original leaves no stale error file behind... after the user fixed it too.
    assert Customer.objects.get(external_id="C-011").acquired_on == date(2024, 2, 29)


def test_error_file_is_removed_when_a_later_run_is_clean(tmp_path):
    path = write_csv(tmp_path / "c.csv", HEADER, [["C-1", "", "", "", "", "", "", ""]])
    assert run(path, "customers").rejected == 1
    assert (tmp_path / "c.csv.errors.csv").exists()
    write_csv(path, HEADER, [["C-1", "Fixed", "", "", "", "", "", ""]])
    assert run(path, "customers").error_file is None
    assert not (tmp_path / "c.csv.errors.csv").exists()


def test_dry_run_writes_nothing_but_reports_everything(tmp_path):
    path = write_csv(tmp_path / "c.csv", HEADER, [*ROWS, ["C-9", "", "", "", "", "", "", ""]])
    result = run(path, "customers", dry_run=True)
    assert counts(result) == (3, 0, 0, 1)
    assert not Customer.objects.exists()
    from patron.customers.models import Tag

    assert not Tag.objects.exists()
    assert read_errors(result.error_file)[0]["line"] == "5"


def test_reimport_changes_nothing_and_a_changed_row_updates(tmp_path):
    path = write_csv(tmp_path / "c.csv", HEADER, ROWS)
    assert counts(run(path, "customers")) == (3, 0, 0, 0)
    stamps = dict(Customer.objects.values_list("external_id", "updated_at"))
    assert counts(run(path, "customers")) == (0, 0, 3, 0)
    assert dict(Customer.objects.values_list("external_id", "updated_at")) == stamps
    changed = [list(r) for r in ROWS]
    changed[1][4] = "杭州"
    changed[0][7] = "重点"  # one tag removed
    write_csv(path, HEADER, changed)
    assert counts(run(path, "customers")) == (0, 2, 1, 0)
    assert Customer.objects.get(external_id="C-002").city == "杭州"
    assert list(Customer.objects.get(external_id="C-001").tags.values_list("name", flat=True)) == ["重点"]
    assert Customer.objects.get(external_id="C-003").updated_at == stamps["C-003"]


def _order_rows(n_orders, lines_per_order=2):
    rows = []
    for o in range(n_orders):
        for line in range(1, lines_per_order + 1):
            rows.append([f"O-{o:04d}", "C-1", "web", f"2024-03-{1 + o % 28:02d} 10:00", line, "SKU-A", "2", "", ""])
    return rows


ORDER_HEADER = ["external_id", "customer_external_id", "channel", "ordered_at", "line_no", "product_sku", "quantity", "unit_price", "unit_cost"]


def test_a_kill_in_the_third_batch_keeps_earlier_batches_and_a_rerun_completes(tmp_path, monkeypatch):
    customer = make_customer("Buyer", external_id="C-1")
    make_product(price=Decimal("10.00"), cost=Decimal("4.00"), sku="SKU-A")
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, _order_rows(10))  # 20 lines, batches of 4 lines

    calls = {"n": 0}

    def dying(sender, customer_ids, **kwargs):
        # Sent once per batch after its writes, before the commit, by both order paths.
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process is killed here

    customers_changed.connect(dying, dispatch_uid="test-kill")
    try:
        with pytest.raises(KeyboardInterrupt):
            run(path, "orders", batch_size=4)
    finally:
        customers_changed.disconnect(dispatch_uid="test-kill")
    assert calls["n"] == 3
    assert Order.objects.count() == 4  # two whole batches of two orders
    assert OrderLine.objects.count() == 8
    customer.refresh_from_db()
    assert (customer.order_count, customer.revenue_total) == (4, Decimal("160.00"))

    result = run(path, "orders", batch_size=4)
    assert counts(result) == (12, 0, 8, 0)
    customer.refresh_from_db()
    assert (customer.order_count, customer.revenue_total, customer.cogs_total) == (10, Decimal("400.00"), Decimal("160.00"))


def test_batches_never_split_an_order(tmp_path):
    make_customer("Buyer", external_id="C-1")
    make_product(sku="SKU-A")
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, _order_rows(3, lines_per_order=5))
    result = run(path, "orders", batch_size=2)
    assert result.batches == 3
    assert counts(result) == (15, 0, 0, 0)


def test_naive_times_take_the_configured_time_zone(tmp_path):
    make_customer("Buyer", external_id="C-1")
    make_product(sku="SKU-A")
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, [["O-1", "C-1", "web", "2024-03-05 10:00", 1, "SKU-A", 1, "", ""]])
    run(path, "orders")
    assert Order.objects.get().ordered_at == datetime(2024, 3, 5, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
