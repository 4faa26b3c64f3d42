"""`patron demo` sets up a demo every role can use: users, data, scores, the account manager's book."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from patron.core.models import User
from patron.customers.models import Customer
from patron.insights.models import ScoringRun
from patron.web.demo import DEMO_USERS


@pytest.mark.django_db(transaction=True)
def test_demo_sets_up_every_role(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    call_command("demo", "--customers", "150", "--seed", "5", "--no-serve", verbosity=0)
    assert set(User.objects.values_list("username", flat=True)) >= {u.username for u in DEMO_USERS}
    assert ScoringRun.objects.filter(status=ScoringRun.Status.DONE).exists()
    kate = User.objects.get(username="kate")
    owned = Customer.objects.filter(owner=kate)
    assert owned.exists(), "the account manager's home would be empty"
    assert not owned.filter(is_key_account=False).exists()
    assert User.objects.get(username="mia").regions.exists()
    # Running it again keeps the book as it is.
    before = set(owned.values_list("pk", flat=True))
    call_command("demo", "--customers", "150", "--seed", "5", "--no-serve", verbosity=0)
    assert set(Customer.objects.filter(owner=kate).values_list("pk", flat=True)) == before
