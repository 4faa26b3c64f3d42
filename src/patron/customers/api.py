"""REST endpoints for customers, their contacts and their timeline.

Every read starts from ``visible_customers(user)``: a customer the user may not see is a 404,
exactly as in the web app. Writes go through the customers services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from patron.core.apikit import (
    ApiError,
    Changes,
    ErrorOut,
    ExternalId,
    Id,
    ListParams,
    Moment,
    OutputSchema,
    Page,
    csv_list,
    forbidden,
    not_found,
    paginate,
    require_admin,
    sorted_by,
)
from patron.core.models import Branch, Region, User
from patron.core.roles import user_of
from patron.customers.apikit import (
    editable_customer,
    require_record_writer,
    visible_customer,
)
from patron.customers.duplicates import open_duplicates_of
from patron.customers.models import Contact, Customer, Tag
from patron.customers.privacy import privacy_erase, privacy_export
from patron.customers.schemas import (
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerIn,
    CustomerKind,
    CustomerOut,
    CustomerPatch,
    CustomerStage,
    contact_data,
    customer_data,
)
from patron.customers.selectors import (
    CONTACT_SORTS,
    CUSTOMER_SORTS,
    ContactFilter,
    CustomerFilter,
    can_edit_customer,
    customer_scope,
    filter_contacts,
    filter_customers,
    visible_contacts,
    visible_customers,
)
from patron.customers.services import (
    contact_create,
    contact_update,
    customer_create,
    customer_update,
)

router = Router(tags=["customers"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}

class CustomerFilters(Schema):
    q: str | None = Field(
        None, max_length=100,
        description="Name (or its pinyin) or email contains this, or the phone contains these digits (any spacing).",
    )
    stage: CustomerStage | None = None
    kind: CustomerKind | None = None
    owner: str | None = Field(None, max_length=150, description="Owner's username.")
    branch: str | None = Field(None, max_length=20, description="Branch code.")
    region: str | None = Field(None, max_length=20, description="Region code.")
    key_account: bool | None = None
    external_id: ExternalId | None = None
    updated_since: Moment | None = Field(None, description="Changed at or after this time (with a time zone).")


def customers_for_output(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """What ``customers_out`` reads, in three queries per page (also a segment's members)."""
    return qs.select_related("owner", "branch", "region").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )


def customers_out(rows: list[Customer], user: User) -> list[dict[str, Any]]:
    """The page's customers as the API returns them; their open possible duplicates that ``user``
    sees in two more queries."""
    twins = open_duplicates_of([c.pk for c in rows], visible_customers(user))
    return [customer_data(c, [t.name for t in c.tags.all()], twins.get(c.pk)) for c in rows]


def customer_filter_of(f: CustomerFilters) -> CustomerFilter:
    """The list's filter (``customers.selectors``, shared with the customer list page) the query asks for."""
    return CustomerFilter(
        contains=f.q,
        stage=f.stage or "",
        kind=f.kind,
        owner_username=f.owner,
        branch_code=f.branch,
        region_code=f.region,
        key_account=f.key_account,
        external_id=f.external_id,
        updated_since=f.updated_since,
    )


def filtered_customers(user: User, f: CustomerFilters) -> QuerySet[Customer]:
    """The visible customers matching the list filters (also used by the export of the list)."""
    return filter_customers(visible_customers(user), customer_filter_of(f))


@router.get("/customers", response={200: Page[CustomerOut], **ERRORS}, summary="List customers")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters], params: Query[ListParams]):
    """The customers you may see, filtered and sorted; `format=csv` streams them all as CSV."""
    qs = sorted_by(filtered_customers(user_of(request), filters), params.sort, CUSTOMER_SORTS, "name")
    if params.format == "csv":
        return csv_list("customers", qs)
    return paginate(request, customers_for_output(qs), params, lambda rows: customers_out(rows, user_of(request)))


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="Get a customer")
def get_customer(request: HttpRequest, customer_id: Id):
    customer = customers_for_output(visible_customers(user_of(request))).filter(pk=customer_id).first()
    if customer is None:
        raise not_found(_("There is no customer %(id)s.") % {"id": customer_id})
    return customers_out([customer], user_of(request))[0]


def _user_named(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ApiError(422, "unknown_user", _("There is no active user named %(name)s.") % {"name": username})
    return user


def _branch(code: str) -> Branch:
    branch = Branch.objects.select_related("region").filter(code=code).first()
    if branch is None:
        raise ApiError(422, "unknown_branch", _("There is no branch with code %(code)s.") % {"code": code})
    return branch


def _region(code: str) -> Region:
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ApiError(422, "unknown_region", _("There is no region with code %(code)s.") % {"code": code})
    return region


def _resolve_refs(values: dict[str, Any]) -> None:
    """Turn the username and codes of a body into records, in place."""
    if values.get("owner") is not None:
        values["owner"] = _user_named(values["owner"])
    if values.get("branch") is not None:
        values["branch"] = _branch(values["branch"])
    if values.get("region") is not None:
        values["region"] = _region(values["region"])
    if "acquisition_channel" in values and values["acquisition_channel"] is None:
        values["acquisition_channel"] = ""


def _still_visible(user: User, customer: Customer) -> None:
    # A write must not hand a record to someone else's view: that would be a write outside one's scope.
    if customer_scope(user) is not None and not visible_customers(user).filter(pk=customer.pk).exists():
        raise forbidden(_("You may not create or move a customer outside the customers you can see."))


@router.post("/customers", response={201: CustomerOut, **ERRORS}, summary="Create a customer")
def create_customer(request: HttpRequest, body: CustomerIn):
    user = user_of(request)
    require_record_writer(user)
    values = body.model_dump()
    if "owner" not in body.model_fields_set:
        values["owner"] = user.username
    _resolve_refs(values)
    tags = values.pop("tags")
    with transaction.atomic():
        customer = customer_create(tags=tags, **values)
        _still_visible(user, customer)
    return Status(201, customers_out(list(customers_for_output(Customer.objects.filter(pk=customer.pk))), user)[0])


@router.patch("/customers/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="Change a customer")
def update_customer(request: HttpRequest, customer_id: Id, body: CustomerPatch):
    user = user_of(request)
    customer = editable_customer(user, customer_id=customer_id)
    changes = Changes.of(body).values
    for required in ("name", "kind", "stage", "currency", "is_key_account", "consent_email", "consent_survey"):
        if required in changes and changes[required] is None:
            raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": required})
    if changes.get("acquisition_cost", 0) is None:
        raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": "acquisition_cost"})
    for field in ("email", "phone", "city", "address"):
        if field in changes and changes[field] is None:
            changes[field] = ""
    _resolve_refs(changes)
    tags = changes.pop("tags", None)
    with transaction.atomic():
        customer_update(customer=customer, changes=changes, tags=tags)
        _still_visible(user, customer)
    return customers_out(list(customers_for_output(Customer.objects.filter(pk=customer.pk))), user)[0]


# ---------------------------------------------------------------- contacts



class ContactFilters(Schema):
    customer_id: Id | None = None
    q: str | None = Field(
        None, max_length=100, description="Name or email contains this, or the phone contains these digits."
    )
    external_id: ExternalId | None = None


def filtered_contacts(user: User, f: ContactFilters) -> QuerySet[Contact]:
    # The filter rules are customers.selectors.filter_contacts.
    return filter_contacts(
        visible_contacts(user), ContactFilter(customer_id=f.customer_id, contains=f.q, external_id=f.external_id)
    )


@router.get("/contacts", response={200: Page[ContactOut], **ERRORS}, summary="List contacts", tags=["contacts"])
def list_contacts(request: HttpRequest, filters: Query[ContactFilters], params: Query[ListParams]):
    qs = sorted_by(filtered_contacts(user_of(request), filters), params.sort, CONTACT_SORTS, "name")
    if params.format == "csv":
        return csv_list("contacts", qs)
    return paginate(request, qs, params, lambda rows: [contact_data(c) for c in rows])


def _contact(user: User, contact_id: int) -> Contact:
    contact = visible_contacts(user).filter(pk=contact_id).first()
    if contact is None:
        raise not_found(_("There is no contact %(id)s.") % {"id": contact_id})
    return contact


@router.get("/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Get a contact", tags=["contacts"])
def get_contact(request: HttpRequest, contact_id: Id):
    return contact_data(_contact(user_of(request), contact_id))


@router.post("/contacts", response={201: ContactOut, **ERRORS}, summary="Create a contact", tags=["contacts"])
def create_contact(request: HttpRequest, body: ContactIn):
    user = user_of(request)
    values = body.model_dump()
    customer = editable_customer(
        user, customer_id=values.pop("customer_id"), customer_external_id=values.pop("customer_external_id")
    )
    return Status(201, contact_data(contact_create(customer=customer, **values)))


@router.patch(
    "/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Change a contact", tags=["contacts"]
)
def update_contact(request: HttpRequest, contact_id: Id, body: ContactPatch):
    user = user_of(request)
    contact = _contact(user, contact_id)
    if not can_edit_customer(user, contact.customer):
        raise forbidden(_("You can read this customer but not change it."))
    changes = Changes.of(body).values
    for field in ("title", "email", "phone"):
        if field in changes and changes[field] is None:
            changes[field] = ""
    for field in ("name", "is_primary", "consent_email", "consent_survey"):
        if field in changes and changes[field] is None:
            raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": field})
    return contact_data(contact_update(contact=contact, changes=changes))


# ---------------------------------------------------------------- privacy (administrators)


class ErasedOut(OutputSchema):
    id: int
    erased_at: datetime


@router.get(
    "/customers/{customer_id}/privacy-export",
    response={200: dict[str, Any], **ERRORS},
    summary="Everything about a customer (privacy export)",
    tags=["privacy"],
)
def privacy_export_view(request: HttpRequest, customer_id: Id):
    """Every record Patron holds about the customer, as `patron privacy export` prints it.
    Administrators only; audit-logged."""
    user = user_of(request)
    customer = visible_customer(user, customer_id)  # 404 first, as for every customer out of sight
    require_admin(user)
    return privacy_export(customer.pk)


@router.post(
    "/customers/{customer_id}/privacy-erase",
    response={200: ErasedOut, **ERRORS},
    summary="Erase (anonymise) a customer",
    tags=["privacy"],
)
def privacy_erase_view(request: HttpRequest, customer_id: Id):
    """Blank every field that says who the customer is or what they wrote; money, dates and
    scores stay, so totals and NPS do not change. The customer is never contacted again.
    Cannot be undone. Administrators only; audit-logged."""
    user = user_of(request)
    customer_id = visible_customer(user, customer_id).pk
    require_admin(user)
    customer = privacy_erase(customer_id)
    return {"id": customer.pk, "erased_at": customer.erased_at}
