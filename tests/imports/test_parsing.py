"""The cell parsers: every date and amount format the import promises, and clear refusals."""

from __future__ import annotations

import codecs
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from patron.imports.parsing import (
    ChoiceParser,
    ParseError,
    UnreadableFileError,
    check_places,
    detect_encoding,
    normalise_name,
    normalise_phone,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_money,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("1234.50", "1234.50", None),
        ("¥1,234.50", "1234.50", "CNY"),
        ("￥1,234.50", "1234.50", "CNY"),
        ("$1,234.50", "1234.50", "USD"),
        ("1 234,50 €", "1234.50", "EUR"),
        ("1\u00a0234,50 €", "1234.50", "EUR"),
        ("1\u202f234,50", "1234.50", None),
        ("1.234,50", "1234.50", None),
        ("1.234.567,89", "1234567.89", None),
        ("1,234,567.89", "1234567.89", None),
        ("(12.00)", "-12.00", None),
        ("(¥12.00)", "-12.00", "CNY"),
        ("-12", "-12", None),
        ("−12.5", "-12.5", None),
        ("-¥8.10", "-8.10", "CNY"),
        ("12元", "12", "CNY"),
        ("CNY 12.30", "12.30", "CNY"),
        ("12.30 usd", "12.30", "USD"),
        ("RMB 99", "99", "CNY"),
        ("HK$10", "10", "HKD"),
        ("1,234", "1234", None),
        ("1,23", "1.23", None),
        ("0,5", "0.5", None),
        ("1'234.50", "1234.50", None),
    ],
)
def test_amount_formats(text, amount, currency):
    assert parse_money(text) == (Decimal(amount), currency)


@pytest.mark.parametrize("text", ["abc", "12.34.56,7,8", "1,2,3", "1 23,50", "$$5", "¥1,234.50 €", "--5", "(-5)", "1e5", "NaN", "12,"])
def test_amounts_that_do_not_parse(text):
    with pytest.raises(ParseError):
        parse_money(text)


def test_excel_numbers_and_places():
    assert parse_money(0.1 + 0.2)[0] == Decimal("0.300000")
    assert check_places(parse_money(0.1 + 0.2)[0], 2, 16, 0.3) == Decimal("0.30")
    assert parse_money(12)[0] == Decimal(12)
    with pytest.raises(ParseError, match="more than 2 decimal places"):
        check_places(Decimal("12.345"), 2, 16, "12.345")
    with pytest.raises(ParseError, match="too large"):
        check_places(Decimal("1e15"), 2, 16, "1e15")
    with pytest.raises(ParseError):
        parse_decimal("¥12")  # a quantity has no currency
    assert parse_decimal("1,5") == Decimal("1.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/3/5", date(2024, 3, 5)),
        ("2024.03.05", date(2024, 3, 5)),
        ("2024年3月5日", date(2024, 3, 5)),
        ("2024年03月05号", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("25/03/2024", date(2024, 3, 25)),  # unambiguous: 25 cannot be a month
        ("03/25/2024", date(2024, 3, 25)),
        ("5 Mar 2024", date(2024, 3, 5)),
        ("March 5, 2024", date(2024, 3, 5)),
        ("45356", date(2024, 3, 5)),  # Excel serial as text
        (45356, date(2024, 3, 5)),  # Excel serial as a number cell
        (45356.75, date(2024, 3, 5)),
        ("2024-03-05T23:30:00+08:00", date(2024, 3, 5)),
        (datetime(2024, 3, 5, 10, 0), date(2024, 3, 5)),
    ],
)
def test_date_formats(text, expected):
    assert parse_date(text) == expected


def test_declared_date_order_decides_ambiguous_dates():
    assert parse_date("05/03/2024", date_order="dmy") == date(2024, 3, 5)
    assert parse_date("05/03/2024", date_order="mdy") == date(2024, 5, 3)
    assert parse_date("05.03.24", date_order="dmy") == date(2024, 3, 5)
    with pytest.raises(ParseError, match="declare the date order"):
        parse_date("05/03/2024")


@pytest.mark.parametrize("text", ["2024-02-30", "31/31/2024", "yesterday", "2024-13-01", "13/13/2024", "0", "5 Foo 2024"])
def test_dates_that_do_not_parse(text):
    with pytest.raises(ParseError):
        parse_date(text, date_order="dmy")


def test_datetimes_keep_offsets_and_localise_naive_times():
    assert parse_datetime("2024-03-05T14:30:00+08:00") == datetime(2024, 3, 5, 6, 30, tzinfo=UTC)
    assert parse_datetime("2024-03-05T06:30:00Z") == datetime(2024, 3, 5, 6, 30, tzinfo=UTC)
    assert parse_datetime("2024-03-05 14:30:00-05:00") == datetime(2024, 3, 5, 19, 30, tzinfo=UTC)
    # Naive times take the configured TIME_ZONE (Asia/Shanghai in the test settings).
    assert parse_datetime("2024-03-05 14:30") == datetime(2024, 3, 5, 14, 30, tzinfo=SHANGHAI)
    assert parse_datetime("2024/3/5 2:30 PM") == datetime(2024, 3, 5, 14, 30, tzinfo=SHANGHAI)
    assert parse_datetime("2024年3月5日 08:05:09") == datetime(2024, 3, 5, 8, 5, 9, tzinfo=SHANGHAI)
    assert parse_datetime("05/03/2024 09:00", date_order="dmy") == datetime(2024, 3, 5, 9, 0, tzinfo=SHANGHAI)
    assert parse_datetime("2024-03-05") == datetime(2024, 3, 5, tzinfo=SHANGHAI)
    assert parse_datetime(45356.5) == datetime(2024, 3, 5, 12, 0, tzinfo=SHANGHAI)
    assert parse_datetime(datetime(2024, 3, 5, 9)) == datetime(2024, 3, 5, 9, tzinfo=SHANGHAI)
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_datetime("2024-07-01 12:00", tz=berlin).utcoffset() == timedelta(hours=2)
    assert parse_datetime("2024-03-05 14:30:00+0530").utcoffset() == timedelta(hours=5, minutes=30)
    assert parse_datetime("2024-03-05T14:30:00.123456+00:00").microsecond == 123456
    assert parse_datetime("2024-03-05 10:00 +01:00").tzinfo == timezone(timedelta(hours=1))
    for bad in ("2024-03-05 25:00", "2024-03-05 13:00 PM", "2024-03-05 10:61"):
        with pytest.raises(ParseError):
            parse_datetime(bad)


def test_booleans_and_choices():
    for yes in ("true", "TRUE", "yes", "Y", "1", "是", "x", True, 1):
        assert parse_bool(yes) is True
    for no in ("false", "no", "0", "否", False, 0):
        assert parse_bool(no) is False
    with pytest.raises(ParseError):
        parse_bool("maybe")
    channel = ChoiceParser([("web", "Web"), ("phone", "Phone / call centre")])
    assert channel("WEB") == "web"
    assert channel("Phone / call centre") == "phone"
    with pytest.raises(ParseError, match="web, phone"):
        channel("fax")


def test_choice_labels_in_chinese():
    from patron.customers.models import Customer

    stage = ChoiceParser(Customer.Stage.choices)
    from django.utils.translation import gettext, override

    with override("zh-hans"):
        label = gettext("At risk")
    assert stage(label) == "at_risk"


def test_normalisation_for_duplicates():
    assert normalise_phone("+86 138-0013-8000") == "8613800138000"
    assert normalise_name("  Zhang,  Wei ") == normalise_name("zhang wei") == "zhangwei"
    assert normalise_name("O'Brien & Co.") == "obrienco"
    assert normalise_name(" 张 伟 ") == "张 伟"  # Chinese names compare as written
    assert normalise_name("张伟") != normalise_name("张 伟")


def test_encoding_detection(tmp_path):
    text = "external_id,name\nC1,张伟\n"
    plain = tmp_path / "utf8.csv"
    plain.write_bytes(text.encode("utf-8"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(text.encode("gb18030"))
    assert detect_encoding(plain) == "utf-8-sig"
    assert detect_encoding(bom) == "utf-8-sig"
    assert detect_encoding(gbk) == "gb18030"
    binary = tmp_path / "junk.csv"
    binary.write_bytes(bytes([0x81, 0x20, 0xFF, 0xFE, 0x00]) * 10)
    with pytest.raises(UnreadableFileError):
        detect_encoding(binary)
