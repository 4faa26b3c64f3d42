"""Which pages a role may open. Which *customers* a user sees is decided in
``patron.customers.selectors.visible_customers``; this module only gates whole pages."""

from __future__ import annotations

from patron.core.models import Role, User

MODEL_VIEWERS = {Role.ADMIN, Role.ANALYST, Role.MANAGER, Role.MARKETER}


def can_view_models(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in MODEL_VIEWERS)
