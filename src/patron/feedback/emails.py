"""The emails feedback sends, each in HTML and plain text, in the recipient's language."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from patron.feedback import links
from patron.feedback.models import FollowUp, Invitation


def _message(
    *, to: str, subject: str, template: str, context: dict, language: str, headers: dict | None = None
) -> EmailMultiAlternatives:
    with translation.override(language):
        text = render_to_string(f"feedback/email/{template}.txt", context)
        html = render_to_string(f"feedback/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers or {}
    )
    message.attach_alternative(html, "text/html")
    return message


def invitation_message(invitation: Invitation) -> EmailMultiAlternatives:
    """One absolute link per score (0–10 for NPS): a click answers the first question."""
    survey = invitation.survey
    low, high = survey.score_range
    question = survey.questions.order_by("position").first()
    language = invitation.language
    unsubscribe = links.unsubscribe_url(invitation.customer_id, invitation.contact_id)
    with translation.override(language):
        name = invitation.contact.name if invitation.contact_id else invitation.customer.name  # type: ignore[union-attr]
        context = {
            "name": name,
            "title": survey.title_for(language),
            "question": question.text_for(language) if question else "",
            "scores": [(n, links.answer_url(invitation, n)) for n in range(low, high + 1)],
            "low_label": _("Not at all likely") if survey.kind == "nps" else _("Poor"),
            "high_label": _("Extremely likely") if survey.kind == "nps" else _("Excellent"),
            "expires_at": invitation.expires_at,
            "unsubscribe_url": unsubscribe,
        }
        subject = survey.title_for(language) or _("A quick question")
    return _message(
        to=invitation.email,
        subject=subject,
        template="invitation",
        context=context,
        language=language,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": invitation_message_id(invitation),
        },
    )


def invitation_message_id(invitation: Invitation) -> str:
    """The same Message-ID every time an invitation is sent: were a copy ever delivered twice
    (docs/security.md, "Faults"), mail clients would recognise it as the same message. Unique
    across installations through the invitation's random nonce, which it does not reveal."""
    digest = hashlib.sha256(f"{invitation.pk}:{invitation.nonce}".encode()).hexdigest()[:20]
    return f"<invitation.{invitation.pk}.{digest}@{DNS_NAME}>"


def _staff_language() -> str:
    return settings.LANGUAGE_CODE


def follow_up_alert_message(follow_up: FollowUp) -> EmailMultiAlternatives | None:
    owner = follow_up.owner
    if owner is None or not owner.email:
        return None
    language = _staff_language()
    url = links.absolute(reverse("feedback:follow-up", args=[follow_up.pk]))
    with translation.override(language):
        subject = _("Call back %(customer)s: %(reason)s") % {"customer": follow_up.customer.name, "reason": follow_up.reason_label}
    return _message(
        to=owner.email,
        subject=subject,
        template="follow_up_alert",
        context={"f": follow_up, "r": follow_up.response, "url": url, "escalated": False},
        language=language,
    )


def escalation_message(follow_up: FollowUp) -> EmailMultiAlternatives | None:
    manager = follow_up.escalated_to
    if manager is None or not manager.email:
        return None
    language = _staff_language()
    url = links.absolute(reverse("feedback:follow-up", args=[follow_up.pk]))
    with translation.override(language):
        subject = _("Overdue follow-up: %(customer)s (owner %(owner)s)") % {
            "customer": follow_up.customer.name,
            "owner": follow_up.owner or "—",
        }
    return _message(
        to=manager.email,
        subject=subject,
        template="follow_up_alert",
        context={"f": follow_up, "r": follow_up.response, "url": url, "escalated": True},
        language=language,
    )


def loop_closed_message(follow_up: FollowUp) -> EmailMultiAlternatives | None:
    customer = follow_up.customer
    if not customer.email or not follow_up.customer_message:
        return None
    language = follow_up.response.language
    with translation.override(language):
        subject = _("What we changed after your feedback")
    return _message(
        to=customer.email,
        subject=subject,
        template="loop_closed",
        context={
            "name": customer.name,
            "message": follow_up.customer_message,
            "unsubscribe_url": links.unsubscribe_url(customer.pk),
        },
        language=language,
    )
