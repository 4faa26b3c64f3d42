"""Customers: one row per customer, upserted on its external id (or Patron's id)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.core.choices import SalesChannel
from patron.core.models import base_currency
from patron.core.roles import is_manager
from patron.customers.duplicates import email_key, name_key
from patron.customers.models import Customer
from patron.customers.phones import digits
from patron.customers.selectors import (
    search_key,
)
from patron.customers.services import tag_get_or_create_many
from patron.imports import fields as f
from patron.imports.kinds.base import RecordImporter
from patron.imports.models import CustomerMerge
from patron.imports.run import (
    BASE_CURRENCY,
    Row,
    branches_by_code,
    chunks,
    regions_by_code,
    users_by_username,
)


class CustomerImporter(RecordImporter):
    kind = "customers"
    model = Customer
    customer_scoped = False
    # A file from a spreadsheet often has no id at all: its rows are matched by email or phone.
    one_of = (("external_id", "id", "email", "phone"),)
    specs = [
        f.ID,
        f.EXTERNAL_ID,
        f.spec("name", gettext_lazy("name"), f.model_text(Customer, "name")),
        f.spec("kind", gettext_lazy("kind (person or company)"), f.model_choice(Customer, "kind")),
        f.spec("email", gettext_lazy("email"), f.email),
        f.spec("phone", gettext_lazy("phone"), f.phone),
        f.spec("city", gettext_lazy("city"), f.model_text(Customer, "city")),
        f.spec("address", gettext_lazy("address"), f.model_text(Customer, "address")),
        f.spec("owner", gettext_lazy("owner (username)"), f.text(150)),
        f.spec("branch", gettext_lazy("branch (code)"), f.text(20)),
        f.spec("region", gettext_lazy("region (code)"), f.text(20)),
        f.spec("stage", gettext_lazy("lifecycle stage"), f.model_choice(Customer, "stage")),
        f.spec("acquired_on", gettext_lazy("acquisition date"), f.day),
        f.spec("acquisition_channel", gettext_lazy("acquisition channel"), f.choice(SalesChannel.choices)),
        f.spec("acquisition_cost", gettext_lazy("acquisition cost"), f.money(), money=True),
        f.spec("currency", gettext_lazy("currency"), f.currency),
        f.spec("is_key_account", gettext_lazy("key account"), f.boolean),
        f.spec("consent_email", gettext_lazy("consents to email"), f.boolean),
        f.spec("consent_survey", gettext_lazy("consents to surveys"), f.boolean),
        f.spec("tags", gettext_lazy("tags (separated by ;)"), f.tags),
    ]
    targets = {
        "name": ("name", ""),
        "kind": ("kind", Customer.Kind.PERSON),
        "email": ("email", ""),
        "phone": ("phone", ""),
        "city": ("city", ""),
        "address": ("address", ""),
        "owner": ("owner_id", None),
        "branch": ("branch_id", None),
        "region": ("region_id", None),
        "stage": ("stage", Customer.Stage.ACTIVE),
        "acquired_on": ("acquired_on", None),
        "acquisition_channel": ("acquisition_channel", ""),
        "acquisition_cost": ("acquisition_cost", Decimal(0)),
        "currency": ("currency", BASE_CURRENCY),
        "is_key_account": ("is_key_account", False),
        "consent_email": ("consent_email", False),
        "consent_survey": ("consent_survey", False),
    }

    def match_unkeyed(self, rows: list[Row]) -> None:
        """Rows without external_id or id are matched to an existing customer by email (any case)
        or phone (its digits): one match updates it, none creates a customer (Patron makes its
        id), several are refused. A rep or manager matches only customers they may see, so a
        file tells them nothing of the others (a new customer there is flagged as a possible
        duplicate for review instead)."""
        emails = {email_key(r.values["email"]) for r in rows if r.values.get("email")}
        phones = {digits(r.values["phone"]) for r in rows if r.values.get("phone")}
        by_email: dict[str, set[int]] = defaultdict(set)
        by_phone: dict[str, set[int]] = defaultdict(set)
        book = self.run.customers().order_by()
        for chunk in chunks(sorted(emails)):
            for pk, email in book.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk).values_list(
                "pk", "email_lower"
            ):
                by_email[email].add(pk)
        for chunk in chunks(sorted(phones)):
            for pk, phone in book.filter(phone_digits__in=chunk).values_list("pk", "phone_digits"):
                by_phone[phone].add(pk)
        for r in rows:
            email, phone = email_key(r.values.get("email") or ""), digits(r.values.get("phone") or "")
            if not email and not phone:
                r.reject(_("Give external_id, id, email or phone: a row with none of them could not be "
                           "matched when the file is imported again."))
                continue
            matches = by_email.get(email, set()) | by_phone.get(phone, set())
            if len(matches) > 1:
                r.reject(_("Customers %(ids)s all have this email or phone; give the id of the one to update.")
                         % {"ids": ", ".join(str(pk) for pk in sorted(matches)[:5])})
            elif matches:
                r.key = ("i", next(iter(matches)))
            else:
                r.key = ("c", email or phone)

    def resolve(self, rows: list[Row]) -> None:
        run = self.run
        run.lookup(rows, "owner", "user", users_by_username, _("No user named %(value)s."))
        run.lookup(rows, "branch", "branch", branches_by_code, _("No branch with code %(value)s."))
        run.lookup(rows, "region", "region", regions_by_code, _("No region with code %(value)s."))

    def prepare(self, r: Row) -> None:
        self.money_currency(r, ["acquisition_cost"], base_currency())
        branch = r.values.get("branch")
        if isinstance(branch, tuple):
            r.values["branch"] = branch[0]
            # Like customer_create: a branch implies its region unless the file names one.
            if r.values.get("region") is None:
                r.values["region"] = branch[1]
        super().prepare(r)
        if r.desired.get("name") == "":
            r.reject(_("%(column)s is required.") % {"column": "name"})
        if "name" in r.desired:
            r.desired["name_search"] = search_key(r.desired["name"])
            r.desired["name_key"] = name_key(r.desired["name"])
        if "phone" in r.desired:
            r.desired["phone_digits"] = digits(r.desired["phone"])
        user = self.run.user
        if user is not None and self.run.restricted:
            # Decision (docs/import.md): what a rep or manager imports without an owner is theirs,
            # otherwise it would vanish from their view; reps may not give customers away.
            owner = r.desired.get("owner_id")
            if owner is None:
                r.desired["owner_id"] = user.pk
            elif owner != user.pk and not is_manager(user):
                r.reject(_("You can only import customers you own; leave owner empty or put your username."))
        if "tags" in r.values:
            r.extra["tags"] = r.values["tags"] or ()

    def compare_fields(self) -> list[str]:
        return [*super().compare_fields(), "name_search", "name_key", "phone_digits"]

    def check_existing(self, rows: list[Row], found: dict[Any, dict[str, Any]]) -> None:
        for r in rows:
            if r.key[0] == "i" and r.key not in found:
                r.reject(_("No customer with id %(id)s; give an external_id to create it.") % {"id": r.key[1]})
        # A merged customer's external id must not bring the merged customer back.
        missing = [r.key[1] for r in rows if r.key[0] == "e" and r.key not in found]
        if missing:
            merged = dict(
                CustomerMerge.objects.filter(merged_external_id__in=missing).values_list(
                    "merged_external_id", "kept_customer_id"
                )
            )
            for r in rows:
                if r.key[0] == "e" and r.key[1] in merged:
                    r.reject(
                        _("Customer %(ext)s was merged into customer %(id)s; update that customer instead.")
                        % {"ext": r.key[1], "id": merged[r.key[1]]}
                    )
        if self.run.restricted:
            visible = self.run.visible_ids(row["id"] for row in found.values())
            for r in rows:
                old = found.get(r.key)
                if old is not None and old["id"] not in visible:
                    r.reject(self.not_editable_message(r.key))
                    del found[r.key]
        if any("tags" in r.extra for r in rows):
            ids = [row["id"] for row in found.values()]
            through = Customer.tags.through
            current: dict[int, set[str]] = defaultdict(set)
            for chunk in chunks(ids):
                for cid, name in through.objects.filter(customer_id__in=chunk).values_list("customer_id", "tag__name"):
                    current[cid].add(name)
            for row in found.values():
                row["_tags"] = tuple(sorted(current.get(row["id"], ())))

    def not_editable_message(self, key: Any) -> str:
        return _("%(column)s %(value)s belongs to a customer you cannot edit.") % {
            "column": "external_id" if key[0] == "e" else "id",
            "value": key[1],
        }

    def extra_changed(self, r: Row, old: dict[str, Any]) -> bool:
        return "tags" in r.extra and tuple(r.extra["tags"]) != old.get("_tags", ())

    def create_values(self, r: Row) -> dict[str, Any]:
        values = super().create_values(r)
        values["name_search"] = search_key(values["name"])
        values["name_key"] = name_key(values["name"])
        values["phone_digits"] = digits(values["phone"])
        user = self.run.user
        if values["owner_id"] is None and user is not None and self.run.restricted:
            values["owner_id"] = user.pk
        return values

    def after(self, creates: list[Row], updates: list[Row], rows: list[Row]) -> None:
        changed = creates + updates
        self.run.touched_customers.update(r.extra["id"] for r in changed)
        tagged = [r for r in changed if "tags" in r.extra]
        if not tagged:
            return
        names = sorted({t for r in tagged for t in r.extra["tags"]})
        tag_ids = {t.name: t.pk for t in tag_get_or_create_many(names)} if names else {}
        through = Customer.tags.through
        remove: list[Q] = []
        add = []
        for r in tagged:
            want = set(r.extra["tags"])
            have = set(r.extra.get("old", {}).get("_tags", ()))
            cid = r.extra["id"]
            for name in have - want:
                remove.append(Q(customer_id=cid, tag__name=name))
            for name in sorted(want - have):
                add.append(through(customer_id=cid, tag_id=tag_ids[name]))
        for start in range(0, len(remove), 300):
            condition = Q()
            for q in remove[start : start + 300]:
                condition |= q
            through.objects.filter(condition).delete()
        through.objects.bulk_create(add, batch_size=2000)
