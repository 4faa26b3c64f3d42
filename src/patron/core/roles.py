"""Which pages a role may open. Which *customers* a user sees is decided in
``patron.customers.selectors.visible_customers``; this module only gates whole pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from patron.core.models import Role, User

MODEL_VIEWERS = {Role.ADMIN, Role.ANALYST, Role.MANAGER, Role.MARKETER}


def can_view_models(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in MODEL_VIEWERS)


# Who may give customers a new owner, and to whom (used by the customer list's bulk actions).
# Decision: administrators assign to anyone active who can own customers; a manager assigns to
# themselves and to the people who report to them; reps, account managers and CX agents do not
# reassign (a rep cannot give customers away); analysts and marketers change no customer.
OWNER_ROLES = {Role.ADMIN, Role.MANAGER, Role.REP, Role.ACCOUNT_MANAGER}


def can_assign_owners(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in {Role.ADMIN, Role.MANAGER})


def assignable_owners(user: User) -> QuerySet[User]:
    """The users ``user`` may make the owner of customers they may edit."""
    active = User.objects.filter(is_active=True)
    if not can_assign_owners(user):
        return active.none()
    if user.is_superuser or user.role == Role.ADMIN:
        return active.filter(role__in=OWNER_ROLES)
    return active.filter(Q(pk=user.pk) | Q(reports_to=user))
