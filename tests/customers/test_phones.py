"""Phones stored in E.164 on every write path and found as people type them."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError

from patron.customers.models import Contact, Customer
from patron.customers.phones import phone_digits, phone_normalise, phone_prefixes
from patron.customers.search import customer_match
from patron.customers.selectors import (
    ContactFilter,
    CustomerFilter,
    filter_contacts,
    filter_customers,
)
from patron.customers.services import contact_create, contact_update, customer_update
from patron.generator.writer import _phones
from tests.api.conftest import client_for
from tests.factories import make_customer


@pytest.mark.parametrize(
    "typed",
    ["16613207659", "166 1320 7659", "166-1320-7659", "+86 166 1320 7659", "+8616613207659", "0086 166 1320 7659",
     "(+86) 166 1320 7659"],
)
def test_every_form_of_a_number_is_stored_in_e164(typed, settings):
    settings.PATRON_PHONE_REGION = "CN"
    assert phone_normalise(typed) == "+8616613207659"
    assert phone_digits(typed) == "8616613207659"


def test_landlines_empty_and_the_default_region(settings):
    settings.PATRON_PHONE_REGION = "CN"
    assert phone_normalise("(021) 6232 1234") == "+862162321234"
    assert phone_normalise("  ") == ""
    assert phone_normalise("+1 415 555 2671") == "+14155552671"  # a "+" names its own country
    settings.PATRON_PHONE_REGION = "US"
    assert phone_normalise("(415) 555-2671") == "+14155552671"


@pytest.mark.parametrize("typed", ["138", "12345", "1661320765", "call me", "+86 abc", "=1+2"])
def test_a_text_that_is_no_number_is_refused_saying_why(typed):
    with pytest.raises(ValidationError, match="is not a valid phone number") as caught:
        phone_normalise(typed)
    assert caught.value.code == "invalid_phone"
    # Stored before numbers were checked, such a text is still searched by its digits.
    assert phone_digits(typed) == "".join(ch for ch in typed if ch.isdigit())


def test_search_prefixes(settings):
    settings.PATRON_PHONE_REGION = "CN"
    assert phone_prefixes("16613207659") == ["16613207659", "8616613207659"]
    assert phone_prefixes("166 1320") == ["1661320", "861661320"]
    assert phone_prefixes("021 6232") == ["0216232", "86216232"]  # the trunk 0 is not in E.164
    assert phone_prefixes("+86 166") == ["86166"]
    assert phone_prefixes("0086 166") == ["86166"]
    assert phone_prefixes("16") == []


@pytest.fixture
def book(db, alice):
    return {
        "mobile": make_customer("Mobile", owner=alice, phone="+86 166 1320 7659"),
        "other_mobile": make_customer("Other", owner=alice, phone="138 0013 8000"),
        "landline": make_customer("Shop", owner=alice, phone="021-6232-1234"),
        "none": make_customer("No Phone", owner=alice),
    }


def _found(q: str) -> set[str]:
    return set(filter_customers(Customer.objects.all(), CustomerFilter(q=q)).values_list("name", flat=True))


def _contains(q: str) -> set[str]:
    return set(filter_customers(Customer.objects.all(), CustomerFilter(contains=q)).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("16613207659", {"Mobile"}), ("166 1320", {"Mobile"}), ("166-1320-7659", {"Mobile"}),
        ("+86 166 1320", {"Mobile"}), ("8616613", {"Mobile"}), ("0086 1661", {"Mobile"}),
        ("138 0013", {"Other"}), ("13800138000", {"Other"}), ("+86 138 0013 8000", {"Other"}),
        ("021 6232", {"Shop"}), ("021-6232-1234", {"Shop"}), ("+86 21 6232", {"Shop"}),
        ("1", set()), ("999 9999", set()),
    ],
)
def test_the_list_search_finds_a_phone_as_people_type_it(book, q, names):
    assert book["mobile"].phone == "+8616613207659" and book["mobile"].phone_digits == "8616613207659"
    assert _found(q) == names


def test_the_api_contains_search_finds_digits_anywhere(book):
    assert _contains("1320 7659") == {"Mobile"}
    assert _contains("+86 138-0013") == {"Other"}
    assert _contains("Shop") == {"Shop"}


def test_the_search_is_an_indexed_prefix_match():
    match = customer_match("166 1320")
    sql = str(Customer.objects.filter(match).query)
    assert "phone_digits" in sql and "LIKE 1661320%" in sql.replace("'", "")


def test_contacts_are_stored_and_found_the_same_way(book):
    contact = contact_create(customer=book["none"], name="Li Na", phone="139 0013 9000")
    assert (contact.phone, contact.phone_digits) == ("+8613900139000", "8613900139000")
    contact = contact_update(contact=contact, changes={"phone": "021 6232 0000"})
    assert contact.phone_digits == "862162320000"
    assert set(filter_contacts(Contact.objects.all(), ContactFilter(contains="6232 0000"))) == {contact}
    with pytest.raises(ValidationError) as caught:
        contact_create(customer=book["none"], name="Wrong", phone="12345")
    assert "phone" in caught.value.message_dict


def test_changing_a_phone_keeps_its_digits_and_a_bad_one_changes_nothing(book):
    customer = customer_update(customer=book["none"], changes={"phone": "13700137000"})
    assert (customer.phone, customer.phone_digits) == ("+8613700137000", "8613700137000")
    with pytest.raises(ValidationError):
        customer_update(customer=customer, changes={"phone": "137"})
    customer.refresh_from_db()
    assert customer.phone == "+8613700137000"
    customer_update(customer=customer, changes={"phone": ""})
    customer.refresh_from_db()
    assert (customer.phone, customer.phone_digits) == ("", "")


def test_the_api_stores_e164_and_refuses_a_bad_number_with_a_422(db, alice):
    api = client_for(alice)
    created = api.post("/customers", {"name": "Api Phone", "phone": "166 1320 7659"})
    assert created.status_code == 201, created.content
    assert created.json()["phone"] == "+8616613207659"
    bad = api.post("/customers", {"name": "Bad Phone", "phone": "12345"})
    assert bad.status_code == 422
    assert "“12345” is not a valid phone number" in bad.json()["message"]
    assert "phone" in bad.json()["details"]
    assert not Customer.objects.filter(name="Bad Phone").exists()
    patched = api.patch(f"/customers/{created.json()['id']}", {"phone": "call me"})
    assert patched.status_code == 422
    listed = api.get("/customers", q="1661320")
    assert [c["name"] for c in listed.json()["items"]] == ["Api Phone"]


def test_the_migration_fills_the_keys_of_rows_already_there(book):
    Customer.objects.filter(pk=book["landline"].pk).update(phone="021 6232 1234", phone_digits="", name_key="")
    Customer.objects.filter(pk=book["none"].pk).update(phone="ext. 12", phone_digits="", name_key="")
    migration = importlib.import_module("patron.customers.migrations.0008_phone_digits_name_key")
    migration.fill_keys(django_apps, None)
    landline = Customer.objects.get(pk=book["landline"].pk)
    # The typed form stays; the digits are those of E.164, so the search finds it.
    assert (landline.phone, landline.phone_digits, landline.name_key) == ("021 6232 1234", "862162321234", "shop")
    assert Customer.objects.get(pk=book["none"].pk).phone_digits == "12"
    assert _found("021 6232") == {"Shop"}


def test_the_generator_writes_e164_and_digits():
    assert _phones(["+86 138 0013 8000", "+86 21 62321234", ""]) == (
        ["+8613800138000", "+862162321234", ""],
        ["8613800138000", "862162321234", ""],
    )


def test_numbers_are_shown_as_people_read_them(settings):
    from patron.customers.phones import phone_display

    settings.PATRON_PHONE_REGION = "CN"
    assert phone_display("+8616613207659") == "166 1320 7659"
    assert phone_display("+862162321234") == "021 6232 1234"
    assert phone_display("+14155550100") == "+1 415-555-0100"
    assert phone_display("call the switchboard") == "call the switchboard"  # stored before the rule
