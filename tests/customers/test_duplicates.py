"""Possible duplicates flagged on every write of a customer (API, admin form, import, merge),
cheaply for one customer, and shown to whoever wrote it."""

from __future__ import annotations

import pytest

from patron.customers.duplicates import name_key, open_duplicates_of, possible_duplicates_flag
from patron.customers.models import Customer, PossibleDuplicate
from patron.customers.services import customer_update
from tests.api.conftest import client_for
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _pairs() -> set[tuple[frozenset[str], tuple[str, ...]]]:
    return {
        (frozenset({d.customer.name, d.other.name}), tuple(d.reasons))
        for d in PossibleDuplicate.objects.select_related("customer", "other")
    }


def test_name_key():
    assert name_key("  Zhang,  Wei ") == name_key("zhang wei") == "zhangwei"
    assert name_key("张伟") == "张伟" and name_key("张 伟") != name_key("张伟")


def test_a_customer_created_through_the_api_is_flagged_and_told(alice):
    first = make_customer("Zhang Wei", owner=alice, email="ZW@example.com", phone="138 0013 8000")
    api = client_for(alice)
    created = api.post("/customers", {"name": "Wei Zhang", "email": "zw@example.com"})
    assert created.status_code == 201, created.content
    assert created.json()["possible_duplicates"] == [first.pk]
    assert _pairs() == {(frozenset({"Zhang Wei", "Wei Zhang"}), ("email",))}
    # Changing the phone to the first one's (typed another way) adds the reason; flagged once.
    patched = api.patch(f"/customers/{created.json()['id']}", {"phone": "+86 138-0013-8000", "name": "zhang wei."})
    assert patched.status_code == 200, patched.content
    assert patched.json()["possible_duplicates"] == [first.pk]
    assert PossibleDuplicate.objects.count() == 1  # the pair exists already: left as it is
    assert api.get(f"/customers/{first.pk}").json()["possible_duplicates"] == [created.json()["id"]]
    listed = {c["id"]: c["possible_duplicates"] for c in api.get("/customers").json()["items"]}
    assert listed == {first.pk: [created.json()["id"]], created.json()["id"]: [first.pk]}


def test_a_changed_phone_is_flagged(alice):
    make_customer("Li Na", owner=alice, phone="13900139000")
    other = make_customer("Someone Else", owner=alice)
    assert not PossibleDuplicate.objects.exists()
    customer_update(customer=other, changes={"phone": "139 0013 9000"})
    assert _pairs() == {(frozenset({"Li Na", "Someone Else"}), ("phone",))}


def test_a_dismissed_pair_stays_dismissed_and_unseen_twins_are_not_shown(alice, bob):
    hidden = make_customer("Wang Fang", owner=bob)
    mine = make_customer("Wang Fang", owner=alice)
    flag = PossibleDuplicate.objects.get()
    assert (flag.customer_id, flag.other_id, flag.reasons) == (hidden.pk, mine.pk, ["name"])
    # Alice does not see Bob's customer: her answer does not name it.
    assert client_for(alice).get(f"/customers/{mine.pk}").json()["possible_duplicates"] == []
    assert open_duplicates_of([hidden.pk], Customer.objects.all()) == {hidden.pk: [mine.pk]}
    flag.status = PossibleDuplicate.Status.DISMISSED
    flag.save()
    customer_update(customer=mine, changes={"name": "WANG FANG"})
    assert PossibleDuplicate.objects.get().status == PossibleDuplicate.Status.DISMISSED
    assert open_duplicates_of([hidden.pk], Customer.objects.all()) == {hidden.pk: []}


def test_flagging_one_customer_is_a_few_look_ups_whatever_the_book(alice, django_assert_max_num_queries):
    for i in range(40):
        make_customer(f"Customer {i}", owner=alice, email=f"c{i}@example.com")
    for i in range(30):  # a value shared by too many says nothing
        make_customer(f"Shop {i}", phone="400-800-8000")
    target = make_customer("Customer 7", owner=alice, email="C7@Example.com", phone="400 800 8000")
    PossibleDuplicate.objects.all().delete()
    with django_assert_max_num_queries(6):
        assert possible_duplicates_flag(customer_ids=[target.pk]) == 1
    assert _pairs() == {(frozenset({"Customer 7"}), ("email", "name"))}


def test_the_whole_book_and_many_customers_at_once(alice):
    a = make_customer("Alpha", email="a@example.com")
    b = make_customer("Beta", email="b@example.com")
    c = make_customer("Gamma", email="c@example.com")
    Customer.objects.filter(pk=b.pk).update(email="A@example.com")
    Customer.objects.filter(pk=c.pk).update(name_key="alpha")
    assert possible_duplicates_flag(customer_ids=[b.pk, c.pk]) == 2
    PossibleDuplicate.objects.all().delete()
    assert possible_duplicates_flag() == 2
    assert {(x, y, tuple(r)) for x, y, r in PossibleDuplicate.objects.values_list("customer_id", "other_id", "reasons")} == {
        (a.pk, b.pk, ("email",)), (a.pk, c.pk, ("name",)),
    }


def test_the_admin_form_stores_e164_refuses_a_bad_number_and_links_to_the_review(client, root):
    existing = make_customer("Zhang Wei", phone="13800138000")
    client.force_login(root)
    form = {
        "name": "ZHANG WEI", "kind": "person", "email": "", "phone": "138 0013 8000", "city": "", "address": "",
        "stage": "active", "acquisition_channel": "", "acquisition_cost": "0", "currency": "CNY",
        "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0", "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    bad = client.post("/admin/customers/customer/add/", {**form, "phone": "12345"})
    assert bad.status_code == 200
    assert "“12345” is not a valid phone number" in bad.content.decode()
    done = client.post("/admin/customers/customer/add/", form, follow=True)
    assert done.status_code == 200
    created = Customer.objects.get(name="ZHANG WEI")
    assert (created.phone, created.phone_digits, created.name_key) == ("+8613800138000", "8613800138000", "zhangwei")
    assert PossibleDuplicate.objects.filter(customer=existing, other=created).get().reasons == ["name", "phone"]
    page = done.content.decode()
    assert "may be the same customer as 1 other" in page and 'href="/imports/duplicates/"' in page
