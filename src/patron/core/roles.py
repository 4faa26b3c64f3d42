"""What a role may do, in one place: every test of a user's role goes through a predicate here.

Which *customers* a user sees is decided in ``patron.customers.selectors.visible_customers``
from these sets and the records; this module also gates whole pages. A superuser counts as an
administrator everywhere.
"""

from __future__ import annotations

from typing import cast

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from patron.core.models import Role, User

# The organisation-wide functions: they read every customer.
SEES_ALL_CUSTOMERS = frozenset({Role.ADMIN, Role.ANALYST, Role.MARKETER, Role.CX})
# They read customer records but change none.
READ_ONLY_ROLES = frozenset({Role.ANALYST, Role.MARKETER})
# They see the customers they own (a manager also those of their branches and regions).
OWN_CUSTOMERS_ONLY = frozenset({Role.REP, Role.ACCOUNT_MANAGER})
SURVEY_MANAGERS = frozenset({Role.ADMIN, Role.CX, Role.MARKETER, Role.MANAGER})
MODEL_VIEWERS = frozenset({Role.ADMIN, Role.ANALYST, Role.MANAGER, Role.MARKETER})
# They define the customer segments campaigns target (a segment changes no customer record, so
# the roles that only read customers build them too); everyone else uses the saved segments.
SEGMENT_EDITORS = frozenset({Role.ADMIN, Role.MARKETER, Role.ANALYST, Role.MANAGER})
# They work the sales cycle (leads, opportunities): the main menu offers them the board. Everyone
# reads the sales pages within their visibility; analysts and marketers change nothing there.
SELLING_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.REP, Role.ACCOUNT_MANAGER})
# They create, change and launch campaigns (a launch contacts customers: not analysts, who only
# read them); everyone reads campaigns, each one's members within their own visibility.
CAMPAIGN_MANAGERS = frozenset({Role.ADMIN, Role.MARKETER, Role.MANAGER})


def user_of(request: HttpRequest) -> User:
    """The user a request acts as: the API's token or session (``request.auth``), else the
    signed-in user of a page (views using it are behind login_required)."""
    return cast(User, getattr(request, "auth", None) or request.user)


def is_admin(user: User) -> bool:
    return bool(user.is_superuser or user.role == Role.ADMIN)


def is_analyst(user: User) -> bool:
    """Analysts read feedback and figures but send no surveys and record no answers."""
    return not user.is_superuser and user.role == Role.ANALYST


def can_manage_surveys(user: User) -> bool:
    """Who creates surveys, sends invitations and works follow-ups in the app."""
    return bool(user.is_superuser or user.role in SURVEY_MANAGERS)


def is_manager(user: User) -> bool:
    return not user.is_superuser and user.role == Role.MANAGER


def sees_all_customers(user: User) -> bool:
    return bool(user.is_superuser or user.role in SEES_ALL_CUSTOMERS)


def is_read_only(user: User) -> bool:
    """Analysts and marketers: they read customer records but do not change them."""
    return not user.is_superuser and user.role in READ_ONLY_ROLES


def sees_own_customers_only(user: User) -> bool:
    return not user.is_superuser and user.role in OWN_CUSTOMERS_ONLY


def can_drill_down(user: User) -> bool:
    """Managers and administrators open their people's homes and figures."""
    return bool(user.is_superuser or user.role in {Role.MANAGER, Role.ADMIN})


def can_edit_segments(user: User) -> bool:
    """Who creates, changes and deletes segments; every signed-in user reads them."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in SEGMENT_EDITORS))


def can_manage_campaigns(user: User) -> bool:
    """Who creates, changes, deletes and launches campaigns and downloads a mailing file."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in CAMPAIGN_MANAGERS))


def sells(user: User) -> bool:
    """Whether the user's work includes the sales cycle (the menu's Sales entry)."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in SELLING_ROLES))


def can_view_models(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in MODEL_VIEWERS)


# Who may give customers a new owner, and to whom (used by the customer list's bulk actions).
# Decision: administrators assign to anyone active who can own customers; a manager assigns to
# themselves and to the people who report to them; reps, account managers and CX agents do not
# reassign (a rep cannot give customers away); analysts and marketers change no customer.
OWNER_ROLES = {Role.ADMIN, Role.MANAGER, Role.REP, Role.ACCOUNT_MANAGER}


def can_assign_owners(user: User) -> bool:
    return user.is_authenticated and can_drill_down(user)


def assignable_owners(user: User) -> QuerySet[User]:
    """The users ``user`` may make the owner of customers they may edit."""
    active = User.objects.filter(is_active=True)
    if not can_assign_owners(user):
        return active.none()
    if is_admin(user):
        return active.filter(role__in=OWNER_ROLES)
    return active.filter(Q(pk=user.pk) | Q(reports_to=user))


# A campaign report is aggregate (counts, rates, sums over all its members), so the roles that see
# every customer read it, and managers, who run campaigns for their regions; reps and account
# managers, who see only their own customers, do not. Recording a response changes a member:
# analysts, who record nothing, only read.
CAMPAIGN_REPORT_READERS = frozenset({Role.ADMIN, Role.ANALYST, Role.MARKETER, Role.CX, Role.MANAGER})
CAMPAIGN_RESPONSE_RECORDERS = frozenset({Role.ADMIN, Role.MARKETER, Role.CX, Role.MANAGER})


def can_read_campaign_reports(user: User) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.role in CAMPAIGN_REPORT_READERS))


def can_record_campaign_responses(user: User) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.role in CAMPAIGN_RESPONSE_RECORDERS))
