"""Customer-scoped parts of the REST API: a customer is always reached through
``visible_customers``, and a write through the role and the record's owner."""

from __future__ import annotations

from django.utils.translation import gettext as _

from patron.core.apikit import ApiError, forbidden, not_found
from patron.core.models import User
from patron.customers.models import Customer
from patron.customers.selectors import can_edit_customer, changes_customers, visible_customers


def require_record_writer(user: User) -> None:
    """Analysts and marketers read customer records but do not change them (as in the web app)."""
    if not changes_customers(user):
        raise forbidden(_("Your role reads customer records but does not change them."))


def visible_customer(user: User, customer_id: int) -> Customer:
    customer = visible_customers(user).filter(pk=customer_id).first()
    if customer is None:
        raise not_found(_("There is no customer %(id)s.") % {"id": customer_id})
    return customer


def editable_customer(
    user: User, *, customer_id: int | None = None, customer_external_id: str | None = None
) -> Customer:
    """The customer a write refers to, by id or external id; 404 when invisible, 403 when read-only."""
    require_record_writer(user)
    qs = visible_customers(user)
    if customer_id is not None:
        customer = qs.filter(pk=customer_id).first()
        ref = str(customer_id)
    elif customer_external_id:
        customer = qs.filter(external_id=customer_external_id).first()
        ref = customer_external_id
    else:
        raise ApiError(422, "invalid", _("Give customer_id or customer_external_id."))
    if customer is None:
        raise not_found(_("There is no customer %(ref)s.") % {"ref": ref})
    if not can_edit_customer(user, customer):
        raise forbidden(_("You can read this customer but not change it."))
    return customer
