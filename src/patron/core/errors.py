"""Errors that services raise for bad input; pages, the API and the CLI turn them into messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection


class DuplicateExternalIdError(ValidationError):
    def __init__(self, model_label: str, external_id: str) -> None:
        from django.utils.translation import gettext

        super().__init__(
            gettext("A %(kind)s with external id %(id)s already exists.") % {"kind": model_label, "id": external_id},
            code="duplicate_external_id",
        )


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database cannot be reached or used right now (a server
    restarting, a network cut, SQLite's lock held past its timeout): the request may succeed if
    tried again. Not a bug: SQL errors (SQLite reports those as OperationalError too) are not."""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if connection.vendor == "sqlite":
        return "locked" in str(exc) or "busy" in str(exc)
    if connection.connection is None:  # the connection could not be made
        return True
    try:
        return not connection.is_usable()
    except Exception:
        return True
