"""Consent, in one place: may we reach this person, on this channel, for this purpose?

Every path that can send to a customer asks here: survey invitations when they are queued and
again when the worker sends them (consent may have been withdrawn in between), and the
"what we changed after your feedback" email. An erased customer (``privacy erase``) is never
contacted, whatever the flags say.
"""

from __future__ import annotations

from patron.customers.models import Contact, Customer

# Why not; the API returns these codes.
ERASED = "erased"
NO_CONSENT = "no_consent"
NO_EMAIL = "no_email"

SURVEY = "survey"  # an invitation to answer a survey
CAMPAIGN = "campaign"  # marketing
SERVICE = "service"  # any other message to the person
# The answer to a person's own feedback ("what we changed"): part of the survey conversation, so
# consent to surveys or to email covers it; the unsubscribe link withdraws both.
FEEDBACK_REPLY = "feedback_reply"


def refusal(customer: Customer, channel: str, *, purpose: str = SERVICE, contact: Contact | None = None) -> str:
    """Why ``customer`` (through ``contact`` if given) may not be reached; "" when allowed."""
    if customer.erased_at is not None:
        return ERASED
    person: Customer | Contact = contact if contact is not None else customer
    if purpose == SURVEY and not person.consent_survey:
        return NO_CONSENT
    if purpose == FEEDBACK_REPLY and not (person.consent_survey or person.consent_email):
        return NO_CONSENT
    if channel == "email":
        # Other email (campaigns, service messages) needs consent to email.
        if purpose not in (SURVEY, FEEDBACK_REPLY) and not person.consent_email:
            return NO_CONSENT
        if not person.email:
            return NO_EMAIL
    return ""


def may_contact(customer: Customer, channel: str, *, purpose: str = SERVICE, contact: Contact | None = None) -> bool:
    return not refusal(customer, channel, purpose=purpose, contact=contact)
