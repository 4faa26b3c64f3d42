"""The worker's part of an email campaign: each contacted treatment member gets the message once.

``contacted_at`` is the hand-over marker: committed at SMTP's point of no return
(``core.mail``), so a worker killed after it never sends that member's message again and one
killed before it sends it on the next run (docs/security.md, "Faults"). A refusal by the server
clears the marker and is logged. The Message-ID is stable per member, so were a copy ever
delivered twice, mail clients would see the same message.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tasks import task

from patron.campaigns.models import Campaign, CampaignChannel, CampaignGroup, CampaignMember
from patron.core.mail import hands_over
from patron.customers import consent
from patron.feedback import links
from patron.feedback.services.checks import language_for

logger = logging.getLogger("patron.campaigns")

# Members read per query while sending.
SEND_BATCH = 500


class MemberTakenError(Exception):
    """Another sender handed this member's message to the server first."""


def member_message_id(member: CampaignMember, campaign: Campaign) -> str:
    """The same Message-ID on every attempt; the campaign's random seed keeps it unguessable."""
    digest = hashlib.sha256(f"{member.pk}:{campaign.seed}".encode()).hexdigest()[:20]
    return f"<campaign.{campaign.pk}.{member.pk}.{digest}@{DNS_NAME}>"


def member_message(member: CampaignMember, campaign: Campaign) -> EmailMultiAlternatives:
    """The campaign's subject and message with its offer, in the customer's language if known."""
    customer = member.customer
    language = language_for(customer)
    unsubscribe = links.unsubscribe_url(customer.pk)
    context = {
        "name": customer.name, "message": campaign.message, "offer": campaign.offer,
        "unsubscribe_url": unsubscribe, "language": language,
    }
    with translation.override(language):
        text = render_to_string("campaigns/email/campaign.txt", context)
        html = render_to_string("campaigns/email/campaign.html", context)
    message = EmailMultiAlternatives(
        subject=campaign.subject or campaign.name, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[customer.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": member_message_id(member, campaign),
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _hand_over(*, member: CampaignMember) -> None:
    """Commit that this member's message is going (outside any transaction: durable before the
    server can accept it)."""
    moment = timezone.now()
    if not CampaignMember.objects.filter(pk=member.pk, contacted_at__isnull=True).update(contacted_at=moment):
        raise MemberTakenError(member.pk)
    member.contacted_at = moment


def _pending(campaign_id: int, after: int) -> list[CampaignMember]:
    return list(
        CampaignMember.objects.filter(
            campaign_id=campaign_id, pk__gt=after, group=CampaignGroup.TREATMENT, contacted=True,
            channel=CampaignChannel.EMAIL, contacted_at__isnull=True,
        ).select_related("customer").order_by("pk")[:SEND_BATCH]
    )


@task()
def campaign_emails_send(campaign_id: int) -> dict[str, int]:
    """Send a launched email campaign to its contacted treatment members not yet handed over."""
    campaign = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.LAUNCHED).first()
    if campaign is None:
        return {"sent": 0, "failed": 0}
    sent = failed = 0
    connection = get_connection()
    after = 0
    try:
        while batch := _pending(campaign_id, after):
            after = batch[-1].pk
            for member in batch:
                # Consent is asked again at sending: it may have been withdrawn since the launch.
                if consent.refusal(member.customer, "email", purpose=consent.CAMPAIGN):
                    failed += 1
                    continue
                ok = _send_one(member, campaign, connection)
                sent += ok
                failed += not ok
    finally:
        connection.close()
    return {"sent": sent, "failed": failed}


def _send_one(member: CampaignMember, campaign: Campaign, connection) -> bool:
    try:
        message = member_message(member, campaign)
        message.connection = connection
        if hands_over(connection):
            message.before_end_of_data = partial(_hand_over, member=member)  # type: ignore[attr-defined]
        else:  # a backend without the hook: marked before it sends
            _hand_over(member=member)
        message.send()
    except MemberTakenError:
        return False
    except (smtplib.SMTPException, OSError) as exc:
        if member.contacted_at is not None and not isinstance(exc, smtplib.SMTPResponseException):
            return True  # lost after the end of the data, no refusal: the server may have it
        logger.warning("campaign %s member %s not sent: %s", campaign.pk, member.pk, exc)
        if member.contacted_at is not None:
            CampaignMember.objects.filter(pk=member.pk).update(contacted_at=None)
            member.contacted_at = None
        return False
    return True
