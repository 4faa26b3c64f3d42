"""The pages a rep opens: login, home, customer list, the 360° page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from patron.commerce.services import cost_event_create
from tests.factories import PASSWORD, make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("customer-list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_form_uses_django_field_names(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_360_page_shows_profile_contacts_profit_and_timeline(client, alice):
    customer = make_customer("Zhang Wei", owner=alice, email="zw@example.com")
    from patron.customers.services import contact_create

    contact_create(customer=customer, name="Li Na", title="Buyer", is_primary=True)
    make_order(customer, product=make_product(price=200, cost=120), external_id="ORD-777")
    client.force_login(alice)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "Zhang Wei" in page and "zw@example.com" in page and "Li Na" in page
    assert "ORD-777" in page
    assert 'data-testid="profit">80.00 CNY' in page


def test_new_order_shows_at_once(client, alice):
    customer = make_customer("Fresh", owner=alice)
    client.force_login(alice)
    assert "ORD-NEW" not in client.get(customer.get_absolute_url()).content.decode()
    make_order(customer, product=make_product(price=50, cost=20), external_id="ORD-NEW")
    cost_event_create(customer=customer, kind="ticket", amount=Decimal("5"), occurred_at=customer.created_at)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "ORD-NEW" in page
    assert 'data-testid="profit">25.00 CNY' in page


def test_another_reps_customer_is_404(client, alice, bob):
    customer = make_customer("Bob's", owner=bob)
    client.force_login(alice)
    assert client.get(customer.get_absolute_url()).status_code == 404
    response = client.post(reverse("customer-log-interaction", args=[customer.pk]), {"channel": "call", "subject": "x"})
    assert response.status_code == 404


def test_list_and_search_respect_visibility(client, alice, bob):
    make_customer("张伟", owner=alice)
    make_customer("张敏", owner=bob)
    client.force_login(alice)
    page = client.get(reverse("customer-list")).content.decode()
    assert "张伟" in page and "张敏" not in page
    for q in ("zhang wei", "zw", "张"):
        page = client.get(reverse("customer-list"), {"q": q}).content.decode()
        assert "张伟" in page and "张敏" not in page, q


def test_timeline_channel_filter_fragment(client, alice):
    customer = make_customer("Channels", owner=alice)
    make_order(customer, channel="store", external_id="IN-STORE")
    make_order(customer, channel="web", external_id="ON-WEB")
    client.force_login(alice)
    response = client.get(customer.get_absolute_url(), {"channel": "web", "fragment": "timeline"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "ON-WEB" in body and "IN-STORE" not in body
    assert "<html" not in body  # a fragment, not the page


def test_log_interaction_appears_on_timeline(client, alice):
    customer = make_customer("Acme", owner=alice)
    client.force_login(alice)
    response = client.post(
        reverse("customer-log-interaction", args=[customer.pk]), {"channel": "call", "subject": "Discussed renewal"}
    )
    assert response.status_code == 302
    assert "Discussed renewal" in client.get(customer.get_absolute_url()).content.decode()


def test_invalid_interaction_is_reported_not_saved(client, alice):
    customer = make_customer("Acme", owner=alice)
    client.force_login(alice)
    response = client.post(
        reverse("customer-log-interaction", args=[customer.pk]), {"channel": "telepathy", "subject": ""}, follow=True
    )
    assert "was not saved" in response.content.decode()
    assert not customer.interactions.exists()


def test_analyst_cannot_change_a_customer(client, nora, alice):
    customer = make_customer("Acme", owner=alice)
    client.force_login(nora)
    assert client.get(customer.get_absolute_url()).status_code == 200
    response = client.post(reverse("customer-add-task", args=[customer.pk]), {"title": "x"})
    assert response.status_code == 403
    assert not customer.tasks.exists()
