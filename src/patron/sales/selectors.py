"""Reads of leads and opportunities. Who sees what is the customers' rule: a lead is placed by its
owner, branch and region exactly as a customer is (``customers.selectors.customer_scope``), and an
opportunity is seen by whoever sees its customer or its lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet, Sum

from patron.core.models import User
from patron.core.ordering import both_ways, ordered
from patron.customers.search import phone_contains
from patron.customers.selectors import changes_customers, customer_scope, visible_customers
from patron.sales.models import Lead, Opportunity, Pipeline, Stage, StageChange


def lead_scope(user: User) -> Q | None:
    """The filter on Lead that ``user`` may see (None: every lead): the customers' rule."""
    return customer_scope(user)


def visible_leads(user: User) -> QuerySet[Lead]:
    scope = lead_scope(user)
    leads = Lead.objects.all()
    return leads if scope is None else leads.filter(scope)


def visible_opportunities(user: User) -> QuerySet[Opportunity]:
    """Opportunities of the customers and of the leads ``user`` sees."""
    opportunities = Opportunity.objects.all()
    if customer_scope(user) is None:
        return opportunities
    return opportunities.filter(
        Q(customer_id__in=visible_customers(user).values("pk")) | Q(lead_id__in=visible_leads(user).values("pk"))
    )


def can_edit_lead(user: User, lead: Lead) -> bool:
    """Analysts and marketers read leads but change none; the others change those they see."""
    return changes_customers(user) and visible_leads(user).filter(pk=lead.pk).exists()


def can_edit_opportunity(user: User, opportunity: Opportunity) -> bool:
    return changes_customers(user) and visible_opportunities(user).filter(pk=opportunity.pk).exists()


def default_pipeline() -> Pipeline | None:
    """The pipeline new opportunities join unless told otherwise (the migrations create it;
    ``sales.services.pipeline_default_ensure`` again if it was removed)."""
    return Pipeline.objects.filter(is_default=True).first()


def pipeline_stages(pipeline: Pipeline) -> list[Stage]:
    return list(pipeline.stages.order_by("position", "id"))


def stage_history(opportunity: Opportunity) -> QuerySet[StageChange]:
    return opportunity.stage_changes.select_related("from_stage", "to_stage", "changed_by").order_by("changed_at", "id")


# Sort keys of the lead and opportunity lists, their pages' and the API's (``core.ordering``).
LEAD_SORTS = {
    **both_ways("created_at"),
    **both_ways("updated_at"),
    **both_ways("name"),
    **both_ways("company"),
    **both_ways("status", "status", F("created_at").desc()),
    **both_ways("owner", "owner__username", F("name").asc(), nulls_last=True),
    **both_ways("id"),
}
OPPORTUNITY_SORTS = {
    **both_ways("expected_close", nulls_last=True),
    **both_ways("amount"),
    **both_ways("name"),
    **both_ways("stage", "stage__position", F("expected_close").asc(nulls_last=True)),
    **both_ways("owner", "owner__username", F("name").asc(), nulls_last=True),
    **both_ways("created_at"),
    **both_ways("updated_at"),
    **both_ways("id"),
}


@dataclass(frozen=True)
class LeadFilter:
    q: str = ""  # the page's search: name, company, email or phone
    status: str = ""
    source: str = ""
    owner_id: int | None = None
    # Filters the API offers (GET /leads): None is no filter.
    owner_username: str | None = None
    external_id: str | None = None
    updated_since: datetime | None = None
    sort: str = "-created_at"


def filter_leads(leads: QuerySet[Lead], f: LeadFilter) -> QuerySet[Lead]:
    """Apply a list filter and sort to leads that already went through ``visible_leads``.

    The one set of filter rules of the lead list page and of ``GET /leads``.
    """
    if f.q:
        text = f.q.strip()
        leads = leads.filter(
            Q(name__icontains=text) | Q(company__icontains=text) | Q(email__icontains=text) | phone_contains(text)
        )
    if f.status:
        leads = leads.filter(status=f.status)
    if f.source:
        leads = leads.filter(source=f.source)
    if f.owner_id is not None:
        leads = leads.filter(owner_id=f.owner_id)
    if f.owner_username:
        leads = leads.filter(owner__username=f.owner_username)
    if f.external_id:
        leads = leads.filter(external_id=f.external_id)
    if f.updated_since:
        leads = leads.filter(updated_at__gte=f.updated_since)
    return ordered(leads, LEAD_SORTS, f.sort, "-created_at")


@dataclass(frozen=True)
class OpportunityFilter:
    q: str = ""  # the page's search: the opportunity's, its customer's or its lead's name
    stage_key: str = ""
    outcome: str = ""  # open, won or lost: the outcome of the stage
    owner_id: int | None = None
    close_from: date | None = None
    close_to: date | None = None
    # Filters the API offers (GET /opportunities): None is no filter.
    customer_id: int | None = None
    lead_id: int | None = None
    owner_username: str | None = None
    external_id: str | None = None
    sort: str = "expected_close"


def filter_opportunities(items: QuerySet[Opportunity], f: OpportunityFilter) -> QuerySet[Opportunity]:
    """Apply a list filter and sort to opportunities that went through ``visible_opportunities``.

    The one set of filter rules of the opportunity list page and of ``GET /opportunities``.
    """
    if f.q:
        text = f.q.strip()
        items = items.filter(Q(name__icontains=text) | Q(customer__name__icontains=text) | Q(lead__name__icontains=text)
                             | Q(lead__company__icontains=text))
    if f.stage_key:
        items = items.filter(stage__key=f.stage_key)
    if f.outcome:
        items = items.filter(stage__outcome=f.outcome)
    if f.owner_id is not None:
        items = items.filter(owner_id=f.owner_id)
    if f.close_from:
        items = items.filter(expected_close__gte=f.close_from)
    if f.close_to:
        items = items.filter(expected_close__lte=f.close_to)
    if f.customer_id is not None:
        items = items.filter(customer_id=f.customer_id)
    if f.lead_id is not None:
        items = items.filter(lead_id=f.lead_id)
    if f.owner_username:
        items = items.filter(owner__username=f.owner_username)
    if f.external_id:
        items = items.filter(external_id=f.external_id)
    return ordered(items, OPPORTUNITY_SORTS, f.sort, "expected_close")


# ---------------------------------------------------------------- the board


@dataclass(frozen=True)
class BoardColumn:
    stage: Stage
    count: int
    amount: Decimal
    currency: str | None  # the amounts' one currency; None when they are in several
    cards: list[Opportunity]

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


def board(user: User, pipeline: Pipeline, *, per_stage: int = 50, owner_id: int | None = None) -> list[BoardColumn]:
    """The board of ``pipeline``: per stage, the count and sum of the opportunities ``user`` sees
    (the sum in their currency; amounts in several currencies are summed as they are and the
    column says so: converting needs rates, which commerce keeps) and the first ``per_stage``
    cards by expected close. One query for the figures, one per non-empty stage for its cards."""
    stages = pipeline_stages(pipeline)
    seen = visible_opportunities(user).filter(pipeline=pipeline)
    if owner_id is not None:
        seen = seen.filter(owner_id=owner_id)
    totals: dict[int, dict[str, Any]] = {
        row["stage_id"]: dict(row)
        for row in seen.order_by().values("stage_id").annotate(
            n=Count("id"), total=Sum("amount"), currencies=Count("currency", distinct=True), currency=Min("currency")
        )
    }
    cards = seen.select_related("customer", "lead", "owner", "stage")
    columns = []
    for stage in stages:
        row: dict[str, Any] = totals.get(stage.pk, {})
        first = cards.filter(stage=stage).order_by(F("expected_close").asc(nulls_last=True), "id")
        rows = list(first[:per_stage]) if row else []
        currency = row.get("currency") if row.get("currencies", 0) <= 1 else None
        columns.append(BoardColumn(stage=stage, count=row.get("n", 0), amount=row.get("total") or Decimal(0),
                                   currency=currency, cards=rows))
    return columns
