"""Whom a rep calls today, and why: one ranked list of customers.

It merges what asks for a call: detractor follow-ups waiting for their first contact, the rep's
open tasks due by the end of today, the rep's open deals expected to close within a week, and
valuable customers (most valuable or most growable) with a churn risk of 50% or more. One row per
customer, with every reason that put it there.

Ranked by urgency first, then by what the customer is worth:
  1. something overdue (a follow-up past its SLA, a task past its due time, a deal still open
     after the day it was expected to close);
  2. something due today (a deal expected to close today among them);
  3. a deal expected to close this week, or a valuable customer at risk, with nothing due.
Within a rank, the higher predicted lifetime value first, then the earliest due time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from patron.core.models import User
from patron.customers.models import Customer
from patron.engagement.models import Task
from patron.feedback.models import FollowUp
from patron.insights.labels import CHURN_REASONS, label
from patron.insights.models import ValueClass
from patron.sales.models import Opportunity, Stage

OVERDUE, DUE_TODAY, AT_RISK = 1, 2, 3
VALUABLE = (ValueClass.MOST_VALUABLE, ValueClass.MOST_GROWABLE)
AT_RISK_FROM = 0.5
DEALS_AHEAD = timedelta(days=7)  # open deals expected to close this soon are worth a call
SOURCE_LIMIT = 50  # per source: a rep with more overdue work than this sees the first fifty


@dataclass
class Call:
    customer: Customer
    rank: int
    due_at: datetime | None
    reasons: list[str] = field(default_factory=list)
    follow_up: FollowUp | None = None  # the case the call's outcome closes

    @property
    def clv(self) -> float:
        score = getattr(self.customer, "score", None)
        return score.clv if score is not None and score.clv is not None else 0.0

    @property
    def overdue(self) -> bool:
        return self.rank == OVERDUE

    @property
    def tel(self) -> str:
        """The customer's number for a ``tel:`` link (stored in E.164: only spaces to drop)."""
        return "".join(ch for ch in self.customer.phone if ch.isdigit() or ch == "+")


def _end_of_today(now: datetime) -> datetime:
    today = timezone.localtime(now).date()
    return timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def calls_today(rep: User, customers: QuerySet[Customer], *, now: datetime | None = None, limit: int = 15) -> tuple[list[Call], int]:
    """The rep's calls for today among ``customers`` (the rep's, within what the viewer may see):
    the first ``limit`` by rank, and how many there are in all (up to the per-source limits)."""
    now = now or timezone.now()
    end = _end_of_today(now)
    calls: dict[int, Call] = {}

    def add(customer_id: int, rank: int, due_at: datetime | None, reason: str) -> Call:
        call = calls.get(customer_id)
        if call is None:
            call = calls[customer_id] = Call(customer=Customer(pk=customer_id), rank=rank, due_at=due_at)
        elif rank < call.rank or (rank == call.rank and due_at and (call.due_at is None or due_at < call.due_at)):
            call.rank, call.due_at = rank, due_at
        call.reasons.append(reason)
        return call

    follow_ups = (
        FollowUp.objects.filter(
            Q(owner=rep) | Q(escalated_to=rep),
            closed_at__isnull=True, first_contact_at__isnull=True, due_at__lt=end, customer__in=customers,
        )
        .select_related("response")
        .order_by("due_at", "pk")[:SOURCE_LIMIT]
    )
    for f in follow_ups:
        overdue = f.due_at < now
        if overdue:
            reason = _("Detractor (score %(score)s): the first contact was due %(due)s") % {
                "score": f.response.score, "due": _when(f.due_at)}
        else:
            reason = _("Detractor (score %(score)s): call by %(due)s") % {"score": f.response.score, "due": _when(f.due_at)}
        if f.escalated_to_id == rep.pk and f.owner_id != rep.pk:
            reason += " · " + _("escalated to you")
        call = add(f.customer_id, OVERDUE if overdue else DUE_TODAY, f.due_at, reason)
        call.follow_up = call.follow_up or f

    tasks = (
        Task.objects.filter(assignee=rep, status=Task.Status.OPEN, due_at__lt=end, customer__in=customers)
        .order_by("due_at", "pk")[:SOURCE_LIMIT]
    )
    for t in tasks:
        assert t.due_at is not None  # filtered on
        overdue = t.due_at < now
        template = _("Task “%(title)s”: overdue since %(due)s") if overdue else _("Task “%(title)s”: due %(due)s")
        reason = template % {"title": t.title, "due": _when(t.due_at)}
        if t.priority == Task.Priority.HIGH:
            reason += " · " + _("high priority")
        add(t.customer_id, OVERDUE if overdue else DUE_TODAY, t.due_at, reason)

    today = timezone.localdate(now)
    deals = (
        Opportunity.objects.filter(
            owner=rep, stage__outcome=Stage.Outcome.OPEN, expected_close__lte=today + DEALS_AHEAD,
            customer__in=customers,
        )
        .select_related("stage")
        .order_by("expected_close", "pk")[:SOURCE_LIMIT]
    )
    for d in deals:
        assert d.customer_id is not None and d.expected_close is not None  # filtered on
        values = {"name": d.name, "amount": formats.number_format(d.amount, 0, use_l10n=True, force_grouping=True),
                  "currency": d.currency, "stage": d.stage.label,
                  "date": formats.date_format(d.expected_close, "SHORT_DATE_FORMAT")}
        if d.expected_close < today:
            reason, rank = _("Deal “%(name)s” (%(amount)s %(currency)s, %(stage)s) was to close %(date)s") % values, OVERDUE
        else:
            reason = _("Deal “%(name)s” (%(amount)s %(currency)s, %(stage)s) closes %(date)s") % values
            rank = DUE_TODAY if d.expected_close == today else AT_RISK
        if d.next_step:
            reason += " · " + _("next step: %(step)s") % {"step": d.next_step}
        close_at = timezone.make_aware(datetime.combine(d.expected_close, time.min))
        add(d.customer_id, rank, close_at if rank != AT_RISK else None, reason)

    at_risk = (
        customers.filter(score__value_class__in=VALUABLE, score__churn_risk__gte=AT_RISK_FROM)
        .order_by("-score__clv", "pk")
        .values_list("pk", "score__value_class", "score__churn_risk", "score__churn_reasons")[:SOURCE_LIMIT]
    )
    for pk, value_class, risk, reasons in at_risk:
        reason = _("%(value_class)s customer, churn risk %(risk)s%%") % {
            "value_class": ValueClass(value_class).label, "risk": round((risk or 0.0) * 100)}
        if reasons:
            reason += ": " + ", ".join(label(CHURN_REASONS, code) for code in reasons[:2])
        add(pk, AT_RISK, None, reason)

    if not calls:
        return [], 0
    loaded = customers.filter(pk__in=list(calls)).select_related("score").only(
        "pk", "name", "phone", "email", "score__clv", "score__value_class", "score__churn_risk"
    )
    for customer in loaded:
        calls[customer.pk].customer = customer
    ranked = sorted(
        calls.values(),
        key=lambda c: (c.rank, -c.clv, c.due_at or end, c.customer.pk),
    )
    return ranked[:limit], len(ranked)
