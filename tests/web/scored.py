"""A small generated book with owners, scored once per test module (dashboards and homes read runs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.management import call_command

from patron.core.models import Branch, Region, User
from patron.customers.models import Customer
from patron.insights.models import ScoringRun
from tests.factories import make_user

AS_OF = date(2025, 12, 31)  # the generator's default end of observation


@dataclass
class Book:
    run: ScoringRun
    alice: User  # rep
    bob: User  # rep
    mia: User  # manager of one region
    root: User  # admin
    nora: User  # analyst
    maya: User  # marketer
    carl: User  # cx
    region: Region


def scored_book(django_db_blocker, n_customers: int = 300, seed: int = 23):
    """Generate, assign owners (two reps, round robin, some customers without one), score."""
    from patron.generator.writer import generate_dataset
    from patron.insights.services import scoring_run_execute

    with django_db_blocker.unblock():
        alice = make_user("alice", "rep")
        bob = make_user("bob", "rep")
        generate_dataset(n_customers, seed=seed)
        # A few customers nobody owns: data quality counts them, managers still see them by branch.
        orphans = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[::25])
        Customer.objects.filter(pk__in=orphans).update(owner=None)
        region = Branch.objects.filter(customers__isnull=False).order_by("pk").first().region
        mia = make_user("mia", "manager", regions=[region])
        book = Book(
            run=scoring_run_execute(as_of=AS_OF),
            alice=alice,
            bob=bob,
            mia=mia,
            root=make_user("root", "admin"),
            nora=make_user("nora", "analyst"),
            maya=make_user("maya", "marketer"),
            carl=make_user("carl", "cx"),
            region=region,
        )
        yield book
        call_command("flush", interactive=False, verbosity=0)
