"""Follow-ups (the closed loop): opened by the rules, alerted, contacted, closed, escalated."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core import rows
from patron.core.models import User
from patron.customers.models import Customer
from patron.engagement.services import interaction_create
from patron.feedback import emails
from patron.feedback.models import FollowUp, FollowUpRule, Response
from patron.feedback.services import events
from patron.feedback.tasks import follow_up_escalation_alert, follow_up_notify_customer

logger = logging.getLogger("patron.feedback")


def follow_up_open(
    *, response: Response, reason: str, rule: FollowUpRule | None = None, sla_hours: int | None = None,
    now: datetime | None = None, owner_id: int | bool | None = False,
) -> FollowUp:
    """Open the case for the customer's owner and alert them (email through the worker)."""
    if response.customer_id is None:
        raise ValidationError(_("An anonymous answer cannot be followed up."), code="anonymous")
    follow_up = follow_up_build(response, reason, rule, sla_hours, now or timezone.now(), owner_id)
    with transaction.atomic(savepoint=False):
        # The owner's email goes out with the periodic job follow_ups_alert (every minute), not
        # as a queued task per follow-up: that row cost every detractor's click a third insert.
        rows.insert(follow_up)
        events.emit("follow_up.opened", events.follow_up_payload(follow_up))
    return follow_up


def follow_up_build(
    response: Response, reason: str, rule: FollowUpRule | None, sla_hours: int | None, now: datetime,
    owner_id: int | bool | None,
) -> FollowUp:
    """The (unsaved) follow-up of a response, for the customer's owner."""
    customer_id = response.customer_id
    assert customer_id is not None  # callers leave anonymous answers out
    if owner_id is False:  # not known by the caller: look it up
        owner_id = Customer.objects.filter(pk=customer_id).values_list("owner_id", flat=True).first()
    return FollowUp(
        response=response,
        customer_id=customer_id,
        owner_id=owner_id,
        reason=reason[:200],
        rule=rule,
        opened_at=now,
        due_at=now + timedelta(hours=sla_hours or settings.PATRON_FOLLOW_UP_SLA_HOURS),
    )


ALERT_BATCH = 500


def follow_up_alerts_send(*, now: datetime | None = None) -> dict[str, int]:
    """Alert owners of follow-ups opened since the last run, over one SMTP connection.

    Each follow-up is marked ``alerted_at`` right after its message went out, so a crash resends
    at most one. When the mail server fails the run stops and the rest wait for the next run; an
    address the server refuses is not retried. Closed follow-ups, and those whose owner has no
    email address, are marked without a message.
    """

    sent = skipped = failed = 0
    pending = (
        FollowUp.objects.filter(alerted_at__isnull=True)
        .select_related("owner", "customer", "response__survey")
        .order_by("pk")[:ALERT_BATCH]
    )
    connection = get_connection()
    try:
        for follow_up in pending:
            message = None if follow_up.closed_at else emails.follow_up_alert_message(follow_up)
            if message is None:
                skipped += 1
            else:
                message.connection = connection
                try:
                    message.send()
                    sent += 1
                except smtplib.SMTPRecipientsRefused as exc:  # this address only: do not retry it
                    failed += 1
                    logger.warning("follow-up %s: alert refused: %s", follow_up.pk, exc)
                except (smtplib.SMTPException, OSError) as exc:  # the server: try again next run
                    failed += 1
                    logger.warning("follow-up %s: alert not sent, retried next run: %s", follow_up.pk, exc)
                    break
            FollowUp.objects.filter(pk=follow_up.pk).update(alerted_at=now or timezone.now())
    finally:
        connection.close()
    return {"sent": sent, "skipped": skipped, "failed": failed}


class FollowUpClosedError(ValidationError):
    def __init__(self) -> None:
        super().__init__(_("This follow-up is already closed."), code="closed")


@transaction.atomic
def follow_up_record_contact(
    *, follow_up: FollowUp, user: User, channel: str = "call", note: str = "", at: datetime | None = None,
    subject: str = "",
) -> FollowUp:
    """The owner reached the customer: the first contact stops the SLA clock; logged on the
    timeline (as ``subject``, or a subject naming the survey answer)."""

    if follow_up.closed_at is not None:
        raise FollowUpClosedError()
    at = at or timezone.now()
    if at > timezone.now() + timedelta(minutes=5):
        raise ValidationError(_("The contact cannot be in the future."), code="future")
    if at < follow_up.opened_at:
        raise ValidationError(_("The contact cannot be before the follow-up was opened."), code="too_early")
    interaction_create(
        customer=follow_up.customer,
        channel=channel,
        direction="out",
        subject=subject.strip()[:200] or _("Follow-up on survey answer (score %(score)d)") % {"score": follow_up.response.score},
        body=note[:10000],
        occurred_at=at,
        handled_by=user,
    )
    if follow_up.first_contact_at is None or at < follow_up.first_contact_at:
        follow_up.first_contact_at = at
        follow_up.save(update_fields=["first_contact_at"])
    return follow_up


@transaction.atomic
def follow_up_close(
    *,
    follow_up: FollowUp,
    user: User,
    root_cause: str,
    action_taken: str,
    outcome: str,
    notify_customer: bool = False,
    customer_message: str = "",
    now: datetime | None = None,
) -> FollowUp:
    """Close the loop: root cause, action and outcome are required; optionally tell the customer."""
    if follow_up.closed_at is not None:
        raise FollowUpClosedError()
    errors: dict[str, list[str]] = {}
    if root_cause not in FollowUp.RootCause.values:
        errors["root_cause"] = [_("Choose a root cause.")]
    if not action_taken.strip():
        errors["action_taken"] = [_("Say what was done.")]
    if outcome not in FollowUp.Outcome.values:
        errors["outcome"] = [_("Choose an outcome.")]
    if notify_customer and not customer_message.strip():
        errors["customer_message"] = [_("Write the message the customer will receive.")]
    if notify_customer and not follow_up.customer.email:
        errors["customer_message"] = [_("The customer has no email address to tell them.")]
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    follow_up.root_cause = root_cause
    follow_up.action_taken = action_taken.strip()[:10000]
    follow_up.outcome = outcome
    follow_up.closed_at = now
    follow_up.closed_by = user
    if follow_up.first_contact_at is None and outcome != FollowUp.Outcome.NO_REACH:
        # Closing a case with an outcome means the customer was reached, at the latest now.
        follow_up.first_contact_at = now
    follow_up.customer_message = customer_message.strip()[:5000] if notify_customer else ""
    follow_up.save(
        update_fields=[
            "root_cause", "action_taken", "outcome", "closed_at", "closed_by", "first_contact_at", "customer_message",
        ]
    )
    if notify_customer:
        follow_up_notify_customer.enqueue(follow_up.pk)
    return follow_up


@transaction.atomic
def follow_up_contact_logged(
    *, follow_up: FollowUp, user: User, channel: str, subject: str, note: str = "",
    close: tuple[str, str] | None = None,
) -> FollowUp:
    """A call or visit logged on the customer's page for this follow-up: its first contact and,
    with ``close`` (root cause, outcome), the case closed with the notes as the action taken; all
    or nothing."""
    follow_up_record_contact(follow_up=follow_up, user=user, channel=channel, note=note, subject=subject)
    if close is not None:
        root_cause, outcome = close
        follow_up_close(
            follow_up=follow_up, user=user, root_cause=root_cause, outcome=outcome, action_taken=note or subject
        )
    return follow_up


def follow_ups_escalate(*, now: datetime | None = None) -> list[FollowUp]:
    """Escalate every open follow-up whose SLA passed with no contact to the owner's manager.

    Idempotent: a follow-up is escalated once (``escalated_at``), whenever the job runs.
    """

    now = now or timezone.now()
    escalated: list[FollowUp] = []
    overdue = FollowUp.objects.filter(
        closed_at__isnull=True, first_contact_at__isnull=True, escalated_at__isnull=True, due_at__lt=now
    ).select_related("owner")
    for follow_up in overdue.order_by("due_at", "pk")[:1000]:
        with transaction.atomic():
            manager_id = follow_up.owner.reports_to_id if follow_up.owner else None
            updated = FollowUp.objects.filter(pk=follow_up.pk, escalated_at__isnull=True).update(
                escalated_at=now, escalated_to_id=manager_id
            )
            if not updated:  # another worker got it
                continue
            follow_up.escalated_at, follow_up.escalated_to_id = now, manager_id
            if manager_id is not None:
                follow_up_escalation_alert.enqueue(follow_up.pk)
            events.emit("follow_up.overdue", events.follow_up_payload(follow_up))
        escalated.append(follow_up)
    return escalated
