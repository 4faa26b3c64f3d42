"""Writes of customers and contacts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from patron.core.audit import audit_bulk, audit_record, diff, snapshot
from patron.core.errors import DuplicateExternalIdError
from patron.core.models import Branch, Region, User, base_currency
from patron.core.roles import assignable_owners, can_assign_owners
from patron.customers.duplicates import name_key, possible_duplicates_flag
from patron.customers.models import Contact, Customer, Tag
from patron.customers.phones import phone_and_digits
from patron.customers.selectors import editable_customers, search_key


def _check_external_id(model: type, external_id: str | None, label: str) -> None:
    if external_id and model.objects.filter(external_id=external_id).exists():  # type: ignore[attr-defined]
        raise DuplicateExternalIdError(label, external_id)


@transaction.atomic
def customer_create(
    *,
    name: str,
    owner: User | None = None,
    kind: str = Customer.Kind.PERSON,
    external_id: str | None = None,
    branch: Branch | None = None,
    region: Region | None = None,
    email: str = "",
    phone: str = "",
    stage: str = Customer.Stage.ACTIVE,
    acquired_on: date | None = None,
    acquisition_channel: str = "",
    acquisition_cost: Decimal | int = 0,
    is_key_account: bool = False,
    consent_email: bool = False,
    consent_survey: bool = False,
    currency: str | None = None,
    tags: list[str] | None = None,
    **extra: Any,
) -> Customer:
    _check_external_id(Customer, external_id, str(Customer._meta.verbose_name))
    if region is None and branch is not None:
        region = branch.region
    phone, phone_digits = phone_and_digits(phone)
    customer = Customer(
        name=name,
        name_search=search_key(name),
        name_key=name_key(name),
        owner=owner,
        kind=kind,
        external_id=external_id or None,
        branch=branch,
        region=region,
        email=email,
        phone=phone,
        phone_digits=phone_digits,
        stage=stage,
        acquired_on=acquired_on,
        acquisition_channel=acquisition_channel,
        acquisition_cost=Decimal(acquisition_cost),
        is_key_account=is_key_account,
        consent_email=consent_email,
        consent_survey=consent_survey,
        currency=currency or base_currency(),
        **extra,
    )
    customer.full_clean(exclude=["owner", "branch", "region"])
    try:
        customer.save()
    except IntegrityError as exc:  # a concurrent insert of the same external id
        raise DuplicateExternalIdError(str(Customer._meta.verbose_name), external_id or "") from exc
    if tags:
        customer.tags.set(tag_get_or_create_many(tags))
    created = {k: [None, v] for k, v in snapshot(customer, sorted(CUSTOMER_UPDATABLE)).items() if v not in (None, "", False)}
    if tags:
        created["tags"] = [None, sorted(tags)]
    audit_record("customer.create", obj=customer, customer_id=customer.pk, changes=created)
    possible_duplicates_flag(customer_ids=[customer.pk])
    return customer


def tag_get_or_create_many(names: list[str]) -> list[Tag]:
    clean = sorted({n.strip() for n in names if n.strip()})
    existing = {t.name: t for t in Tag.objects.filter(name__in=clean)}
    Tag.objects.bulk_create([Tag(name=n) for n in clean if n not in existing], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=clean))


@transaction.atomic
def customer_assign_owner(*, customer: Customer, owner: User | None) -> Customer:
    before = snapshot(customer, ["owner"])
    customer.owner = owner
    customer.save(update_fields=["owner", "updated_at"])
    if changed := diff(before, customer):
        audit_record("customer.owner", obj=customer, customer_id=customer.pk, changes=changed)
    return customer


@transaction.atomic
def contact_create(
    *,
    customer: Customer,
    name: str,
    external_id: str | None = None,
    title: str = "",
    email: str = "",
    phone: str = "",
    is_primary: bool = False,
    consent_email: bool = False,
    consent_survey: bool = False,
) -> Contact:
    _check_external_id(Contact, external_id, str(Contact._meta.verbose_name))
    phone, phone_digits = phone_and_digits(phone)
    contact = Contact(
        customer=customer,
        name=name,
        name_search=search_key(name),
        external_id=external_id or None,
        title=title,
        email=email,
        phone=phone,
        phone_digits=phone_digits,
        is_primary=is_primary,
        consent_email=consent_email,
        consent_survey=consent_survey,
    )
    contact.full_clean(exclude=["customer"])
    if is_primary:
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    contact.save()
    created = {k: [None, v] for k, v in snapshot(contact, sorted(CONTACT_UPDATABLE)).items() if v not in (None, "", False)}
    audit_record("contact.create", obj=contact, customer_id=customer.pk, changes=created)
    return contact


CUSTOMER_UPDATABLE = frozenset(
    {
        "name", "kind", "external_id", "email", "phone", "city", "address", "owner", "branch", "region",
        "stage", "acquired_on", "acquisition_channel", "acquisition_cost", "is_key_account",
        "consent_email", "consent_survey", "currency",
    }
)  # fmt: skip


def _apply(instance: Any, changes: Mapping[str, Any], allowed: frozenset[str]) -> list[str]:
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(
            gettext("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            code="read_only",
        )
    for name, value in changes.items():
        setattr(instance, name, value)
    return list(changes)


@transaction.atomic
def customer_update(*, customer: Customer, changes: Mapping[str, Any], tags: list[str] | None = None) -> Customer:
    """Change some of a customer's fields (running totals are not among them); ``tags`` replaces the tags."""
    changes = dict(changes)
    if changes.get("external_id") == "":
        changes["external_id"] = None
    new_external_id = changes.get("external_id")
    if new_external_id and new_external_id != customer.external_id:
        _check_external_id(Customer, new_external_id, str(Customer._meta.verbose_name))
    if "branch" in changes and "region" not in changes and changes["branch"] is not None:
        changes["region"] = changes["branch"].region
    if "acquisition_cost" in changes:
        changes["acquisition_cost"] = Decimal(changes["acquisition_cost"])
    before = snapshot(customer, [f for f in changes if f in CUSTOMER_UPDATABLE])
    old_tags = sorted(customer.tags.values_list("name", flat=True)) if tags is not None else None
    fields = _apply(customer, changes, CUSTOMER_UPDATABLE)
    if "name" in changes:
        customer.name_search = search_key(customer.name)
        customer.name_key = name_key(customer.name)
        fields += ["name_search", "name_key"]
    if "phone" in changes:
        customer.phone, customer.phone_digits = phone_and_digits(customer.phone)
        fields.append("phone_digits")
    customer.full_clean(exclude=["owner", "branch", "region"])
    if fields:
        customer.save(update_fields=[*fields, "updated_at"])
    changed: dict[str, Any] = diff(before, customer)
    if tags is not None:
        customer.tags.set(tag_get_or_create_many(tags))
        new_tags = sorted(customer.tags.values_list("name", flat=True))
        if new_tags != old_tags:
            changed["tags"] = [old_tags, new_tags]
    if changed:
        audit_record("customer.update", obj=customer, customer_id=customer.pk, changes=changed)
    if changed.keys() & {"name", "email", "phone"}:
        possible_duplicates_flag(customer_ids=[customer.pk])
    return customer


CONTACT_UPDATABLE = frozenset(
    {"name", "external_id", "title", "email", "phone", "is_primary", "consent_email", "consent_survey"}
)


@transaction.atomic
def contact_update(*, contact: Contact, changes: Mapping[str, Any]) -> Contact:
    changes = dict(changes)
    if changes.get("external_id") == "":
        changes["external_id"] = None
    new_external_id = changes.get("external_id")
    if new_external_id and new_external_id != contact.external_id:
        _check_external_id(Contact, new_external_id, str(Contact._meta.verbose_name))
    before = snapshot(contact, [f for f in changes if f in CONTACT_UPDATABLE])
    fields = _apply(contact, changes, CONTACT_UPDATABLE)
    if "name" in changes:
        contact.name_search = search_key(contact.name)
        fields.append("name_search")
    if "phone" in changes:
        contact.phone, contact.phone_digits = phone_and_digits(contact.phone)
        fields.append("phone_digits")
    contact.full_clean(exclude=["customer"])
    if changes.get("is_primary"):
        Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(pk=contact.pk).update(
            is_primary=False
        )
    if fields:
        contact.save(update_fields=[*fields, "updated_at"])
    if changed := diff(before, contact):
        audit_record("contact.update", obj=contact, customer_id=contact.customer_id, changes=changed)
    return contact


# ---------------------------------------------------------------- bulk actions of the customer list

BULK_BATCH = 2000


class BulkActionError(ValidationError):
    """A bulk action the acting user may not take, or with a bad value."""


def _editable_among(actor: User, customers: QuerySet[Customer]) -> QuerySet[Customer]:
    # Whatever ``customers`` holds (a filtered list, ids from a form), only those the actor may
    # edit are touched: visibility is applied here, not trusted from the caller.
    return editable_customers(actor).filter(pk__in=customers.order_by().values("pk"))


@transaction.atomic
def customers_bulk_assign_owner(*, actor: User, customers: QuerySet[Customer], owner: User) -> int:
    """Give ``owner`` the customers among ``customers`` that ``actor`` may edit, in one UPDATE.

    Returns how many customers changed owner (those already owned by ``owner`` do not count).
    """
    if not can_assign_owners(actor):
        raise BulkActionError(
            gettext("Your role does not assign customers to other people."), code="forbidden"
        )
    if not assignable_owners(actor).filter(pk=owner.pk).exists():
        raise BulkActionError(
            gettext("You cannot assign customers to %(user)s.") % {"user": owner},
            code="owner_not_allowed",
        )
    targets = _editable_among(actor, customers).exclude(owner_id=owner.pk)
    # Read for the audit entry before the UPDATE, in its transaction: the ids and former owners.
    moving = list(targets.order_by("pk").values_list("pk", "owner_id"))
    ids = [pk for pk, _owner in moving]
    previous = sorted({o for _pk, o in moving if o is not None})
    count = Customer.objects.filter(pk__in=targets.values("pk")).update(owner=owner, updated_at=timezone.now())
    if count:
        audit_bulk("customers.bulk_owner", object_type="customer", ids=ids, details={"owner": [previous, owner.pk]})
    return count


@transaction.atomic
def customers_bulk_add_tag(*, actor: User, customers: QuerySet[Customer], tag_name: str) -> int:
    """Add a tag to the customers among ``customers`` that ``actor`` may edit.

    Rows of the tag table are written with bulk_create in batches, reading the customers that
    lack the tag by id ranges, so memory stays flat however many match. Returns how many
    customers gained the tag.
    """
    name = tag_name.strip()
    max_length = Tag._meta.get_field("name").max_length or 50
    if not name:
        raise BulkActionError(gettext("Give the tag a name."), code="tag_empty")
    if len(name) > max_length:
        raise BulkActionError(
            gettext("A tag has at most %(n)s characters.") % {"n": max_length}, code="tag_too_long"
        )
    if editable_customers(actor).query.is_empty():
        raise BulkActionError(gettext("Your role does not change customers."), code="forbidden")
    tag = tag_get_or_create_many([name])[0]
    through = Customer.tags.through
    targets = _editable_among(actor, customers).exclude(tags=tag).order_by("pk")
    added = 0
    last = 0
    while True:
        ids = list(targets.filter(pk__gt=last).values_list("pk", flat=True)[:BULK_BATCH])
        if not ids:
            return added
        audit_bulk("customers.bulk_tag", object_type="customer", ids=ids, details={"tag": name})
        # ignore_conflicts: a tag added at the same moment by someone else is not an error.
        through.objects.bulk_create(
            [through(customer_id=pk, tag_id=tag.pk) for pk in ids], ignore_conflicts=True
        )
        added += len(ids)
        last = ids[-1]
