"""Background work run by ``patron worker``: the messages the services queue (an invitation, an
escalation alert, the customer told the loop is closed). Tasks take ids, look things up and send;
they call nothing that queues tasks (that is ``feedback.jobs``)."""

from __future__ import annotations

import logging
import smtplib
from functools import partial

from django.core.mail import get_connection
from django.utils import timezone
from django_tasks import task

from patron.core.mail import hands_over
from patron.customers import consent
from patron.feedback import emails, sending
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
                sending.invitation_mark_sent(invitation=invitation, now=invitation.handed_over_at)
                sent += 1
                continue
            if invitation.expires_at <= timezone.now():
                continue
            # Consent is asked again at sending: it may have been withdrawn (or the customer
            # erased) since the invitation was queued. Recorded as a refusal, not sent.
            reason = consent.refusal(invitation.customer, "email", purpose=consent.SURVEY, contact=invitation.contact)
            if reason:
                sending.invitation_mark_sent(invitation=invitation, error=f"not sent: {reason}")
                failed += 1
                continue
            try:
                message = emails.invitation_message(invitation)
                message.connection = connection
                if hands_over(connection):
                    message.before_end_of_data = partial(sending.invitation_hand_over, invitation=invitation)  # type: ignore[attr-defined]
                else:  # a backend without the hook: marked before it sends
                    sending.invitation_hand_over(invitation=invitation)
                message.send()
            except sending.InvitationTakenError:
                continue  # another sender has it; the backend dropped this session's transaction
            except (smtplib.SMTPException, OSError) as exc:
                after_hand_over = hands_over(connection) and invitation.handed_over_at is not None
                if after_hand_over and not isinstance(exc, smtplib.SMTPResponseException):
                    # The connection failed after the end of the data was sent, with no refusal:
                    # the server may have it. As after a crash there, it counts as sent.
                    sending.invitation_mark_sent(invitation=invitation, now=invitation.handed_over_at)
                    sent += 1
                    continue
                failed += 1
                logger.warning("invitation %s not sent: %s", invitation.pk, exc)
                sending.invitation_mark_sent(invitation=invitation, error=str(exc) or exc.__class__.__name__)
                continue
            sending.invitation_mark_sent(invitation=invitation)
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
