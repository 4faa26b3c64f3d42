"""``patron privacy export CUSTOMER_ID`` and ``patron privacy erase CUSTOMER_ID --yes``.

export prints, as JSON, everything Patron holds about a customer; erase anonymises the customer
(figures stay, so totals and NPS do not change). Both are audit-logged. An unknown id, or erase
without --yes, is one line on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from patron.customers.privacy import UnknownCustomerError, privacy_erase, privacy_export


class Command(BaseCommand):
    help = "A customer's data: export it as JSON, or erase (anonymise) it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("customer_id", help="The customer's id (as in the customer page's address).")
        parser.add_argument("--yes", action="store_true", help="erase: confirm; erasure cannot be undone.")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            customer_id = int(opts["customer_id"])
        except ValueError:
            raise CommandError(_("A customer id is a number, not %(value)s.") % {"value": opts["customer_id"]}, returncode=2) from None
        try:
            if opts["action"] == "export":
                data = privacy_export(customer_id)
                self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str))
                return
            if not opts["yes"]:
                raise CommandError(
                    _("Erasing customer %(id)s cannot be undone: run again with --yes to confirm.") % {"id": customer_id},
                    returncode=2,
                )
            customer = privacy_erase(customer_id)
        except UnknownCustomerError as exc:
            raise CommandError(" ".join(exc.messages), returncode=2) from exc
        self.stdout.write(_("Customer %(id)s erased: personal data removed, figures kept.") % {"id": customer.pk})
