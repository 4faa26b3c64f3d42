"""A person's rights over their data (PIPL, GDPR): a copy of everything about them, and erasure.

``privacy_export`` gathers every record that belongs to a customer (whatever has a foreign key to
Customer: contacts, orders and their lines, cost events, interactions, tasks, survey invitations,
answers and comments, follow-ups, reviews, scores, the contact log) plus the tags and the audit
entries about them, as JSON-ready data.

``privacy_erase`` anonymises: every field that says who the person is or what they wrote is
blanked, while money, dates, quantities, scores and answers' scores stay, so totals, NPS,
cohorts and every other aggregate come out the same. The customer is marked ``erased_at`` and
is never contacted again (``customers.consent``). Both are audit-logged; the log keeps no
personal values (``core.audit.PERSONAL``), so it needs no erasing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core.audit import audit_record
from patron.core.models import AuditEntry
from patron.customers.models import Customer

FORMAT_VERSION = 1


class UnknownCustomerError(ValidationError):
    def __init__(self, customer_id: Any) -> None:
        super().__init__(_("There is no customer %(id)s.") % {"id": customer_id}, code="unknown_customer")


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None
    return value


def _row(obj: models.Model) -> dict[str, Any]:
    return {f.attname: _value(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _relations() -> list[models.ForeignObjectRel]:
    return [
        rel for rel in Customer._meta.related_objects
        if (rel.one_to_many or rel.one_to_one) and rel.related_model is not None
    ]


def privacy_export(customer_id: int) -> dict[str, Any]:
    """Everything Patron holds about customer ``customer_id``, as JSON-ready data."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise UnknownCustomerError(customer_id)
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "customer": _row(customer),
        "tags": sorted(customer.tags.values_list("name", flat=True)),
    }
    for rel in _relations():
        model = rel.related_model
        rows = []
        for obj in model._base_manager.filter(**{rel.field.name: customer}).order_by("pk"):  # type: ignore[union-attr]
            row = _row(obj)
            if model._meta.label == "commerce.Order":  # type: ignore[union-attr]
                row["lines"] = [_row(line) for line in obj.lines.order_by("line_no", "pk")]  # type: ignore[attr-defined]
            rows.append(row)
        data[rel.get_accessor_name() or str(rel.name)] = rows
    data["audit"] = [
        {"at": _value(e.at), "actor": e.actor_label, "source": e.source, "action": e.action,
         "object_type": e.object_type, "object_id": e.object_id, "changes": e.changes}
        for e in AuditEntry.objects.filter(customer_id=customer.pk).order_by("at", "id")
    ]
    audit_record("privacy.export", obj=customer, customer_id=customer.pk)
    return data


# Per model: the fields that say who someone is or what they wrote, and what they become.
_BLANK: dict[str, dict[str, Any]] = {
    "customers.Contact": {"name": "", "name_search": "", "title": "", "email": "", "phone": "",
                          "phone_digits": "", "consent_email": False, "consent_survey": False},
    "commerce.CostEvent": {"note": ""},
    "engagement.Interaction": {"subject": "", "body": ""},
    "engagement.Task": {"notes": ""},
    "feedback.Invitation": {"email": ""},
    "feedback.Response": {"comment": ""},
    "feedback.FollowUp": {"action_taken": "", "customer_message": ""},
    "feedback.Review": {"notes": ""},
    "imports.CustomerMerge": {"kept_name": "", "merged_name": ""},
}


@transaction.atomic
def privacy_erase(customer_id: int) -> Customer:
    """Anonymise customer ``customer_id`` and what they wrote; keep every figure. Idempotent."""
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise UnknownCustomerError(customer_id)
    now = timezone.now()
    counts: dict[str, int] = {}
    for rel in _relations():
        model = rel.related_model
        label = model._meta.label  # type: ignore[union-attr]
        blank = _BLANK.get(label)
        if not blank:
            continue
        rows = model._base_manager.filter(**{rel.field.name: customer})  # type: ignore[union-attr]
        if label == "customers.Contact":
            # A name is required: each contact keeps a neutral one.
            blank = {**blank, "name": _("Erased contact")}
        counts[label] = rows.update(**blank)
    for eraser in _erasers:
        eraser(customer)
    customer.name = _("Erased customer %(id)s") % {"id": customer.pk}
    customer.name_search = customer.name_key = customer.phone_digits = ""
    customer.email = customer.phone = customer.city = customer.address = ""
    customer.consent_email = customer.consent_survey = False
    first_erasure = customer.erased_at is None
    customer.erased_at = customer.erased_at or now
    customer.save(update_fields=[
        "name", "name_search", "name_key", "email", "phone", "phone_digits", "city", "address", "consent_email",
        "consent_survey", "erased_at", "updated_at",
    ])
    audit_record(
        "privacy.erase", obj=customer, customer_id=customer.pk,
        changes={"erased_at": [None, now] if first_erasure else [customer.erased_at, customer.erased_at], "records": counts},
    )
    return customer


# What only an app above this one can erase (e.g. feedback's free-text answers): each app
# registers a function in its AppConfig.ready(), so customers never names it.
_erasers: list[Callable[[Customer], None]] = []


def register_eraser(eraser: Callable[[Customer], None]) -> None:
    """Call ``eraser(customer)`` inside every erasure's transaction (registering twice keeps one)."""
    if eraser not in _erasers:
        _erasers.append(eraser)


__all__ = ["UnknownCustomerError", "privacy_erase", "privacy_export", "register_eraser"]
