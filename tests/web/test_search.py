"""The search box: Chinese names, pinyin as typed, contacts, orders, visibility, bounded queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patron.customers.services import contact_create, contact_update
from patron.web.search import search
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def _found(client, q: str) -> dict[str, list[str]]:
    response = client.get(reverse("search"), {"q": q})
    assert response.status_code == 200
    results = response.context["results"]
    return {
        "customers": [c.name for c in results.customers.rows],
        "contacts": [c.name for c in results.contacts.rows],
        "orders": [str(o) for o in results.orders.rows],
    }


@pytest.fixture
def people(alice, bob):
    return {
        "zhang_wei": make_customer("张伟", owner=alice),
        "zhang_wei_homophone": make_customer("章维", owner=alice),
        "zhao_min": make_customer("赵敏", owner=alice),
        "bob_zhang": make_customer("张敏", owner=bob),
        "acme": make_customer(
            "Acme Trading", owner=alice, email="buyer@acme.example", phone="138 0013 8000"
        ),
    }


@pytest.mark.parametrize(
    "q", ["张伟", "zhang wei", "zhangwei", "zw", "ZW", "zhangw", "zhang  wei "]
)
def test_chinese_name_found_by_characters_and_pinyin_as_typed(client, alice, people, q):
    client.force_login(alice)
    found = _found(client, q)["customers"]
    assert "张伟" in found, q
    assert "赵敏" not in found, q


def test_characters_do_not_match_homophones_but_pinyin_does(client, alice, people):
    client.force_login(alice)
    assert _found(client, "张伟")["customers"] == ["张伟"]
    assert sorted(_found(client, "zhang wei")["customers"]) == sorted(["张伟", "章维"])
    assert _found(client, "伟")["customers"] == ["张伟"]  # a given name alone


def test_latin_names_email_phone_and_external_id(client, alice, people):
    make_customer("Beta Ltd", owner=alice, external_id="CRM-00042")
    client.force_login(alice)
    assert _found(client, "acme")["customers"] == ["Acme Trading"]
    assert _found(client, "trad")["customers"] == ["Acme Trading"]
    assert _found(client, "BUYER@acme")["customers"] == ["Acme Trading"]
    assert _found(client, "138 0013")["customers"] == ["Acme Trading"]
    assert _found(client, "CRM-000")["customers"] == ["Beta Ltd"]
    assert _found(client, "nothing like this")["customers"] == []


def test_contacts_by_name_pinyin_email_and_phone_link_to_their_customer(client, alice, people):
    contact = contact_create(
        customer=people["acme"], name="李娜", email="li.na@acme.example", phone="+86 21 5555 0101"
    )
    client.force_login(alice)
    for q in ("李娜", "li na", "ln", "li.na@", "+86 21 5555"):
        assert _found(client, q)["contacts"] == ["李娜"], q
    page = client.get(reverse("search"), {"q": "li.na@acme.example"}).content.decode()
    assert f'href="{people["acme"].get_absolute_url()}"' in page
    # A renamed contact is found by its new name's pinyin.
    contact_update(contact=contact, changes={"name": "王芳"})
    assert _found(client, "wf")["contacts"] == ["王芳"]
    assert _found(client, "ln")["contacts"] == []


def test_orders_by_number_link_to_the_customer(client, alice, people):
    order = make_order(people["zhang_wei"], external_id="SO-2024-1187")
    unnumbered = make_order(people["zhao_min"])
    client.force_login(alice)
    assert _found(client, "SO-2024-11")["orders"] == ["SO-2024-1187"]
    assert _found(client, f"#{unnumbered.pk}")["orders"] == [f"#{unnumbered.pk}"]
    page = client.get(reverse("search"), {"q": "SO-2024-1187"}).content.decode()
    assert f'href="{people["zhang_wei"].get_absolute_url()}">SO-2024-1187</a>' in page
    assert order.pk


def test_rep_finds_only_own_customers_contacts_and_orders(client, alice, bob, people):
    contact_create(customer=people["bob_zhang"], name="张静", email="zj@bob.example")
    make_order(people["bob_zhang"], external_id="BOB-1")
    client.force_login(alice)
    assert "张敏" not in _found(client, "zhang")["customers"]
    assert _found(client, "zj")["contacts"] == []
    assert _found(client, "BOB-1")["orders"] == []
    client.force_login(bob)
    found = _found(client, "zhang")
    assert found["customers"] == ["张敏"] and found["contacts"] == ["张静"]
    assert _found(client, "BOB-1")["orders"] == ["BOB-1"]


def test_manager_and_admin_see_by_their_scope(client, mia, root, alice, bob, north):
    make_customer("张北", branch=north)
    make_customer("张南", owner=bob)
    client.force_login(mia)
    assert _found(client, "zhang")["customers"] == ["张北"]
    client.force_login(root)
    assert sorted(_found(client, "zhang")["customers"]) == sorted(["张北", "张南"])


def test_results_are_limited_and_query_count_is_bounded(
    client, root, django_assert_max_num_queries
):
    for i in range(25):
        customer = make_customer(f"张{i}号")
        contact_create(customer=customer, name=f"张联系{i}")
        make_order(customer, external_id=f"ZH-{i:03d}")
    client.force_login(root)
    results = search(root, "zhang", limit=20)
    assert len(results.customers.rows) == 20 and results.customers.more
    assert len(results.contacts.rows) == 20 and results.contacts.more
    with django_assert_max_num_queries(8):  # session, user, then one query per group
        page = client.get(reverse("search"), {"q": "ZH-0"})
    assert len(page.context["results"].orders.rows) == 20
    assert "More orders match" in page.content.decode()
    assert (
        "see them in the customer list"
        in client.get(reverse("search"), {"q": "zhang"}).content.decode()
    )


def test_empty_odd_and_long_queries_give_a_page(client, alice, people):
    client.force_login(alice)
    assert client.get(reverse("search")).context["results"] is None
    for q in ("   ", "%", "'; drop table", "!!!", "*:", "a & b | !c", "zh:* & "):
        response = client.get(reverse("search"), {"q": q})
        assert response.status_code == 200, q
    response = client.get(reverse("search"), {"q": "zhang wei " * 30})
    assert response.status_code == 200
    assert "Only the first 100 characters were searched." in response.content.decode()
    assert "Nothing found for" in client.get(reverse("search"), {"q": "qqqxxx"}).content.decode()


def test_header_box_searches_everything(client, alice, people):
    client.force_login(alice)
    page = client.get(reverse("customer-list")).content.decode()
    assert f'<form class="search" action="{reverse("search")}"' in page


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("search"), {"q": "zw"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("probe", [1000, 2])  # a narrow search (matches sorted), a broad one (name index walked)
def test_narrow_and_broad_searches_list_the_same_first_names_in_order(
    client, alice, bob, monkeypatch, probe
):
    from patron.customers import search as customer_search

    names = ["王芳", "魏来", "吴敏", "王伟", "汪洋", "张伟", "李娜", "Wendy Lu"]
    for name in names:
        make_customer(name, owner=alice)
    make_customer("王强", owner=bob)  # not alice's
    monkeypatch.setattr(customer_search, "PROBE", probe)
    client.force_login(alice)
    found = search(alice, "w", limit=3).customers
    expected = sorted(n for n in names if n not in ("李娜",))  # 张伟: "wei" starts a word too
    assert [c.name for c in found.rows] == expected[:3] and found.more
    assert [c.name for c in search(alice, "w", limit=50).customers.rows] == expected
