"""Reads of customers. ``visible_customers`` is the one place that decides who sees whom."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from patron.core.models import Branch, Role, User
from patron.customers.models import Customer

# Roles that read every customer: the organisation-wide functions.
ALL_CUSTOMER_ROLES = {Role.ADMIN, Role.ANALYST, Role.MARKETER, Role.CX}


def customer_scope(user: User) -> Q | None:
    """The filter on Customer that ``user`` may see; None means every customer.

    Decided from the records at query time (owner, branch, region), so reassigning a
    customer or a manager's branches changes who sees what at once.
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser or user.role in ALL_CUSTOMER_ROLES:
        return None
    scope = Q(owner_id=user.pk)
    if user.role == Role.MANAGER:
        region_ids = user.regions.values("pk")
        branch_ids = Branch.objects.filter(Q(managers=user) | Q(region__in=region_ids)).values("pk")
        scope |= Q(branch_id__in=branch_ids) | Q(region_id__in=region_ids)
    return scope


def visible_customers(user: User) -> QuerySet[Customer]:
    """Every page, API endpoint, export and search starts from this queryset."""
    scope = customer_scope(user)
    customers = Customer.objects.all()
    return customers if scope is None else customers.filter(scope)


def can_see_customer(user: User, customer_id: int) -> bool:
    return visible_customers(user).filter(pk=customer_id).exists()


def can_edit_customer(user: User, customer: Customer) -> bool:
    """Analysts and marketers read everything but change nothing on a customer's record."""
    if not user.is_authenticated or user.role in {Role.ANALYST, Role.MARKETER}:
        return False
    return visible_customers(user).filter(pk=customer.pk).exists()


def search_key(name: str) -> str:
    """Full pinyin and initials of a name, so "zhang wei" and "zw" find 张伟."""
    from pypinyin import lazy_pinyin

    if not any("\u4e00" <= ch <= "\u9fff" for ch in name):
        return name.lower()
    syllables = [s for s in lazy_pinyin(name, errors="ignore") if s.strip()]
    initials = "".join(s[0] for s in syllables)
    return f"{' '.join(syllables)} {''.join(syllables)} {initials}".lower()
