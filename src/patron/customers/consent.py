"""Consent, in one place: may we reach this person, on this channel, for this purpose?

Every path that can send to a customer asks here: survey invitations when they are queued and
again when the worker sends them (consent may have been withdrawn in between), and the
"what we changed after your feedback" email. An erased customer (``privacy erase``) is never
contacted, whatever the flags say.
"""

from __future__ import annotations

from typing import Any

from patron.customers.models import Contact, Customer

# Why not; the API returns these codes.
ERASED = "erased"
NO_CONSENT = "no_consent"
NO_EMAIL = "no_email"
NO_PHONE = "no_phone"
NO_ADDRESS = "no_address"

SURVEY = "survey"  # an invitation to answer a survey
CAMPAIGN = "campaign"  # marketing
SERVICE = "service"  # any other message to the person
# The answer to a person's own feedback ("what we changed"): part of the survey conversation, so
# consent to surveys or to email covers it; the unsubscribe link withdraws both.
FEEDBACK_REPLY = "feedback_reply"


def refusal(customer: Customer | Any, channel: str, *, purpose: str = SERVICE, contact: Contact | None = None) -> str:
    """Why ``customer`` (through ``contact`` if given) may not be reached; "" when allowed.

    ``customer`` may be any row with the fields read here (a ``values_list(named=True)`` row: the
    contact budget's bulk path). Phone and post have no opt-in flag: a call needs a number, a
    letter an address (and the customer's, not a contact's: a campaign writes to the customer).
    """
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
    elif channel == "phone" and not person.phone:
        return NO_PHONE
    elif channel == "mail" and not customer.address:
        return NO_ADDRESS
    return ""


def may_contact(customer: Customer, channel: str, *, purpose: str = SERVICE, contact: Contact | None = None) -> bool:
    return not refusal(customer, channel, purpose=purpose, contact=contact)
