"""Cross-sell segments: ``likely_to_buy`` selects the customers the current recommendations
propose a product to and who have not bought it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patron.campaigns.filters import InvalidFilterError, clean_filter
from patron.campaigns.selectors import segment_customers
from tests.campaigns.conftest import scored
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(db, alice, bob):
    p, q = make_product(sku="TENT-2"), make_product(sku="LAMP")
    wants = scored(make_customer("Wants", owner=alice), recommendations=[q.pk, p.pk])
    also = scored(make_customer("Also", owner=bob), recommendations=[p.pk])
    other = scored(make_customer("Other", owner=alice), recommendations=[q.pk])
    bought = scored(make_customer("Bought since", owner=alice), recommendations=[p.pk])
    make_order(bought, product=p)  # ordered after the scoring run: no longer a prospect for it
    make_customer("Unscored", owner=alice)
    scored(make_customer("Nothing", owner=alice), recommendations=[])
    # An id that only looks like P's inside another number must not match.
    scored(make_customer("Near", owner=alice), recommendations=[p.pk * 10 + 1, p.pk + 1000])
    return p, q, wants, also, other


def test_selects_exactly_the_customers_recommended_the_product(book, root, alice):
    p, _q, wants, also, other = book
    for ref in (p.pk, "TENT-2"):
        assert set(segment_customers(root, {"likely_to_buy": ref})) == {wants, also}
    assert set(segment_customers(root, {"likely_to_buy": "LAMP"})) == {wants, other}
    # Within the reader's visibility.
    assert set(segment_customers(alice, {"likely_to_buy": p.pk})) == {wants}
    # With other keys, as every key.
    assert set(segment_customers(root, {"likely_to_buy": p.pk, "owner": ["bob"]})) == {also}


def test_unknown_product_is_refused_naming_the_key(book):
    for bad in ("NO-SUCH-SKU", 999999, True, 0, ""):
        with pytest.raises(InvalidFilterError) as exc:
            clean_filter({"likely_to_buy": bad})
        assert "likely_to_buy" in exc.value.message_dict
    assert clean_filter({"likely_to_buy": " TENT-2 "}) == {"likely_to_buy": "TENT-2"}


def test_api_answers_422_for_an_unknown_product(book, as_nora):
    r = as_nora.post("/segments", {"name": "Tent", "filter": {"likely_to_buy": "NO-SUCH-SKU"}})
    assert r.status_code == 422
    assert "likely_to_buy" in r.json()["message"]
    p = book[0]
    r = as_nora.post("/segments", {"name": "Tent", "filter": {"likely_to_buy": "TENT-2"}})
    assert r.status_code == 201, r.content
    assert r.json()["filter"] == {"likely_to_buy": "TENT-2"}
    r = as_nora.post("/segments", {"name": "Tent by id", "filter": {"likely_to_buy": p.pk}})
    assert r.status_code == 201 and r.json()["filter"] == {"likely_to_buy": p.pk}


def test_builder_field(client, book, maya):
    p = book[0]
    client.force_login(maya)
    page = client.post(reverse("segment-preview"), {"likely_to_buy": "TENT-2"}, headers={"HX-Request": "true"})
    assert 'data-testid="preview-count">2<' in page.content.decode()
    page = client.post(reverse("segment-preview"), {"likely_to_buy": str(p.pk)}, headers={"HX-Request": "true"})
    assert 'data-testid="preview-count">2<' in page.content.decode()
    page = client.post(reverse("segment-new"), {"name": "Tent", "likely_to_buy": "NOPE"})
    assert page.status_code == 200 and "there is no product" in page.content.decode()  # on its field, not saved
