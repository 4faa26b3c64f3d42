"""The demo: one user per role and a generated data set, created once."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from patron.core.models import Region, Role, User
from patron.core.services import user_create
from patron.customers.models import Customer

# Printed by `patron demo` for its sample users; never used outside the demo.
DEMO_PASSWORD = "patron-demo"  # noqa: S105


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    first_name: str
    last_name: str


DEMO_USERS = [
    DemoUser("admin", Role.ADMIN, "Ada", "Admin"),
    DemoUser("mia", Role.MANAGER, "Mia", "Chen"),
    DemoUser("alice", Role.REP, "Alice", "Wang"),
    DemoUser("bob", Role.REP, "Bob", "Li"),
    DemoUser("kate", Role.ACCOUNT_MANAGER, "Kate", "Zhou"),
    DemoUser("carl", Role.CX, "Carl", "Huang"),
    DemoUser("maya", Role.MARKETER, "Maya", "Lin"),
    DemoUser("nora", Role.ANALYST, "Nora", "Xu"),
]


# Key accounts given to the demo's account manager when the data has none marked.
KEY_ACCOUNTS = 40


@transaction.atomic
def demo_users_create() -> list[User]:
    """Create the demo users that do not exist yet; all share DEMO_PASSWORD."""
    created = []
    for spec in DEMO_USERS:
        if User.objects.filter(username=spec.username).exists():
            continue
        user, _ = user_create(
            username=spec.username,
            role=spec.role,
            password=DEMO_PASSWORD,
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=f"{spec.username}@example.com",
            validate=False,
        )
        created.append(user)
    return created


@transaction.atomic
def demo_org_assign() -> None:
    """Give the manager the first region and make the reps report to her."""
    mia = User.objects.filter(username="mia").first()
    region = Region.objects.order_by("code").first()
    if mia is None:
        return
    if region is not None:
        mia.regions.add(region)
    User.objects.filter(role__in=[Role.REP, Role.ACCOUNT_MANAGER], reports_to__isnull=True).update(reports_to=mia)
    demo_key_accounts_assign()


def demo_key_accounts_assign(*, top: int = KEY_ACCOUNTS) -> int:
    """Give the account manager the key accounts, or the ``top`` most profitable customers.

    Without this the account manager's home and lists would be empty in the demo. Done once: an
    account manager who already owns customers keeps exactly those.
    """
    kate = User.objects.filter(username="kate").first()
    if kate is None or Customer.objects.filter(owner=kate).exists():
        return 0
    keys = Customer.objects.filter(is_key_account=True)
    if not keys.exists():
        ids = list(Customer.objects.order_by("-profit_total", "pk").values_list("pk", flat=True)[:top])
        keys = Customer.objects.filter(pk__in=ids)
    return keys.update(owner=kate, is_key_account=True)
