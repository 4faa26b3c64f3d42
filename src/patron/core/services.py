"""Writes of users."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from patron.core.audit import audit_record
from patron.core.models import Branch, Region, Role, User


def role_flags(role: str) -> dict[str, bool]:
    """The Django flags a role brings: administrators use the admin site as superusers."""
    return {"is_staff": role == Role.ADMIN, "is_superuser": role == Role.ADMIN}


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    branches: Iterable[Branch] = (),
    regions: Iterable[Region] = (),
    reports_to: User | None = None,
    validate: bool = True,
) -> tuple[User, str]:
    """Create a user with a role; returns the user and the password (generated if not given)."""
    if role not in Role.values:
        raise ValidationError(
            _("Unknown role %(role)s; choose one of: %(roles)s.") % {"role": role, "roles": ", ".join(Role.values)},
            code="role",
        )
    if not username or User.objects.filter(username=username).exists():
        raise ValidationError(_("A user named %(name)s already exists.") % {"name": username}, code="username")
    user = User(
        username=username,
        role=role,
        email=email,
        first_name=first_name,
        last_name=last_name,
        reports_to=reports_to,
        **role_flags(role),
    )
    user.full_clean(exclude=["password"])
    if password is None:
        password = secrets.token_urlsafe(12)
    elif validate:
        validate_password(password, user)
    user.set_password(password)
    user.save()
    user.branches.set(list(branches))
    user.regions.set(list(regions))
    audit_record(
        "user.create", obj=user,
        changes={
            "username": [None, username], "role": [None, role], "is_superuser": [None, user.is_superuser],
            "branches": [None, sorted(b.pk for b in user.branches.all())],
            "regions": [None, sorted(r.pk for r in user.regions.all())],
        },
    )
    return user, password
