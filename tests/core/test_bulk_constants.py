"""core.bulk.insert's constants: the same value on every row, written once into SQLite's
statement (quotes, percent signs, moments and NULL as the driver would bind them) or on every
row of PostgreSQL's COPY."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from patron.core import bulk
from patron.feedback.models import ContactLog
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_constants_are_stored_like_bound_values():
    a, b = make_customer("A"), make_customer("B")
    moment = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    with transaction.atomic():
        bulk.insert(
            ContactLog, ["customer"], [(a.pk,), (b.pk,)],
            constants={"contact": None, "channel": "e'mail", "purpose": "campaign", "ref": "100% 'off' %s", "contacted_at": moment},
        )
    rows = list(ContactLog.objects.order_by("customer_id").values_list("customer_id", "contact_id", "channel", "ref", "contacted_at"))
    assert rows == [(a.pk, None, "e'mail", "100% 'off' %s", moment), (b.pk, None, "e'mail", "100% 'off' %s", moment)]
    assert ContactLog.objects.filter(contacted_at=moment).count() == 2  # the same stored form as a bound moment


@pytest.mark.parametrize("value", [object(), float("nan"), float("inf")])
def test_a_constant_without_an_sql_literal_is_refused(value):
    with pytest.raises(TypeError):
        bulk._sqlite_literal(value, None)
