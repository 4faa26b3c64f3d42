"""Interactions with customers (calls, emails, visits...)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.core.choices import ContactChannel
from patron.engagement.models import Interaction
from patron.imports import fields as f
from patron.imports.kinds.base import RecordImporter
from patron.imports.run import (
    Row,
    contacts_by_external_id,
    ok,
    users_by_username,
)


class InteractionImporter(RecordImporter):
    kind = "interactions"
    model = Interaction
    one_of = (("external_id", "id"), ("customer_external_id", "customer_id"))
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.CUSTOMER_EXTERNAL_ID,
        f.CUSTOMER_ID,
        f.spec("contact_external_id", gettext_lazy("contact's external id"), f.text(100)),
        f.spec("channel", gettext_lazy("channel"), f.choice(ContactChannel.choices)),
        f.spec("direction", gettext_lazy("direction (in or out)"), f.model_choice(Interaction, "direction")),
        f.spec("subject", gettext_lazy("subject"), f.model_text(Interaction, "subject")),
        f.spec("body", gettext_lazy("notes"), f.text(100_000)),
        f.spec("occurred_at", gettext_lazy("occurred at"), f.moment),
        f.spec("handled_by", gettext_lazy("handled by (username)"), f.text(150)),
    ]
    targets = {
        "contact_external_id": ("contact_id", None),
        "channel": ("channel", ""),
        "direction": ("direction", Interaction.Direction.INBOUND),
        "subject": ("subject", ""),
        "body": ("body", ""),
        "occurred_at": ("occurred_at", None),
        "handled_by": ("handled_by_id", None),
    }

    def resolve(self, rows: list[Row]) -> None:
        run = self.run
        run.lookup(rows, "handled_by", "user", users_by_username, _("No user named %(value)s."))
        run.lookup(
            rows, "contact_external_id", "contact", contacts_by_external_id, _("No contact with external id %(value)s.")
        )
        for r in ok(rows):
            contact = r.values.get("contact_external_id")
            if isinstance(contact, tuple):
                if r.customer is not None and contact[1] != r.customer[0]:
                    r.reject(_("That contact belongs to another customer."))
                r.values["contact_external_id"] = contact[0]
