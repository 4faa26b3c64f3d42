"""Invitations: the contact policy applied, the invitations stored and their sending queued in the
same transaction (a rolled-back write sends nothing); a trigger's invitation once its delay passed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.core.models import Branch, User
from patron.customers.models import Contact, Customer
from patron.feedback.contact_policy import contact_decisions
from patron.feedback.models import Channel, ContactLog, ContactPurpose, Invitation, Survey, Trigger
from patron.feedback.services.checks import SurveyClosedError, language_for
from patron.feedback.tasks import invitations_send

SEND_BATCH = 100


@dataclass
class InvitationBatch:
    queued: list[Invitation] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (customer id, reason code)


# Why a customer was not invited (``InvitationBatch.skipped``), as pages and the API say it.
SKIP_REASONS = {
    "no_consent": gettext_lazy("the customer has not agreed to surveys"),
    "no_email": gettext_lazy("the customer has no email address"),
    "fatigue": gettext_lazy("the customer was invited to a survey recently"),
    "budget": gettext_lazy("the customer's contact budget is used up"),
    "not_visible": gettext_lazy("you cannot see this customer"),
}


INVITABLE_CHANNELS = (Channel.EMAIL, Channel.LINK, Channel.API)


@transaction.atomic
def invitations_create(
    *,
    survey: Survey,
    customers: Iterable[Customer],
    channel: str = Channel.EMAIL,
    created_by: User | None = None,
    language: str | None = None,
    touchpoint: str | None = None,
    branch: Branch | None = None,
    trigger: Trigger | None = None,
    source: str = "",
    contacts: dict[int, Contact] | None = None,
    now: datetime | None = None,
) -> InvitationBatch:
    """Invite each customer the contact policy allows; email invitations are queued for the worker.

    Customers refused by the policy are returned in ``skipped`` with the reason (no_consent,
    no_email, fatigue, budget). The contact is recorded now, so queued invitations count
    against the fatigue rule at once.
    """
    if not survey.is_active:
        raise SurveyClosedError()
    if channel not in INVITABLE_CHANNELS:
        raise ValidationError(
            _("Invitations go by %(channels)s, not %(channel)s.")
            % {"channels": ", ".join(INVITABLE_CHANNELS), "channel": channel},
            code="invalid_channel",
        )
    now = now or timezone.now()
    customers = list(dict.fromkeys(customers))  # once each, in the given order
    contacts = contacts or {}
    decisions = contact_decisions(customers, channel=channel, purpose=ContactPurpose.SURVEY, now=now, contacts=contacts)
    batch = InvitationBatch()
    expires = now + timedelta(days=settings.PATRON_INVITATION_VALID_DAYS)
    new: list[Invitation] = []
    for customer in customers:
        decision = decisions[customer.pk]
        if not decision.allowed:
            batch.skipped.append((customer.pk, decision.reason))
            continue
        contact = contacts.get(customer.pk)
        new.append(
            Invitation(
                survey=survey,
                customer=customer,
                contact=contact,
                channel=channel,
                language=language_for(customer, language),
                email=(contact.email if contact else customer.email) if channel == Channel.EMAIL else "",
                trigger=trigger,
                touchpoint=touchpoint or (trigger.touchpoint if trigger else survey.touchpoint),
                branch=branch or customer.branch,
                source=source[:60],
                created_by=created_by,
                created_at=now,
                expires_at=expires,
            )
        )
    for invitation in new:
        invitation.save(force_insert=True)
    ContactLog.objects.bulk_create(
        [
            ContactLog(
                customer=i.customer, contact=i.contact, channel=channel, purpose=ContactPurpose.SURVEY,
                ref=f"invitation:{i.pk}", contacted_at=now,
            )
            for i in new
        ]
    )
    batch.queued = new
    if channel == Channel.EMAIL and new:
        ids = [i.pk for i in new]
        for start in range(0, len(ids), SEND_BATCH):
            invitations_send.enqueue(ids[start : start + SEND_BATCH])
    return batch


def trigger_invite_customer(
    *, trigger_id: int, customer_id: int, branch_id: int | None, source: str
) -> InvitationBatch | None:
    """Run by the worker when a trigger's delay has passed; the policy is checked now, not at the event."""
    trigger = Trigger.objects.select_related("survey").filter(pk=trigger_id, is_active=True).first()
    customer = Customer.objects.filter(pk=customer_id).first()
    if trigger is None or customer is None or not trigger.survey.is_active:
        return None
    branch = Branch.objects.filter(pk=branch_id).first() if branch_id else None
    return invitations_create(
        survey=trigger.survey, customers=[customer], channel=Channel.EMAIL, trigger=trigger, branch=branch, source=source
    )
