"""REST endpoints for leads and opportunities, scoped by the customers' visibility rule."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from patron.core.apikit import (
    DEFAULT_PAGE,
    MAX_PAGE,
    ApiError,
    Changes,
    ErrorOut,
    ExternalId,
    Id,
    Moment,
    Page,
    forbidden,
    not_found,
    paginate,
    sorted_by,
)
from patron.core.models import Branch, Region, User
from patron.core.roles import user_of
from patron.customers.apikit import editable_customer, require_record_writer
from patron.sales.models import Lead, Opportunity
from patron.sales.schemas import (
    LeadConversionOut,
    LeadIn,
    LeadOut,
    LeadPatch,
    LeadSource,
    LeadStatus,
    OpportunityIn,
    OpportunityOut,
    OpportunityPatch,
    StageChangeOut,
    StageKey,
    lead_data,
    opportunity_data,
    stage_change_data,
)
from patron.sales.selectors import (
    LEAD_SORTS,
    OPPORTUNITY_SORTS,
    LeadFilter,
    OpportunityFilter,
    can_edit_lead,
    can_edit_opportunity,
    filter_leads,
    filter_opportunities,
    stage_history,
    visible_leads,
    visible_opportunities,
)
from patron.sales.services import (
    lead_convert,
    lead_create,
    lead_disqualify,
    lead_update,
    opportunity_create,
    opportunity_update,
)

router = Router(tags=["sales"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class SalesPageParams(Schema):
    """Paging and sort of the sales lists (no CSV here: the list pages download it)."""

    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description=f"Page size, at most {MAX_PAGE}.")
    offset: int = Field(0, ge=0, le=10**9)
    sort: str | None = Field(None, max_length=40, description="A sort key; prefix with - for descending.")


def _user_named(username: str | None) -> User | None:
    if username is None:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ApiError(422, "unknown_user", _("There is no active user named %(name)s.") % {"name": username})
    return user


def _branch(code: str | None) -> Branch | None:
    if code is None:
        return None
    branch = Branch.objects.select_related("region").filter(code=code).first()
    if branch is None:
        raise ApiError(422, "unknown_branch", _("There is no branch %(code)s.") % {"code": code})
    return branch


def _region(code: str | None) -> Region | None:
    if code is None:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ApiError(422, "unknown_region", _("There is no region %(code)s.") % {"code": code})
    return region


def _conflict(exc: ValidationError) -> ApiError | None:
    code = getattr(exc, "code", None)
    if code in {"already_converted", "not_open", "converted"}:
        return ApiError(409, code, " ".join(exc.messages))
    return None


# ---------------------------------------------------------------- leads


class LeadFilters(Schema):
    status: LeadStatus | None = None
    source: LeadSource | None = None
    owner: str | None = Field(None, max_length=150, description="Username.")
    q: str | None = Field(None, max_length=100, description="Name, company, email or phone contains this.")
    external_id: ExternalId | None = None
    updated_since: Moment | None = None


@router.get("/leads", response={200: Page[LeadOut], **ERRORS}, summary="List leads")
def list_leads(request: HttpRequest, filters: Query[LeadFilters], params: Query[SalesPageParams]):
    # The filter rules are the lead list page's (sales.selectors.filter_leads).
    f = LeadFilter(
        q=filters.q or "",
        status=filters.status or "",
        source=filters.source or "",
        owner_username=filters.owner,
        external_id=filters.external_id,
        updated_since=filters.updated_since,
    )
    qs = filter_leads(visible_leads(user_of(request)).select_related("owner", "branch", "region"), f)
    qs = sorted_by(qs, params.sort, LEAD_SORTS, "-created_at")
    return paginate(request, qs, params, lambda rows: [lead_data(x) for x in rows])  # type: ignore[arg-type]


def _lead(user: User, lead_id: int) -> Lead:
    lead = visible_leads(user).select_related("owner", "branch", "region").filter(pk=lead_id).first()
    if lead is None:
        raise not_found(_("There is no lead %(id)s.") % {"id": lead_id})
    return lead


def _still_visible(user: User, lead: Lead) -> Lead:
    """The lead as its writer now sees it: a write must not hand a lead to someone else's view."""
    found = visible_leads(user).select_related("owner", "branch", "region").filter(pk=lead.pk).first()
    if found is None:
        raise forbidden(_("You may not create or move a lead outside the leads you can see."))
    return found


def _editable_lead(user: User, lead_id: int) -> Lead:
    lead = _lead(user, lead_id)
    if not can_edit_lead(user, lead):
        raise forbidden(_("Your role reads leads but does not change them."))
    return lead


@router.get("/leads/{lead_id}", response={200: LeadOut, **ERRORS}, summary="Get a lead")
def get_lead(request: HttpRequest, lead_id: Id):
    return lead_data(_lead(user_of(request), lead_id))


@router.post("/leads", response={201: LeadOut, **ERRORS}, summary="Create a lead")
def create_lead(request: HttpRequest, body: LeadIn):
    """Create a lead; `owner` defaults to you. You see it afterwards by the customers' rule."""
    user = user_of(request)
    require_record_writer(user)
    with transaction.atomic():
        lead = lead_create(
            name=body.name,
            company=body.company,
            email=body.email,
            phone=body.phone,
            source=body.source,
            channel=body.channel or "",
            owner=_user_named(body.owner) if body.owner else user,
            branch=_branch(body.branch),
            region=_region(body.region),
            external_id=body.external_id,
        )
        found = _still_visible(user, lead)
    return Status(201, lead_data(found))


@router.patch("/leads/{lead_id}", response={200: LeadOut, **ERRORS}, summary="Change a lead")
def update_lead(request: HttpRequest, lead_id: Id, body: LeadPatch):
    user = user_of(request)
    lead = _editable_lead(user, lead_id)
    changes = Changes.of(body).values
    status = changes.pop("status", None)
    reason = changes.pop("disqualify_reason", None)
    for name in ("name", "source"):
        if name in changes and changes[name] is None:
            raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": name})
    for name in ("company", "email", "phone", "channel"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    if "owner" in changes:
        changes["owner"] = _user_named(changes["owner"])
    if "branch" in changes:
        changes["branch"] = _branch(changes["branch"])
    if "region" in changes:
        changes["region"] = _region(changes["region"])
    if reason is not None and status != Lead.Status.DISQUALIFIED:
        raise ApiError(422, "invalid", _("disqualify_reason goes with \"status\": \"disqualified\"."))
    try:
        with transaction.atomic():
            lead_update(lead=lead, changes=changes)
            if status == Lead.Status.DISQUALIFIED:
                lead_disqualify(lead=lead, reason=reason or "")
            found = _still_visible(user, lead)
    except ValidationError as exc:
        conflict = _conflict(exc)
        if conflict is not None:
            raise conflict from exc
        raise
    return lead_data(found)


@router.post(
    "/leads/{lead_id}/convert", response={200: LeadConversionOut, **ERRORS}, summary="Convert a lead to a customer"
)
def convert_lead(request: HttpRequest, lead_id: Id):
    """Create the customer from the lead's data and move its open opportunities to it, once: a
    second conversion is a 409 `already_converted`."""
    user = user_of(request)
    lead = _editable_lead(user, lead_id)
    try:
        done = lead_convert(lead=lead)
    except ValidationError as exc:
        conflict = _conflict(exc)
        if conflict is not None:
            raise conflict from exc
        raise
    return {"lead_id": lead.pk, "customer_id": done.customer.pk, "opportunity_ids": done.opportunity_ids}


# ---------------------------------------------------------------- opportunities


class OpportunityFilters(Schema):
    stage: StageKey | None = Field(None, description="A stage key.")
    outcome: str | None = Field(None, pattern="^(open|won|lost)$")
    customer_id: Id | None = None
    lead_id: Id | None = None
    owner: str | None = Field(None, max_length=150, description="Username.")
    external_id: ExternalId | None = None


def _opportunities(user: User):
    return visible_opportunities(user).select_related("stage", "owner")


@router.get("/opportunities", response={200: Page[OpportunityOut], **ERRORS}, summary="List opportunities")
def list_opportunities(request: HttpRequest, filters: Query[OpportunityFilters], params: Query[SalesPageParams]):
    # The filter rules are the opportunity list page's (sales.selectors.filter_opportunities).
    f = OpportunityFilter(
        stage_key=filters.stage or "",
        outcome=filters.outcome or "",
        customer_id=filters.customer_id,
        lead_id=filters.lead_id,
        owner_username=filters.owner,
        external_id=filters.external_id,
    )
    qs = filter_opportunities(_opportunities(user_of(request)), f)
    qs = sorted_by(qs, params.sort, OPPORTUNITY_SORTS, "expected_close")
    return paginate(request, qs, params, lambda rows: [opportunity_data(x) for x in rows])  # type: ignore[arg-type]


def _opportunity(user: User, opportunity_id: int) -> Opportunity:
    item = _opportunities(user).filter(pk=opportunity_id).first()
    if item is None:
        raise not_found(_("There is no opportunity %(id)s.") % {"id": opportunity_id})
    return item


@router.get(
    "/opportunities/{opportunity_id}", response={200: OpportunityOut, **ERRORS}, summary="Get an opportunity"
)
def get_opportunity(request: HttpRequest, opportunity_id: Id):
    return opportunity_data(_opportunity(user_of(request), opportunity_id))


@router.post("/opportunities", response={201: OpportunityOut, **ERRORS}, summary="Create an opportunity")
def create_opportunity(request: HttpRequest, body: OpportunityIn):
    """Create an opportunity in the default pipeline; `owner` defaults to the customer's or lead's."""
    user = user_of(request)
    customer = editable_customer(user, customer_id=body.customer_id) if body.customer_id is not None else None
    lead = _editable_lead(user, body.lead_id) if body.lead_id is not None else None
    item = opportunity_create(
        name=body.name,
        customer=customer,
        lead=lead,
        amount=body.amount,
        currency=body.currency,
        expected_close=body.expected_close,
        stage=body.stage,
        owner=_user_named(body.owner),
        next_step=body.next_step,
        won_reason=body.won_reason,
        lost_reason=body.lost_reason,
        external_id=body.external_id,
        by=user,
    )
    return Status(201, opportunity_data(_opportunity(user, item.pk)))


@router.patch(
    "/opportunities/{opportunity_id}", response={200: OpportunityOut, **ERRORS}, summary="Change an opportunity"
)
def update_opportunity(request: HttpRequest, opportunity_id: Id, body: OpportunityPatch):
    """Change an opportunity; `{"stage": "won", "won_reason": "…"}` moves it (the move is
    recorded: `GET /opportunities/{id}/stages`)."""
    user = user_of(request)
    item = _opportunity(user, opportunity_id)
    if not can_edit_opportunity(user, item):
        raise forbidden(_("Your role reads opportunities but does not change them."))
    changes = Changes.of(body).values
    for name in ("name", "amount", "currency", "stage"):
        if name in changes and changes[name] is None:
            raise ApiError(422, "invalid", _("%(field)s cannot be null.") % {"field": name})
    if "owner" in changes:
        changes["owner"] = _user_named(changes["owner"])
    opportunity_update(opportunity=item, changes=changes, by=user)
    return opportunity_data(_opportunity(user, item.pk))


@router.get(
    "/opportunities/{opportunity_id}/stages",
    response={200: list[StageChangeOut], **ERRORS},
    summary="An opportunity's stage history",
)
def opportunity_stages(request: HttpRequest, opportunity_id: Id):
    """Every stage the opportunity went through, oldest first, with who moved it and when."""
    item = _opportunity(user_of(request), opportunity_id)
    return [stage_change_data(c) for c in stage_history(item)]
