from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from patron.core.errors import DuplicateExternalIdError
from patron.customers.models import Customer
from patron.customers.services import contact_create, customer_create

pytestmark = pytest.mark.django_db


def test_duplicate_external_id_is_refused_and_nothing_is_written():
    customer_create(name="First", external_id="crm-1")
    with pytest.raises(DuplicateExternalIdError, match="crm-1"):
        customer_create(name="Second", external_id="crm-1")
    assert list(Customer.objects.values_list("name", flat=True)) == ["First"]


def test_chinese_name_gets_pinyin_search_key():
    customer = customer_create(name="张伟")
    assert "zhang wei" in customer.name_search
    assert customer.name_search.split()[-1] == "zw"


def test_region_follows_branch(north):
    customer = customer_create(name="X", branch=north)
    assert customer.region == north.region


def test_invalid_email_is_rejected():
    with pytest.raises(ValidationError):
        customer_create(name="X", email="not-an-email")
    assert not Customer.objects.exists()


def test_only_one_primary_contact():
    customer = customer_create(name="Acme", kind="company")
    first = contact_create(customer=customer, name="Ann", is_primary=True)
    contact_create(customer=customer, name="Ben", is_primary=True)
    first.refresh_from_db()
    assert not first.is_primary
    assert list(customer.contacts.filter(is_primary=True).values_list("name", flat=True)) == ["Ben"]


def test_absolute_url_is_the_360_page():
    customer = customer_create(name="X")
    assert customer.get_absolute_url() == f"/customers/{customer.pk}/"
