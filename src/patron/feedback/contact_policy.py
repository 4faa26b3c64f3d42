"""The contact budget: may we reach this person now, on this channel, for this purpose?

One mechanism for surveys now and marketing campaigns later. Every outreach is a ContactLog row,
written in the same transaction as the invitation (or campaign message) it records, so a budget
is counted on what was actually decided, including what is still queued for sending.

Rules, in order:
1. consent (``customers.consent``): never an erased customer; surveys need ``consent_survey``;
   email needs an address; other email needs ``consent_email``;
2. survey fatigue: at most one survey invitation per person in PATRON_SURVEY_FATIGUE_DAYS (90),
   across all surveys and channels;
3. every active ContactRule (a budget per purpose and channel, set by an administrator).

``contact_decisions`` answers for a few customers (model instances, with their contacts);
``contact_refusals`` applies the same rules to a campaign's hundreds of thousands of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from patron.core.audit import Actor, audit_record
from patron.core.models import AuditSource
from patron.customers import consent
from patron.customers.models import Contact, Customer
from patron.feedback.models import ContactLog, ContactPurpose, ContactRule

# Why a person was not contacted; the API returns these codes.
NO_CONSENT = consent.NO_CONSENT
NO_EMAIL = consent.NO_EMAIL
NO_PHONE = consent.NO_PHONE
NO_ADDRESS = consent.NO_ADDRESS
ERASED = consent.ERASED
FATIGUE = "fatigue"
BUDGET = "budget"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)


def contact_decisions(
    customers: Iterable[Customer],
    *,
    channel: str,
    purpose: str,
    now: datetime | None = None,
    contacts: dict[int, Contact] | None = None,
) -> dict[int, Decision]:
    """The decision for each customer (keyed by id), in a bounded number of queries."""
    customers = list(customers)
    contacts = contacts or {}
    decisions: dict[int, Decision] = {}
    pending = []
    for customer in customers:
        reason = consent.refusal(customer, channel, purpose=purpose, contact=contacts.get(customer.pk))
        if reason:
            decisions[customer.pk] = Decision(False, reason)
        else:
            pending.append(customer.pk)
    over = _beyond_budget(pending, channel=channel, purpose=purpose, now=now or timezone.now())
    for pk in pending:
        refused = over.get(pk)
        decisions[pk] = Decision(False, refused) if refused else ALLOWED
    return decisions


# What the bulk path reads of each person: ``Customer.objects.values_list(*PERSON_FIELDS, named=True)``.
PERSON_FIELDS = ("id", "erased_at", "consent_email", "consent_survey", "email", "phone", "address")
# Ids per ``IN (...)`` list: under every database's limit on a statement's parameters.
CHUNK = 20_000


def contact_refusals(people: Iterable[Any], *, channel: str, purpose: str, now: datetime | None = None) -> dict[int, str]:
    """The same rules as ``contact_decisions`` for many customers at once (a campaign's launch):
    ``people`` are rows with ``PERSON_FIELDS`` (no model instances, no contacts); the answer
    holds only the refused, id -> reason, so a million allowed people cost no entries."""
    refused: dict[int, str] = {}
    pending: list[int] = []
    for person in people:
        reason = consent.refusal(person, channel, purpose=purpose)
        if reason:
            refused[person.id] = reason
        else:
            pending.append(person.id)
    refused.update(_beyond_budget(pending, channel=channel, purpose=purpose, now=now or timezone.now()))
    return refused


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _beyond_budget(pending: list[int], *, channel: str, purpose: str, now: datetime) -> dict[int, str]:
    """Rules 2 and 3 for people consent allows: id -> FATIGUE or BUDGET for those refused."""
    refused: dict[int, str] = {}
    if not pending:
        return refused
    if purpose == ContactPurpose.SURVEY:
        since = now - timedelta(days=settings.PATRON_SURVEY_FATIGUE_DAYS)
        for chunk in _chunks(pending):
            recent = ContactLog.objects.filter(
                customer_id__in=chunk, purpose=ContactPurpose.SURVEY, contacted_at__gt=since
            ).values_list("customer_id", flat=True)
            refused.update(dict.fromkeys(recent, FATIGUE))
        pending = [i for i in pending if i not in refused]
    for rule in ContactRule.objects.filter(is_active=True):
        if not pending:
            break
        if rule.purpose and rule.purpose != purpose:
            continue
        if rule.channel and rule.channel != channel:
            continue
        over: set[int] = set()
        if rule.max_contacts == 0:
            # A budget of 0 blocks everyone it covers, contacted before or not (the count below
            # only sees people with a contact in the window).
            over = set(pending)
        else:
            for chunk in _chunks(pending):
                log = ContactLog.objects.filter(
                    customer_id__in=chunk, contacted_at__gt=now - timedelta(days=rule.window_days)
                )
                if rule.purpose:
                    log = log.filter(purpose=rule.purpose)
                if rule.channel:
                    log = log.filter(channel=rule.channel)
                over.update(
                    row["customer_id"]
                    for row in log.values("customer_id").annotate(n=Count("id")).filter(Q(n__gte=rule.max_contacts))
                )
        refused.update(dict.fromkeys(over, BUDGET))
        pending = [i for i in pending if i not in over]
    return refused


def contact_record(
    *, customer: Customer, channel: str, purpose: str, ref: str = "", contact: Contact | None = None,
    at: datetime | None = None,
) -> ContactLog:
    return ContactLog.objects.create(
        customer=customer, contact=contact, channel=channel, purpose=purpose, ref=ref, contacted_at=at or timezone.now()
    )


@transaction.atomic
def contact_opt_out(*, customer: Customer, contact: Contact | None = None, all_email: bool = False) -> None:
    """The unsubscribe link: no more surveys (and, if asked, no more email at all)."""
    target: Customer | Contact = contact if contact is not None else customer
    fields = ["consent_survey"]
    if all_email:
        fields.append("consent_email")
    before = {f: getattr(target, f) for f in fields}
    for f in fields:
        setattr(target, f, False)
    target.save(update_fields=[*fields, "updated_at"])
    # The person withdrew consent through the link in an email: logged as such, not as a user.
    audit_record(
        "contact.consent" if contact is not None else "customer.consent", obj=target, customer_id=customer.pk,
        changes={f: [before[f], False] for f in fields},
        actor=Actor(None, "unsubscribe link", AuditSource.WEB),
    )
