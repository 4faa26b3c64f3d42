"""Each kind: what lands, what re-runs do, and who may import what."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from patron.commerce.bulk import customer_totals_refresh
from patron.commerce.models import CostEvent, ExchangeRate, Order, OrderLine, Product
from patron.commerce.services import cost_event_create
from patron.core.columns import COLUMNS
from patron.customers.models import Contact, Customer
from patron.engagement.models import Interaction
from patron.imports.engine import ImportInputError
from tests.factories import make_customer, make_order, make_product
from tests.imports.helpers import counts, run, write_csv

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
TOTALS = ("revenue_total", "cogs_total", "cost_to_serve_total", "profit_total", "order_count", "first_order_at", "last_order_at")


def totals(customer):
    customer.refresh_from_db()
    return tuple(getattr(customer, f) for f in TOTALS)


def recomputed(customer):
    """What the totals must be: recomputed from scratch, compared with the running ones."""
    kept = totals(customer)
    customer_totals_refresh([customer.pk])
    return kept, totals(customer)


ORDER_HEADER = list(COLUMNS["orders"].columns)


def order_row(ext, customer, sku, qty, *, at="2024-03-05T10:00:00+08:00", line="", price="", cost="", channel="web"):
    values = {
        "external_id": ext, "customer_external_id": customer, "customer_id": "", "channel": channel, "branch": "",
        "ordered_at": at, "currency": "", "line_no": line, "product_sku": sku, "quantity": qty,
        "unit_price": price, "unit_cost": cost,
    }
    return [values[c] for c in ORDER_HEADER]


@pytest.fixture
def catalogue():
    return {
        "A": make_product(price=Decimal("100.00"), cost=Decimal("60.00"), sku="A"),
        "B": make_product(price=Decimal("19.99"), cost=Decimal("7.33"), sku="B"),
    }


def test_orders_twice_keep_totals_exact(tmp_path, catalogue):
    zhang = make_customer("Zhang", external_id="C-1")
    li = make_customer("Li", external_id="C-2")
    make_order(zhang, product=catalogue["A"], at=timezone.now() - timedelta(days=400))  # an order from the UI
    cost_event_create(customer=zhang, kind="delivery", amount=Decimal("5.50"), occurred_at=timezone.now())
    rows = [
        order_row("O-1", "C-1", "A", "2", line=1),
        order_row("O-1", "C-1", "B", "3", line=2, price="¥18.00"),
        order_row("O-2", "C-2", "B", "1.5", at="2024/3/9 9:30"),
        order_row("O-3", "C-1", "A", "1", at="2024-01-02T08:00:00Z", cost="55"),
    ]
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows)
    assert counts(run(path, "orders")) == (4, 0, 0, 0)
    first = totals(zhang), totals(li)
    # revenue: 400-day-old UI order 100 + O-1 (200 + 54) + O-3 100 = 454; goods 60 + (120 + 21.99) + 55
    assert first[0][:5] == (Decimal("454.00"), Decimal("256.99"), Decimal("5.50"), Decimal("191.51"), 3)
    # 1.5 × 19.99 = 29.985 rounds half-even to 29.98, as order_create rounds it
    assert first[1][:5] == (Decimal("29.98"), Decimal("11.00"), Decimal("0"), Decimal("18.98"), 1)
    assert first[1][5] == first[1][6] == datetime(2024, 3, 9, 9, 30, tzinfo=SHANGHAI)
    assert Order.objects.get(external_id="O-1").revenue == Decimal("254.00")

    assert counts(run(path, "orders")) == (0, 0, 4, 0)
    assert (totals(zhang), totals(li)) == first
    assert recomputed(zhang)[0] == recomputed(zhang)[1]

    # A changed line and a moved order update the records and both customers' totals.
    rows[1] = order_row("O-1", "C-1", "B", "4", line=2, price="¥18.00")
    rows[2] = order_row("O-2", "C-1", "B", "1.5", at="2024/3/9 9:30")
    write_csv(path, ORDER_HEADER, rows)
    assert counts(run(path, "orders")) == (0, 2, 2, 0)
    kept, fresh = recomputed(zhang)
    assert kept == fresh and kept[4] == 4
    assert totals(li)[:5] == (Decimal("0"), Decimal("0"), Decimal("0"), Decimal("0"), 0)
    assert totals(li)[5] is None
    assert OrderLine.objects.filter(order__external_id="O-1").count() == 2


def test_lines_without_line_no_are_numbered_in_file_order(tmp_path, catalogue):
    make_customer(external_id="C-1")
    rows = [order_row("O-9", "C-1", "A", "1"), order_row("O-9", "C-1", "B", "2"), order_row("O-9", "C-1", "A", "3")]
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, rows)
    assert counts(run(path, "orders")) == (3, 0, 0, 0)
    assert list(OrderLine.objects.filter(order__external_id="O-9").order_by("line_no").values_list("line_no", "quantity")) == [
        (1, Decimal("1")), (2, Decimal("2")), (3, Decimal("3"))]
    assert counts(run(path, "orders")) == (0, 0, 3, 0)


def test_an_order_lands_whole_or_not_at_all(tmp_path, catalogue):
    make_customer(external_id="C-1")
    rows = [
        order_row("O-1", "C-1", "A", "1"),
        order_row("O-1", "C-1", "NOPE", "1"),  # line 3: unknown product
        order_row("O-1", "C-1", "A", "2"),
        order_row("O-2", "C-1", "A", "1", at="2024-03-06T10:00:00+08:00", channel="fax"),  # line 5: bad channel
        order_row("O-3", "C-1", "A", "1"),
        order_row("O-3", "C-1", "A", "1", channel="store"),  # line 7: disagrees with line 6
        order_row("O-4", "C-1", "A", "-1"),  # line 8: negative quantity
        order_row("O-5", "C-1", "B", "1"),
    ]
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, rows)
    result = run(path, "orders")
    errors = dict(result.errors)
    assert counts(result) == (1, 0, 0, 7)
    assert "No product with SKU NOPE." in errors[3]
    assert "Held back because line 3" in errors[2] and "Held back because line 3" in errors[4]
    assert "channel: “fax” is not one of" in errors[5]
    assert "differ from its line on line 6" in errors[7] and "Held back because line 7" in errors[6]
    assert "quantity: must be more than zero." in errors[8]
    assert list(Order.objects.values_list("external_id", flat=True)) == ["O-5"]


def test_orders_for_unknown_or_invisible_customers_are_rejected(tmp_path, catalogue, alice, bob):
    make_customer("Alice's", external_id="C-A", owner=alice)
    make_customer("Bob's", external_id="C-B", owner=bob)
    rows = [order_row("O-1", "C-A", "A", "1"), order_row("O-2", "C-B", "A", "1"), order_row("O-3", "C-X", "A", "1")]
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, rows)
    result = run(path, "orders", user=alice)
    assert counts(result) == (1, 0, 0, 2)
    assert dict(result.errors)[3] == "No customer with external id C-B that you can edit."
    assert dict(result.errors)[4] == "No customer with external id C-X that you can edit."


def test_customer_by_patron_id_and_currency_from_the_customer(tmp_path, catalogue):
    usd = make_customer("US buyer", currency="USD")
    ExchangeRate.objects.create(currency="USD", date=date(2024, 3, 5), rate=Decimal("7.2"))
    header = ["external_id", "customer_id", "channel", "ordered_at", "product_sku", "quantity"]
    path = write_csv(tmp_path / "o.csv", header, [["O-1", usd.pk, "phone", "2024-03-05", "A", "1"]])
    assert counts(run(path, "orders")) == (1, 0, 0, 0)
    order = Order.objects.get()
    assert order.currency == "USD" and order.base_revenue == (order.revenue * Decimal("7.2")).quantize(Decimal("0.01"))


def test_export_shaped_file_round_trips_without_mapping(tmp_path, catalogue, north):
    """A file with the export's header (ids first, derived columns after) maps itself and a
    second import changes nothing."""
    customers_header = list(COLUMNS["customers"].export_header)
    values = {
        "id": "", "external_id": "C-1", "name": "王芳", "kind": "company", "email": "wf@example.cn",
        "phone": "+86 21 6232 1234", "city": "上海", "address": "", "owner": "", "branch": "N1", "region": "",
        "stage": "at_risk", "acquired_on": "2023-11-01", "acquisition_channel": "partner",
        "acquisition_cost": "300.00", "currency": "CNY", "is_key_account": "true", "consent_email": "false",
        "consent_survey": "true", "tags": "a;b", "revenue_total": "999", "cogs_total": "1", "cost_to_serve_total": "0",
        "profit_total": "998", "order_count": "7", "first_order_at": "", "last_order_at": "",
        "value_class": "most_valuable", "clv": "1234.5", "p_alive": "0.9", "churn_risk": "0.1", "rfm_segment": "champions",
    }
    path = write_csv(tmp_path / "customers.csv", customers_header, [[values[c] for c in customers_header]])
    result = run(path, "customers")
    assert counts(result) == (1, 0, 0, 0), result.errors
    assert "revenue_total" in result.ignored_columns and "id" not in result.ignored_columns
    assert {"value_class", "clv", "churn_risk"} <= set(result.ignored_columns)
    wang = Customer.objects.get(external_id="C-1")
    assert (wang.kind, wang.stage, wang.branch, wang.region, wang.is_key_account) == ("company", "at_risk", north, north.region, True)
    assert wang.revenue_total == 0  # derived columns are not imported
    # The same row as an export of this database would write it, with Patron's id.
    values["id"] = str(wang.pk)
    values["region"] = north.region.code
    write_csv(path, customers_header, [[values[c] for c in customers_header]])
    assert counts(run(path, "customers")) == (0, 0, 1, 0)


def test_a_row_with_only_patrons_id_updates_that_record(tmp_path):
    plain = make_customer("No External Id")
    path = write_csv(tmp_path / "c.csv", ["id", "external_id", "name"], [[plain.pk, "", "Renamed"], [999999, "", "Ghost"]])
    result = run(path, "customers")
    assert counts(result) == (0, 1, 0, 1)
    plain.refresh_from_db()
    assert plain.name == "Renamed" and plain.external_id is None
    assert "No customer with id 999999" in dict(result.errors)[3]


def test_rep_imports_become_theirs_and_cannot_touch_others(tmp_path, alice, bob):
    make_customer("Bob's", external_id="C-B", owner=bob)
    path = write_csv(
        tmp_path / "c.csv",
        ["external_id", "name", "owner"],
        [["C-1", "New One", ""], ["C-2", "Given Away", "bob"], ["C-B", "Hijack", ""], ["C-3", "Mine", "alice"]],
    )
    result = run(path, "customers", user=alice)
    assert counts(result) == (2, 0, 0, 2)
    assert Customer.objects.get(external_id="C-1").owner == alice
    assert Customer.objects.get(external_id="C-3").owner == alice
    assert "only import customers you own" in dict(result.errors)[3]
    assert "belongs to a customer you cannot edit" in dict(result.errors)[4]
    assert Customer.objects.get(external_id="C-B").name == "Bob's"


def test_manager_imports_unowned_customers_as_their_own_and_may_assign(tmp_path, mia, alice):
    path = write_csv(tmp_path / "c.csv", ["external_id", "name", "owner"], [["C-1", "Lead", ""], ["C-2", "For Alice", "alice"]])
    assert counts(run(path, "customers", user=mia)) == (2, 0, 0, 0)
    assert Customer.objects.get(external_id="C-1").owner == mia
    assert Customer.objects.get(external_id="C-2").owner == alice


def test_admin_and_cli_imports_leave_owner_as_the_file_says(tmp_path, root):
    path = write_csv(tmp_path / "c.csv", ["external_id", "name", "owner"], [["C-1", "Lead", ""]])
    run(path, "customers", user=root)
    run(path, "customers")
    assert Customer.objects.get(external_id="C-1").owner is None


def test_analysts_may_not_import_and_reps_may_not_import_products(tmp_path, nora, alice):
    path = write_csv(tmp_path / "c.csv", ["external_id", "name"], [["C-1", "X"]])
    with pytest.raises(ImportInputError, match="may not import customers"):
        run(path, "customers", user=nora)
    products = write_csv(tmp_path / "p.csv", ["sku", "name", "list_price", "unit_cost"], [["S", "X", "1", "1"]])
    with pytest.raises(ImportInputError, match="may not import products"):
        run(products, "products", user=alice)


def test_contacts_with_one_primary_per_customer(tmp_path):
    acme = make_customer("Acme", kind="company", external_id="C-1")
    from patron.customers.services import contact_create

    old = contact_create(customer=acme, name="Old Primary", is_primary=True)
    header = list(COLUMNS["contacts"].columns)
    path = write_csv(
        tmp_path / "contacts.csv",
        header,
        [
            ["K-1", "C-1", "", "Li Na", "Buyer", "li@acme.cn", "", "true", "yes", "no"],
            ["K-2", "C-1", "", "Wang", "CFO", "", "", "true", "", ""],
            ["K-3", "", acme.pk, "Zhou", "", "", "", "false", "", ""],
        ],
    )
    result = run(path, "contacts")
    assert counts(result) == (2, 0, 0, 1)
    assert "primary contact on line 2" in dict(result.errors)[3]
    old.refresh_from_db()
    assert not old.is_primary
    assert list(Contact.objects.filter(customer=acme, is_primary=True).values_list("external_id", flat=True)) == ["K-1"]
    assert counts(run(path, "contacts")) == (0, 0, 2, 1)


def test_products_upsert_by_external_id_or_sku(tmp_path):
    existing = make_product(price=10, cost=5, sku="SKU-1", name="Old name")
    header = list(COLUMNS["products"].columns)
    path = write_csv(
        tmp_path / "p.csv",
        header,
        [
            ["P-1", "SKU-1", "Widget", "Tools", "¥12.50", "6", "", "true"],  # adopts the product by SKU
            ["", "SKU-2", "Gadget", "Tools", "$3", "1.20", "", "no"],
            ["P-3", "SKU-2", "Clash", "", "1", "1", "", ""],  # SKU already in the file
            ["P-4", "SKU-4", "Euro", "", "5 €", "1", "CNY", ""],  # currency disagrees with the amount
        ],
    )
    result = run(path, "products")
    assert counts(result) == (1, 1, 0, 2)
    existing.refresh_from_db()
    assert (existing.external_id, existing.name, existing.list_price) == ("P-1", "Widget", Decimal("12.50"))
    gadget = Product.objects.get(sku="SKU-2")
    assert (gadget.currency, gadget.is_active, gadget.external_id) == ("USD", False, None)
    assert "currency says CNY but the amount is in EUR" in dict(result.errors)[5]
    assert counts(run(path, "products")) == (0, 0, 2, 2)


def test_interactions_with_contact_and_handler(tmp_path, alice):
    acme = make_customer("Acme", external_id="C-1", owner=alice)
    other = make_customer("Other", external_id="C-2")
    from patron.customers.services import contact_create

    contact_create(customer=acme, name="Li", external_id="K-1")
    contact_create(customer=other, name="Zhou", external_id="K-2")
    header = list(COLUMNS["interactions"].columns)
    path = write_csv(
        tmp_path / "i.csv",
        header,
        [
            ["I-1", "C-1", "", "K-1", "call", "out", "Renewal", "Long\nnotes", "2024-03-05 14:00", "alice"],
            ["I-2", "C-1", "", "K-2", "email", "", "Wrong contact", "", "2024-03-05", ""],
            ["I-3", "C-1", "", "", "投诉", "", "Complaint", "", "2024-03-06", "nobody"],
        ],
    )
    result = run(path, "interactions")
    errors = dict(result.errors)
    assert counts(result) == (1, 0, 0, 2)
    assert errors[3] == "That contact belongs to another customer."
    assert "No user named nobody." in errors[4] or "channel" in errors[4]
    i = Interaction.objects.get(external_id="I-1")
    assert (i.contact.name, i.handled_by, i.direction, i.body) == ("Li", alice, "out", "Long\nnotes")


def test_cost_events_keep_profit_exact_through_updates(tmp_path):
    zhang = make_customer("Zhang", external_id="C-1")
    li = make_customer("Li", external_id="C-2")
    header = list(COLUMNS["cost_events"].columns)
    rows = [["E-1", "C-1", "", "ticket", "¥12.50", "", "2024-03-05", "call"], ["E-2", "C-1", "", "return", "(3.00)", "", "2024-03-05", ""]]
    path = write_csv(tmp_path / "e.csv", header, rows)
    result = run(path, "cost_events")
    assert counts(result) == (1, 0, 0, 1)
    assert "cannot be negative" in dict(result.errors)[3]
    rows[1][4] = "3.00"
    rows.append(["E-3", "C-2", "", "delivery", "7", "", "2024-03-05", ""])
    write_csv(path, header, rows)
    assert counts(run(path, "cost_events")) == (2, 0, 1, 0)
    assert totals(zhang)[2:4] == (Decimal("15.50"), Decimal("-15.50"))
    rows[2][1] = "C-1"  # the delivery was Zhang's
    write_csv(path, header, rows)
    assert counts(run(path, "cost_events")) == (0, 1, 2, 0)
    assert totals(zhang)[2:4] == (Decimal("22.50"), Decimal("-22.50"))
    assert totals(li)[2:4] == (Decimal("0"), Decimal("0"))
    assert CostEvent.objects.get(external_id="E-1").currency == "CNY"
