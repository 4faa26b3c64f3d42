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


# What the bulk path knows of each person: whether each of these fields is set.
PERSON_FLAGS = ("erased_at", "consent_email", "consent_survey", "email", "phone", "address")
# Ids per ``IN (...)`` list; a longer list of people is matched against the log in Python.
CHUNK = 20_000


@dataclass(frozen=True)
class _Person:
    """A stand-in for a customer with the fields ``consent.refusal`` reads, set or not."""

    erased_at: bool | None
    consent_email: bool
    consent_survey: bool
    email: bool
    phone: bool
    address: bool


def contact_refusals(ids: Any, flags: Any, *, channel: str, purpose: str, now: datetime | None = None) -> dict[int, str]:
    """The same rules as ``contact_decisions`` for many customers at once (a campaign's launch).

    ``ids`` is an integer array; ``flags`` a boolean array with one row per id and one column
    per ``PERSON_FLAGS`` field (is it set?). Consent depends only on which of these fields are
    set, so ``consent.refusal`` is asked once per combination that occurs (at most 64), not once
    per person. The answer holds only the refused, id -> reason.
    """
    import numpy as np  # the bulk path's arrays; the rest of the module needs no numpy

    packed = np.asarray(flags, dtype=np.uint8) @ (1 << np.arange(len(PERSON_FLAGS), dtype=np.uint8))
    reasons = np.full(len(ids), "", dtype=object)
    for code in np.unique(packed).tolist():
        bits = [bool(code >> i & 1) for i in range(len(PERSON_FLAGS))]
        person = _Person(True if bits[0] else None, *bits[1:])
        reason = consent.refusal(person, channel, purpose=purpose)
        if reason:
            reasons[packed == code] = reason
    refused_at = reasons != ""
    refused = dict(zip(np.asarray(ids)[refused_at].tolist(), reasons[refused_at].tolist(), strict=True))
    pending = np.asarray(ids)[~refused_at].tolist()
    refused.update(_beyond_budget(pending, channel=channel, purpose=purpose, now=now or timezone.now()))
    return refused


def _logged(log: Any, pending: list[int], ids_of: Any) -> set[int]:
    """``ids_of(log)`` for the pending people: through ``IN`` lists for a few, and for many one
    query over the log's window, matched here (a million ids would not fit one statement)."""
    if len(pending) <= CHUNK:
        return set(ids_of(log.filter(customer_id__in=pending)))
    wanted = set(pending)
    return {pk for pk in ids_of(log) if pk in wanted}


def _beyond_budget(pending: list[int], *, channel: str, purpose: str, now: datetime) -> dict[int, str]:
    """Rules 2 and 3 for people consent allows: id -> FATIGUE or BUDGET for those refused."""
    refused: dict[int, str] = {}
    if not pending:
        return refused
    if purpose == ContactPurpose.SURVEY:
        since = now - timedelta(days=settings.PATRON_SURVEY_FATIGUE_DAYS)
        log = ContactLog.objects.filter(purpose=ContactPurpose.SURVEY, contacted_at__gt=since)
        recent = _logged(log, pending, lambda qs: qs.values_list("customer_id", flat=True))
        refused.update(dict.fromkeys(recent, FATIGUE))
        pending = [i for i in pending if i not in recent]
    for rule in ContactRule.objects.filter(is_active=True):
        if not pending:
            break
        if rule.purpose and rule.purpose != purpose:
            continue
        if rule.channel and rule.channel != channel:
            continue
        if rule.max_contacts == 0:
            # A budget of 0 blocks everyone it covers, contacted before or not (the count below
            # only sees people with a contact in the window).
            over = set(pending)
        else:
            log = ContactLog.objects.filter(contacted_at__gt=now - timedelta(days=rule.window_days))
            if rule.purpose:
                log = log.filter(purpose=rule.purpose)
            if rule.channel:
                log = log.filter(channel=rule.channel)
            limit = rule.max_contacts
            over = _logged(
                log, pending,
                lambda qs, limit=limit: (
                    row["customer_id"]
                    for row in qs.values("customer_id").annotate(n=Count("id")).filter(Q(n__gte=limit))
                ),
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
