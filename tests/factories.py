"""Factories: plain functions over the services, so tests build data the way the app does."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from patron.commerce.models import Product
from patron.commerce.services import LineInput, order_create, product_create
from patron.core.models import Branch, Region, User
from patron.core.services import user_create
from patron.customers.models import Customer
from patron.customers.services import customer_create

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_branch(code: str, name: str, *, region_code: str, region_name: str) -> Branch:
    region, _ = Region.objects.get_or_create(code=region_code, defaults={"name": region_name})
    return Branch.objects.create(code=code, name=name, region=region)


def make_user(username: str, role: str, **kwargs) -> User:
    user, _ = user_create(username=username, role=role, password=PASSWORD, **kwargs)
    return user


def make_customer(name: str | None = None, **kwargs) -> Customer:
    return customer_create(name=name or f"Customer {next(_seq)}", **kwargs)


def make_product(price: Decimal | int = 100, cost: Decimal | int = 60, **kwargs) -> Product:
    n = next(_seq)
    kwargs.setdefault("sku", f"SKU-{n}")
    kwargs.setdefault("name", f"Product {n}")
    return product_create(list_price=Decimal(price), unit_cost=Decimal(cost), **kwargs)


def make_order(customer: Customer, *, product: Product | None = None, quantity: int = 1,
               channel: str = "web", at: datetime | None = None, **kwargs):
    product = product or make_product()
    return order_create(
        customer=customer,
        channel=channel,
        ordered_at=at or timezone.now() - timedelta(days=1),
        lines=[LineInput(product=product, quantity=quantity)],
        **kwargs,
    )


@contextmanager
def committed_book(
    customers: int, seed: int, *, as_of: date | None = None, copy_to: Path | None = None
) -> Iterator[None]:
    """A generated book committed for a module's tests, so that a second connection (ADBC) sees
    it; scored as of ``as_of`` if given, copied to the SQLite file ``copy_to`` if given; emptied
    afterwards. Use inside ``django_db_blocker.unblock()``."""
    import sqlite3

    from django.core.management import call_command
    from django.db import connection

    from patron.generator.writer import generate_dataset
    from patron.insights.services import scoring_run_execute

    generate_dataset(customers, seed=seed)
    if as_of is not None:
        scoring_run_execute(as_of=as_of)
    if copy_to is not None:
        connection.ensure_connection()
        with sqlite3.connect(copy_to) as target:
            connection.connection.backup(target)
    try:
        yield
    finally:
        call_command("flush", interactive=False, verbosity=0)
