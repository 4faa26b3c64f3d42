"""Errors that services raise for bad input; pages, the API and the CLI turn them into messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class DuplicateExternalIdError(ValidationError):
    def __init__(self, model_label: str, external_id: str) -> None:
        from django.utils.translation import gettext

        super().__init__(
            gettext("A %(kind)s with external id %(id)s already exists.") % {"kind": model_label, "id": external_id},
            code="duplicate_external_id",
        )
