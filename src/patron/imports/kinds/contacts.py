"""Contacts of a customer, upserted on their external id."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.customers.models import Contact
from patron.customers.phones import digits
from patron.customers.selectors import (
    search_key,
)
from patron.imports import fields as f
from patron.imports.kinds.base import RecordImporter
from patron.imports.run import (
    Row,
)


class ContactImporter(RecordImporter):
    kind = "contacts"
    model = Contact
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.CUSTOMER_EXTERNAL_ID,
        f.CUSTOMER_ID,
        f.spec("name", gettext_lazy("name"), f.model_text(Contact, "name")),
        f.spec("title", gettext_lazy("job title"), f.model_text(Contact, "title")),
        f.spec("email", gettext_lazy("email"), f.email),
        f.spec("phone", gettext_lazy("phone"), f.phone),
        f.spec("is_primary", gettext_lazy("primary contact"), f.boolean),
        f.spec("consent_email", gettext_lazy("consents to email"), f.boolean),
        f.spec("consent_survey", gettext_lazy("consents to surveys"), f.boolean),
    ]
    one_of = (("external_id", "id"), ("customer_external_id", "customer_id"))
    targets = {
        "name": ("name", ""),
        "title": ("title", ""),
        "email": ("email", ""),
        "phone": ("phone", ""),
        "is_primary": ("is_primary", False),
        "consent_email": ("consent_email", False),
        "consent_survey": ("consent_survey", False),
    }

    def process(self, rows: list[Row]) -> None:
        self._primary_in_batch: dict[int, int] = {}
        super().process(rows)

    def prepare(self, r: Row) -> None:
        super().prepare(r)
        if "name" in r.desired:
            r.desired["name_search"] = search_key(r.desired["name"])
        if "phone" in r.desired:
            r.desired["phone_digits"] = digits(r.desired["phone"])
        if r.desired.get("is_primary") and r.customer is not None:
            cid = r.customer[0]
            first = self.run.primary_contacts.get(cid) or self._primary_in_batch.get(cid)
            if first is not None:
                r.reject(
                    _("This customer already has a primary contact on line %(line)s; a customer has one.")
                    % {"line": first}
                )
            else:
                self._primary_in_batch[cid] = r.line

    def compare_fields(self) -> list[str]:
        return [*super().compare_fields(), "name_search", "phone_digits"]

    def create_values(self, r: Row) -> dict[str, Any]:
        values = super().create_values(r)
        values["name_search"] = search_key(values["name"])
        values["phone_digits"] = digits(values["phone"])
        return values

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        for r in rows:
            if r.desired.get("is_primary"):
                self.run.primary_contacts[r.desired["customer_id"]] = r.line
        primaries = {r.desired["customer_id"]: r.extra["id"] for r in creates + updates if r.desired.get("is_primary")}
        if primaries:
            # One primary contact per customer, as contact_create keeps it.
            condition = Q()
            for cid, pk in primaries.items():
                condition |= Q(customer_id=cid) & ~Q(pk=pk)
            Contact.objects.filter(condition, is_primary=True).update(is_primary=False, updated_at=self.run.now)
