"""Customers and contacts over the API: the web app's visibility, filters, sorting, pages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from patron.customers.models import Customer
from patron.customers.selectors import CustomerFilter, filter_customers
from patron.engagement.services import interaction_create
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def test_rep_reads_only_own_customers_and_gets_404_for_others(as_alice, alice, bob):
    mine = make_customer("Mine", owner=alice)
    theirs = make_customer("Theirs", owner=bob)
    assert [c["id"] for c in as_alice.get("/customers").json()["items"]] == [mine.pk]
    missing = as_alice.get(f"/customers/{theirs.pk}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert as_alice.get(f"/customers/{theirs.pk}/timeline").status_code == 404


def test_rep_cannot_write_other_reps_customers(as_alice, alice, bob):
    theirs = make_customer("Theirs", owner=bob)
    assert as_alice.patch(f"/customers/{theirs.pk}", {"name": "Hijacked"}).status_code == 404
    assert as_alice.post("/contacts", {"customer_id": theirs.pk, "name": "Spy"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs" and not theirs.contacts.exists()
    # Nor hand one of theirs away, nor create one for somebody else.
    mine = make_customer("Mine", owner=alice)
    moved = as_alice.patch(f"/customers/{mine.pk}", {"owner": "bob"})
    assert moved.status_code == 403
    mine.refresh_from_db()
    assert mine.owner == alice
    assert as_alice.post("/customers", {"name": "For Bob", "owner": "bob"}).status_code == 403
    assert not Customer.objects.filter(name="For Bob").exists()


def test_manager_sees_the_region_and_analyst_reads_but_does_not_write(as_mia, as_nora, alice, bob, north, south):
    north_c = make_customer("North", owner=bob, branch=north)
    make_customer("South", owner=bob, branch=south)
    assert [c["name"] for c in as_mia.get("/customers").json()["items"]] == ["North"]
    assert len(as_nora.get("/customers").json()["items"]) == 2
    refused = as_nora.patch(f"/customers/{north_c.pk}", {"stage": "lost"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert as_nora.post("/customers", {"name": "Nope"}).status_code == 403


def test_create_and_patch_a_customer(as_alice, alice, north):
    created = as_alice.post(
        "/customers",
        {
            "name": "张伟",
            "external_id": "C-1",
            "kind": "company",
            "branch": "N1",
            "email": "zw@example.com",
            "acquired_on": "2024-02-29",
            "acquisition_channel": "web",
            "acquisition_cost": "120.50",
            "tags": ["vip", "wholesale"],
            "consent_email": True,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner"] == "alice" and body["branch"] == "N1" and body["region"] == "N"
    assert body["tags"] == ["vip", "wholesale"] and body["acquisition_cost"] == "120.50"
    patched = as_alice.patch(f"/customers/{body['id']}", {"stage": "at_risk", "tags": ["vip"], "email": None})
    assert patched.status_code == 200
    assert patched.json()["stage"] == "at_risk" and patched.json()["tags"] == ["vip"] and patched.json()["email"] == ""
    # Only what was sent changes.
    assert patched.json()["name"] == "张伟" and patched.json()["kind"] == "company"
    # The pinyin search key follows a renamed customer.
    assert as_alice.get("/customers", q="zhang").json()["count"] == 1
    bad = as_alice.patch(f"/customers/{body['id']}", {"email": "not-an-email"})
    assert bad.status_code == 422 and "email" in bad.json()["message"].lower()
    assert as_alice.patch(f"/customers/{body['id']}", {"name": None}).status_code == 422
    assert as_alice.post("/customers", {"name": "Dup", "external_id": "C-1"}).status_code == 409


def test_filters_sorting_and_pages(as_alice, alice):
    for n in range(7):
        c = make_customer(f"C{n}", owner=alice, is_key_account=n % 2 == 0)
        for _ in range(n):
            make_order(c)
    first = as_alice.get("/customers", sort="-order_count", limit=3)
    page = first.json()
    assert page["count"] == 7 and [c["name"] for c in page["items"]] == ["C6", "C5", "C4"]
    assert page["previous"] is None and "offset=3" in page["next"]
    second = as_alice.get(page["next"].split("/api/v1")[1].split("?")[0], **dict(
        kv.split("=") for kv in page["next"].split("?")[1].split("&")
    )).json()
    assert [c["name"] for c in second["items"]] == ["C3", "C2", "C1"]
    last = as_alice.get("/customers", sort="-order_count", limit=3, offset=6).json()
    assert [c["name"] for c in last["items"]] == ["C0"] and last["next"] is None
    keys = as_alice.get("/customers", key_account="true", sort="name").json()
    assert [c["name"] for c in keys["items"]] == ["C0", "C2", "C4", "C6"]
    assert as_alice.get("/customers", limit=501).status_code == 422
    assert as_alice.get("/customers", limit=0).status_code == 422


def test_api_filters_are_fields_of_the_customer_list_filter(as_root, alice, bob):
    """GET /customers builds the page's CustomerFilter: its own filters are fields of it, and its
    substring search (contains) stays apart from the page's word-prefix search (q)."""
    make_customer("Zhang Key", owner=alice, is_key_account=True, email="k@example.com", external_id="EXT-1")
    make_customer("Other", owner=bob, email="zhang@example.com")

    def names(**query: str) -> list[str]:
        return sorted(c["name"] for c in as_root.get("/customers", **query).json()["items"])

    assert names(key_account="false") == ["Other"]
    assert names(owner="bob") == ["Other"]
    assert names(external_id="EXT-1") == ["Zhang Key"]
    assert names(updated_since=(timezone.now() + timedelta(hours=1)).isoformat()) == []
    assert names(q="hang") == ["Other", "Zhang Key"]
    assert list(filter_customers(Customer.objects.all(), CustomerFilter(q="hang"))) == []
    assert [c.name for c in filter_customers(Customer.objects.all(), CustomerFilter(contains="hang"))] == [
        "Other",
        "Zhang Key",
    ]


def test_timeline_is_paginated_and_filtered_by_channel(as_alice, alice):
    customer = make_customer("T", owner=alice)
    now = timezone.now()
    for day in range(1, 4):
        make_order(customer, channel="web", at=now - timedelta(days=day))
    interaction_create(customer=customer, channel="call", subject="Called", occurred_at=now - timedelta(hours=1))
    page = as_alice.get(f"/customers/{customer.pk}/timeline", page_size=2).json()
    assert [e["kind"] for e in page["items"]] == ["interaction", "order"] and page["has_next"]
    assert "page=2" in page["next"]
    orders = as_alice.get(f"/customers/{customer.pk}/timeline", channel="web").json()
    assert {e["kind"] for e in orders["items"]} == {"order"} and len(orders["items"]) == 3
    assert orders["items"][0]["amount"] == "100.00"
    calls = as_alice.get(f"/customers/{customer.pk}/timeline", channel="call").json()
    assert [e["title"] for e in calls["items"]] == ["Called"]
    unknown = as_alice.get(f"/customers/{customer.pk}/timeline", channel="telepathy")
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_channel"


def test_contacts(as_alice, alice, bob):
    mine = make_customer("Mine", owner=alice, external_id="C-9")
    theirs = make_customer("Theirs", owner=bob)
    created = as_alice.post("/contacts", {"customer_external_id": "C-9", "name": "Li Na", "is_primary": True})
    assert created.status_code == 201 and created.json()["customer_id"] == mine.pk
    second = as_alice.post("/contacts", {"customer_id": mine.pk, "name": "Wang Fang", "is_primary": True}).json()
    first = as_alice.get(f"/contacts/{created.json()['id']}").json()
    assert first["is_primary"] is False and second["is_primary"] is True  # one primary per customer
    as_alice.patch(f"/contacts/{second['id']}", {"title": "Buyer"})
    assert as_alice.get(f"/contacts/{second['id']}").json()["title"] == "Buyer"
    from patron.customers.services import contact_create

    hidden = contact_create(customer=theirs, name="Hidden")
    assert as_alice.get(f"/contacts/{hidden.pk}").status_code == 404
    assert {c["name"] for c in as_alice.get("/contacts").json()["items"]} == {"Li Na", "Wang Fang"}


def test_figures_are_current_after_an_api_order(as_alice, alice):
    from tests.factories import make_product

    customer = make_customer("Fig", owner=alice)
    make_product(sku="P1", price=Decimal("10.00"), cost=Decimal("4.00"))
    response = as_alice.post(
        "/orders",
        {"customer_id": customer.pk, "channel": "phone", "ordered_at": "2025-01-02T09:00:00+08:00",
         "lines": [{"product_sku": "P1", "quantity": 3}]},
    )
    assert response.status_code == 201
    figures = as_alice.get(f"/customers/{customer.pk}").json()
    assert figures["revenue_total"] == "30.00" and figures["profit_total"] == "18.00" and figures["order_count"] == 1
    assert figures["first_order_at"].startswith("2025-01-02T01:00:00")
