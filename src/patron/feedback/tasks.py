"""Background work run by ``patron worker``: tasks take ids, look things up, call a service."""

from __future__ import annotations

import logging
import smtplib
from functools import partial

from django.core.mail import get_connection
from django.utils import timezone
from django_tasks import task

from patron.core.mail import hands_over
from patron.customers import consent
from patron.feedback import emails, services
from patron.feedback.models import FollowUp, Invitation

logger = logging.getLogger("patron.feedback")


@task()
def invitations_send(invitation_ids: list[int]) -> dict[str, int]:
    """Send queued email invitations, each once (docs/security.md, "Faults"); a failure is
    recorded on the invitation, the rest still go.

    Each invitation is marked handed over (committed) at SMTP's point of no return and marked
    sent after the server's reply. A run that finds it handed over but not sent (the worker died
    in between, and ``patron worker`` re-ran this task) counts it as sent: the server has it.
    """
    sent = failed = 0
    invitations = (
        Invitation.objects.filter(pk__in=invitation_ids, sent_at__isnull=True, answered_at__isnull=True)
        .select_related("survey", "customer", "contact")
        .order_by("pk")
    )
    # One SMTP session for the batch, opened by the first send; a refused connection is recorded
    # on each invitation like any other sending error.
    connection = get_connection()
    try:
        for invitation in invitations:
            if invitation.handed_over_at is not None:
                services.invitation_mark_sent(invitation=invitation, now=invitation.handed_over_at)
                sent += 1
                continue
            if invitation.expires_at <= timezone.now():
                continue
            # Consent is asked again at sending: it may have been withdrawn (or the customer
            # erased) since the invitation was queued. Recorded as a refusal, not sent.
            reason = consent.refusal(invitation.customer, "email", purpose=consent.SURVEY, contact=invitation.contact)
            if reason:
                services.invitation_mark_sent(invitation=invitation, error=f"not sent: {reason}")
                failed += 1
                continue
            try:
                message = emails.invitation_message(invitation)
                message.connection = connection
                if hands_over(connection):
                    message.before_end_of_data = partial(services.invitation_hand_over, invitation=invitation)  # type: ignore[attr-defined]
                else:  # a backend without the hook: marked before it sends
                    services.invitation_hand_over(invitation=invitation)
                message.send()
            except services.InvitationTakenError:
                continue  # another sender has it; the backend dropped this session's transaction
            except (smtplib.SMTPException, OSError) as exc:
                after_hand_over = hands_over(connection) and invitation.handed_over_at is not None
                if after_hand_over and not isinstance(exc, smtplib.SMTPResponseException):
                    # The connection failed after the end of the data was sent, with no refusal:
                    # the server may have it. As after a crash there, it counts as sent.
                    services.invitation_mark_sent(invitation=invitation, now=invitation.handed_over_at)
                    sent += 1
                    continue
                failed += 1
                logger.warning("invitation %s not sent: %s", invitation.pk, exc)
                services.invitation_mark_sent(invitation=invitation, error=str(exc) or exc.__class__.__name__)
                continue
            services.invitation_mark_sent(invitation=invitation)
            sent += 1
    finally:
        connection.close()
    return {"sent": sent, "failed": failed}


def _send(message) -> bool:
    if message is None:
        return False
    message.send()
    return True


@task()
def follow_ups_alert(period: str) -> dict[str, int]:
    """Periodic (core.scheduler), every minute: email owners their new follow-ups."""
    return services.follow_up_alerts_send()


@task()
def follow_up_escalation_alert(follow_up_id: int) -> bool:
    follow_up = (
        FollowUp.objects.select_related("owner", "escalated_to", "customer", "response__survey")
        .filter(pk=follow_up_id)
        .first()
    )
    if follow_up is None or follow_up.closed_at is not None:
        return False
    return _send(emails.escalation_message(follow_up))


@task()
def follow_up_notify_customer(follow_up_id: int) -> bool:
    follow_up = FollowUp.objects.select_related("customer", "response").filter(pk=follow_up_id).first()
    if follow_up is None or follow_up.customer_notified_at is not None:
        return False
    if not consent.may_contact(follow_up.customer, "email", purpose=consent.FEEDBACK_REPLY):
        return False
    if not _send(emails.loop_closed_message(follow_up)):
        return False
    FollowUp.objects.filter(pk=follow_up.pk).update(customer_notified_at=timezone.now())
    return True


@task()
def trigger_invite(trigger_id: int, customer_id: int, branch_id: int | None, source: str) -> dict[str, int]:
    batch = services.trigger_invite_customer(
        trigger_id=trigger_id, customer_id=customer_id, branch_id=branch_id, source=source
    )
    if batch is None:
        return {"queued": 0, "skipped": 0}
    return {"queued": len(batch.queued), "skipped": len(batch.skipped)}


@task()
def follow_ups_escalate(period: str) -> int:
    """Periodic (core.scheduler): escalate overdue follow-ups to the owner's manager."""
    return len(services.follow_ups_escalate())


@task()
def reviews_create_quarterly(period: str) -> int:
    """Periodic (core.scheduler), once per quarter: a review task per key account."""
    return services.reviews_create_for_quarter(quarter=period)


@task()
def nps_figures_refresh(period: str) -> bool:
    """Periodic (core.scheduler), every 10 minutes: the NPS page's precomputed figures, skipped
    while no NPS answer was added or removed and no scoring run finished since."""
    from patron.feedback.nps_refresh import nps_figures_refresh as refresh  # pandas: only here
    from patron.insights import sqlite_worker

    try:
        return refresh(only_if_changed=True)
    finally:
        sqlite_worker.close()  # no reader process lingers in the worker between jobs
