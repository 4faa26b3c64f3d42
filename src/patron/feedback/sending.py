"""What the mail server was handed and what it answered, for the invitations the worker sends."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from patron.feedback.models import Invitation


def invitation_mark_sent(*, invitation: Invitation, error: str = "", now: datetime | None = None) -> Invitation:
    """Record the mail server's answer: accepted (``sent_at``) or refused (``error``, and the
    invitation may be sent again)."""
    invitation.sent_at = None if error else (now or timezone.now())
    invitation.send_error = error[:300]
    if error:
        invitation.handed_over_at = None
    invitation.save(update_fields=["sent_at", "send_error", "handed_over_at"])
    return invitation


class InvitationTakenError(Exception):
    """Another sender handed this invitation to the mail server first."""


def invitation_hand_over(*, invitation: Invitation, now: datetime | None = None) -> None:
    """Commit, before the mail server can accept the message, that this invitation is being sent.

    Called at SMTP's point of no return (``core.mail``), outside any transaction, so the marker is
    durable before the server has the message; if the worker dies after this, the invitation
    counts as sent and is never sent twice (docs/security.md). Raises InvitationTakenError if
    another sender marked it first.
    """
    moment = now or timezone.now()
    taken = Invitation.objects.filter(pk=invitation.pk, handed_over_at__isnull=True, sent_at__isnull=True).update(
        handed_over_at=moment
    )
    if not taken:
        raise InvitationTakenError(invitation.pk)
    invitation.handed_over_at = moment
