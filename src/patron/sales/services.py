"""Writes of leads and opportunities: keyword-only ``<entity>_<action>``, one transaction each,
``ValidationError`` with a message for bad input, every change audit-logged.

Who may write is decided by the callers through ``sales.selectors.can_edit_lead`` and
``can_edit_opportunity`` (the customers' rule); ``by`` names the user a stage change is recorded for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core.audit import audit_record, diff, snapshot
from patron.core.errors import DuplicateExternalIdError
from patron.core.models import Branch, Region, User, base_currency
from patron.customers.models import Customer
from patron.customers.phones import phone_and_digits
from patron.customers.services import contact_create, customer_create
from patron.sales.models import DEFAULT_STAGES, Lead, Opportunity, Pipeline, Stage, StageChange
from patron.sales.selectors import default_pipeline


def _check_external_id(model: type[Lead] | type[Opportunity], external_id: str | None, current: int | None = None) -> None:
    if not external_id:
        return
    clash = model._default_manager.filter(external_id=external_id)
    if current is not None:
        clash = clash.exclude(pk=current)
    if clash.exists():
        raise DuplicateExternalIdError(str(model._meta.verbose_name), external_id)


def _field_error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _only(changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, code="read_only"
        )


# ---------------------------------------------------------------- leads


@transaction.atomic
def lead_create(
    *,
    name: str,
    company: str = "",
    email: str = "",
    phone: str = "",
    source: str = Lead.Source.OTHER,
    channel: str = "",
    owner: User | None = None,
    branch: Branch | None = None,
    region: Region | None = None,
    external_id: str | None = None,
) -> Lead:
    _check_external_id(Lead, external_id)
    if region is None and branch is not None:
        region = branch.region
    phone, phone_digits = phone_and_digits(phone)
    lead = Lead(
        name=name, company=company, email=email, phone=phone, phone_digits=phone_digits, source=source,
        channel=channel, owner=owner, branch=branch, region=region, external_id=external_id or None,
    )
    lead.full_clean(exclude=["owner", "branch", "region", "converted_customer"])
    lead.save()
    audit_record("lead.create", obj=lead, changes={"source": [None, lead.source], "name": [None, lead.name]})
    return lead


LEAD_UPDATABLE = frozenset(
    {"name", "company", "email", "phone", "source", "channel", "owner", "branch", "region", "external_id"}
)


@transaction.atomic
def lead_update(*, lead: Lead, changes: Mapping[str, Any]) -> Lead:
    """Change an open or disqualified lead's fields (a converted lead is the customer's now)."""
    changes = dict(changes)
    _only(changes, LEAD_UPDATABLE)
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError(_("This lead was converted to a customer: change the customer instead."), code="converted")
    if changes.get("external_id") == "":
        changes["external_id"] = None
    _check_external_id(Lead, changes.get("external_id"), lead.pk)
    if "phone" in changes:
        changes["phone"], changes["phone_digits"] = phone_and_digits(changes["phone"])
    if changes.get("branch") is not None and "region" not in changes:
        changes["region"] = changes["branch"].region
    before = snapshot(lead, list(changes))
    for name, value in changes.items():
        setattr(lead, name, value)
    lead.full_clean(exclude=["owner", "branch", "region", "converted_customer"])
    if changes:
        lead.save(update_fields=[*changes, "updated_at"])
    if changed := diff(before, lead):
        audit_record("lead.update", obj=lead, changes=changed)
    return lead


@transaction.atomic
def lead_disqualify(*, lead: Lead, reason: str) -> Lead:
    reason = (reason or "").strip()
    if not reason:
        raise _field_error("reason", _("Say why the lead is disqualified."), "reason_required")
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError(_("This lead was converted to a customer already."), code="already_converted")
    before = lead.status
    lead.status = Lead.Status.DISQUALIFIED
    lead.disqualify_reason = reason[:300]
    lead.save(update_fields=["status", "disqualify_reason", "updated_at"])
    audit_record("lead.disqualify", obj=lead, changes={"status": [before, lead.status]})
    return lead


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    customer: Customer
    opportunity_ids: list[int]


@transaction.atomic
def lead_convert(*, lead: Lead) -> Conversion:
    """Make the lead a customer, once: a customer (a company with the lead as its contact, or a
    person) with the lead's name, email, phone, owner, branch, region and channel, and the lead's
    open opportunities moved to it. A second conversion is refused (code ``already_converted``),
    also when two run at once: the lead is claimed by a conditional UPDATE before anything is
    written, so of two concurrent conversions the second finds it taken."""
    now = timezone.now()
    claimed = Lead.objects.filter(pk=lead.pk, status=Lead.Status.OPEN).update(
        status=Lead.Status.CONVERTED, converted_at=now, updated_at=now
    )
    if not claimed:
        current = Lead.objects.filter(pk=lead.pk).values_list("status", flat=True).first()
        if current == Lead.Status.CONVERTED:
            raise ValidationError(_("This lead was converted to a customer already."), code="already_converted")
        raise ValidationError(_("Only an open lead can be converted; this one is disqualified."), code="not_open")
    lead.refresh_from_db()
    is_company = bool(lead.company)
    customer = customer_create(
        name=lead.company if is_company else lead.name,
        kind=Customer.Kind.COMPANY if is_company else Customer.Kind.PERSON,
        email="" if is_company else lead.email,
        phone="" if is_company else lead.phone,
        owner=lead.owner,
        branch=lead.branch,
        region=lead.region,
        stage=Customer.Stage.PROSPECT,
        acquired_on=timezone.localdate(),
        acquisition_channel=lead.channel,
    )
    if is_company:
        contact_create(customer=customer, name=lead.name, email=lead.email, phone=lead.phone, is_primary=True)
    moved = list(
        Opportunity.objects.filter(lead=lead, stage__outcome=Stage.Outcome.OPEN).order_by("pk").values_list("pk", flat=True)
    )
    Opportunity.objects.filter(pk__in=moved).update(customer=customer, lead=None, updated_at=now)
    lead.converted_customer = customer
    lead.save(update_fields=["converted_customer", "updated_at"])
    audit_record(
        "lead.convert", obj=lead, customer_id=customer.pk,
        changes={"status": [Lead.Status.OPEN, Lead.Status.CONVERTED], "customer": [None, customer.pk],
                 "opportunities": [None, moved]},
    )
    return Conversion(lead=lead, customer=customer, opportunity_ids=moved)


# ---------------------------------------------------------------- opportunities


@transaction.atomic
def pipeline_default_ensure() -> Pipeline:
    """The default pipeline, created with its six stages when there is none (the migrations
    create it; a database emptied since, as between tests, gets it back here)."""
    pipeline = default_pipeline()
    if pipeline is not None:
        return pipeline
    pipeline, _created = Pipeline.objects.get_or_create(is_default=True, defaults={"name": "Sales"})
    if not pipeline.stages.exists():
        Stage.objects.bulk_create(
            Stage(pipeline=pipeline, key=key, position=i, outcome=outcome, probability=Decimal(p))
            for i, (key, outcome, p) in enumerate(DEFAULT_STAGES, start=1)
        )
    return pipeline


def _stage_of(pipeline: Pipeline, stage: Stage | str | None) -> Stage:
    """The stage (or stage key) within ``pipeline``; its first stage when None."""
    if stage is None:
        first = pipeline.stages.order_by("position", "id").first()
        if first is None:
            raise ValidationError(_("The pipeline has no stages."), code="no_stages")
        return first
    if isinstance(stage, Stage):
        if stage.pipeline_id != pipeline.pk:
            raise _field_error("stage", _("That stage belongs to another pipeline."), "stage_pipeline")
        return stage
    found = pipeline.stages.filter(key=stage).first()
    if found is None:
        keys = ", ".join(pipeline.stages.order_by("position").values_list("key", flat=True))
        message = _("Unknown stage “%(stage)s”; use one of: %(keys)s.") % {"stage": str(stage)[:40], "keys": keys}
        raise _field_error("stage", message, "unknown_stage")
    return found


def _reasons(stage: Stage, won_reason: str, lost_reason: str) -> None:
    if stage.outcome == Stage.Outcome.WON and not won_reason.strip():
        raise _field_error("won_reason", _("Say why the opportunity was won."), "reason_required")
    if stage.outcome == Stage.Outcome.LOST and not lost_reason.strip():
        raise _field_error("lost_reason", _("Say why the opportunity was lost."), "reason_required")


def _record_change(opportunity: Opportunity, from_stage: Stage | None, to_stage: Stage, by: User | None) -> None:
    StageChange.objects.create(
        opportunity=opportunity, from_stage=from_stage, to_stage=to_stage,
        changed_by=by if by is not None and by.is_authenticated else None, changed_at=timezone.now(),
    )


def _owner_default(customer: Customer | None, lead: Lead | None) -> User | None:
    return customer.owner if customer is not None else (lead.owner if lead is not None else None)


@transaction.atomic
def opportunity_create(
    *,
    name: str,
    customer: Customer | None = None,
    lead: Lead | None = None,
    amount: Decimal | int = 0,
    currency: str | None = None,
    expected_close: date | None = None,
    pipeline: Pipeline | None = None,
    stage: Stage | str | None = None,
    owner: User | None = None,
    next_step: str = "",
    won_reason: str = "",
    lost_reason: str = "",
    external_id: str | None = None,
    by: User | None = None,
) -> Opportunity:
    """A new opportunity with a customer or a lead (exactly one), in ``stage`` (a stage or its key;
    default: the pipeline's first); its first stage is recorded like every later move."""
    if (customer is None) == (lead is None):
        raise ValidationError(_("Give the opportunity a customer or a lead, not both."), code="customer_or_lead")
    if lead is not None and lead.status != Lead.Status.OPEN:
        raise _field_error("lead", _("This lead is no longer open."), "lead_closed")
    _check_external_id(Opportunity, external_id)
    pipeline = pipeline or pipeline_default_ensure()
    chosen = _stage_of(pipeline, stage)
    _reasons(chosen, won_reason, lost_reason)
    opportunity = Opportunity(
        name=name, customer=customer, lead=lead, amount=Decimal(amount), currency=currency or base_currency(),
        expected_close=expected_close, pipeline=pipeline, stage=chosen,
        owner=owner if owner is not None else _owner_default(customer, lead),
        next_step=next_step, won_reason=won_reason.strip(), lost_reason=lost_reason.strip(),
        closed_at=timezone.now() if chosen.is_closed else None, external_id=external_id or None,
    )
    opportunity.full_clean(exclude=["customer", "lead", "pipeline", "stage", "owner"])
    opportunity.save()
    _record_change(opportunity, None, chosen, by)
    audit_record(
        "opportunity.create", obj=opportunity, customer_id=opportunity.customer_id,
        changes={"stage": [None, chosen.key], "amount": [None, opportunity.amount]},
    )
    return opportunity


OPPORTUNITY_UPDATABLE = frozenset(
    {"name", "amount", "currency", "expected_close", "owner", "next_step", "won_reason", "lost_reason", "external_id",
     "stage"}
)


@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, changes: Mapping[str, Any], by: User | None = None) -> Opportunity:
    """Change an opportunity's fields; a ``stage`` (a stage or its key) among them moves it
    (``opportunity_move``), with the reasons given beside it."""
    changes = dict(changes)
    _only(changes, OPPORTUNITY_UPDATABLE)
    stage = changes.pop("stage", None)
    if changes.get("external_id") == "":
        changes["external_id"] = None
    _check_external_id(Opportunity, changes.get("external_id"), opportunity.pk)
    if stage is not None and _stage_of(opportunity.pipeline, stage).pk != opportunity.stage_id:
        # A move: the reasons go with it. Without one (the stage it is in), they are plain fields.
        reasons = {k: changes.pop(k) or "" for k in ("won_reason", "lost_reason") if k in changes}
        opportunity_move(opportunity=opportunity, stage=stage, by=by, **reasons)
    before = snapshot(opportunity, list(changes))
    for name, value in changes.items():
        setattr(opportunity, name, "" if value is None and name in {"next_step", "won_reason", "lost_reason"} else value)
    if "amount" in changes:
        opportunity.amount = Decimal(opportunity.amount)
    opportunity.full_clean(exclude=["customer", "lead", "pipeline", "stage", "owner"])
    if opportunity.stage.is_closed:
        _reasons(opportunity.stage, opportunity.won_reason, opportunity.lost_reason)
    if changes:
        opportunity.save(update_fields=[*changes, "updated_at"])
    if changed := diff(before, opportunity):
        audit_record("opportunity.update", obj=opportunity, customer_id=opportunity.customer_id, changes=changed)
    return opportunity


@transaction.atomic
def opportunity_move(
    *, opportunity: Opportunity, stage: Stage | str, by: User | None = None, won_reason: str = "", lost_reason: str = ""
) -> Opportunity:
    """Move the opportunity to ``stage`` of its pipeline, recorded with who and when. A won or
    lost stage needs its reason and sets ``closed_at``; moving back to an open stage clears it
    and the reasons. A move to the stage it is in changes nothing."""
    target = _stage_of(opportunity.pipeline, stage)
    won_reason, lost_reason = (won_reason or "").strip()[:300], (lost_reason or "").strip()[:300]
    # The row is locked so two moves at once are recorded in the order they happen.
    current = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    if current.stage_id == target.pk:
        return opportunity
    _reasons(target, won_reason, lost_reason)
    from_stage = current.stage
    opportunity.stage = target
    if target.outcome == Stage.Outcome.WON:
        opportunity.won_reason, opportunity.lost_reason = won_reason, ""
    elif target.outcome == Stage.Outcome.LOST:
        opportunity.won_reason, opportunity.lost_reason = "", lost_reason
    else:
        opportunity.won_reason = opportunity.lost_reason = ""
    opportunity.closed_at = timezone.now() if target.is_closed else None
    opportunity.save(update_fields=["stage", "won_reason", "lost_reason", "closed_at", "updated_at"])
    _record_change(opportunity, from_stage, target, by)
    audit_record(
        "opportunity.move", obj=opportunity, customer_id=opportunity.customer_id,
        changes={"stage": [from_stage.key, target.key]},
    )
    return opportunity
