"""REST endpoint about the caller: who the token or session acts as."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from patron.core.apikit import (
    ErrorOut,
    OutputSchema,
)
from patron.core.roles import user_of
from patron.customers.selectors import visible_customers

router = Router(tags=["me"])


class MeOut(OutputSchema):
    username: str
    name: str
    role: str
    visible_customers: int


@router.get(
    "/me",
    response={200: MeOut, 401: ErrorOut},
    summary="Who am I",
    # The id it had when this module was core/api.py; clients generated from the schema keep it.
    operation_id="patron_core_api_me",
)
def me(request: HttpRequest):
    """The user your token or session acts as, and how many customers it can see."""
    user = user_of(request)
    return {
        "username": user.username,
        "name": user.get_full_name(),
        "role": user.role,
        "visible_customers": visible_customers(user).count(),
    }
