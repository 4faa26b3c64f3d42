"""A customer file without any id column (a spreadsheet kept by hand): rows are matched by email
or phone, new customers get Patron's ids, and importing the file again updates them."""

from __future__ import annotations

from patron.customers.models import Customer, PossibleDuplicate
from tests.factories import make_customer
from tests.imports.helpers import counts, run, write_csv

HEADER = ["name", "email", "phone", "city"]


def test_a_file_without_ids_creates_then_updates_by_email_or_phone(db, tmp_path):
    rows = [
        ["Wang Fang", "Wang.Fang@Example.com", "", "Xiamen"],
        ["Li Lei", "", "166 1320 7659", "Beijing"],
        ["Both Ways", "both@example.com", "13800138000", "Shanghai"],
    ]
    first = run(write_csv(tmp_path / "a.csv", HEADER, rows), "customers")
    assert counts(first) == (3, 0, 0, 0), first.errors
    made = {c.name: c for c in Customer.objects.all()}
    assert all(c.external_id is None and c.pk for c in made.values())
    assert made["Li Lei"].phone == "+8616613207659"

    again = [
        ["Wang Fang", "wang.fang@example.com", "", "Fuzhou"],  # email in another case
        ["Li Lei", "", "+86 166-1320-7659", "Beijing"],  # the same number written otherwise
        ["Both Ways", "both@example.com", "138 0013 8000", "Shanghai"],
        ["Someone New", "new@example.com", "", ""],
    ]
    second = run(write_csv(tmp_path / "b.csv", HEADER, again), "customers")
    assert counts(second) == (1, 1, 2, 0), second.errors
    assert Customer.objects.count() == 4
    assert Customer.objects.get(pk=made["Wang Fang"].pk).city == "Fuzhou"


def test_rows_that_cannot_be_matched_are_refused_with_the_reason(db, tmp_path):
    make_customer("Twin A", email="twin@example.com")
    make_customer("Twin B", phone="+8613800138000")
    rows = [
        ["No Contact", "", "", "Xiamen"],
        ["Ambiguous", "twin@example.com", "13800138000", ""],
        ["Once", "once@example.com", "", ""],
        ["Twice", "ONCE@example.com", "", ""],
    ]
    result = run(write_csv(tmp_path / "c.csv", HEADER, rows), "customers")
    assert counts(result) == (1, 0, 0, 3)
    errors = dict(result.errors)
    assert "Give external_id, id, email or phone" in errors[2]
    assert "all have this email or phone" in errors[3]
    assert "already appears on line 4" in errors[5]
    assert not Customer.objects.filter(name__in=["No Contact", "Ambiguous", "Twice"]).exists()


def test_a_rep_matches_only_customers_they_see(tmp_path, alice, bob):
    theirs = make_customer("Bob's Client", email="client@example.com", owner=bob)
    result = run(write_csv(tmp_path / "d.csv", HEADER, [["My Client", "client@example.com", "", ""]]), "customers", user=alice)
    assert counts(result) == (1, 0, 0, 0), result.errors
    theirs.refresh_from_db()
    assert theirs.name == "Bob's Client"
    mine = Customer.objects.get(name="My Client")
    assert mine.owner == alice
    pair = PossibleDuplicate.objects.get()  # for an administrator to review
    assert {pair.customer_id, pair.other_id} == {theirs.pk, mine.pk} and "email" in pair.reasons
