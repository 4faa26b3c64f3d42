"""The 360° view of one customer, loaded once and passed to the page as a dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F
from django.http import Http404

from patron.core.models import User, base_currency
from patron.customers.models import Contact, Customer
from patron.customers.selectors import can_edit_customer, visible_customers
from patron.customers.timeline import TimelinePage, customer_timeline
from patron.engagement.models import Task
from patron.feedback.selectors import CustomerFeedback, customer_feedback
from patron.insights.selectors import Insight, customer_insight


@dataclass(frozen=True)
class Figures:
    revenue: Decimal
    cost_of_goods: Decimal
    cost_to_serve: Decimal
    profit: Decimal
    orders: int
    currency: str

    @property
    def margin_rate(self) -> Decimal | None:
        return (self.profit / self.revenue * 100).quantize(Decimal("0.1")) if self.revenue else None


@dataclass(frozen=True)
class CustomerOverview:
    customer: Customer
    contacts: list[Contact]
    figures: Figures
    open_tasks: list[Task]
    done_tasks: list[Task]  # the last few completed, to reopen one closed by mistake
    timeline: TimelinePage
    can_edit: bool
    insight: Insight
    feedback: CustomerFeedback


def customer_overview(
    user: User, customer_id: int, *, channel: str | None = None, page: int = 1, page_size: int = 25
) -> CustomerOverview:
    """Everything the 360° page shows; raises Http404 if the user may not see the customer."""
    customer = (
        visible_customers(user)
        .select_related("owner", "branch", "region")
        .prefetch_related("tags")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise Http404("No such customer")
    figures = Figures(
        revenue=customer.revenue_total,
        cost_of_goods=customer.cogs_total,
        cost_to_serve=customer.cost_to_serve_total,
        profit=customer.profit_total,
        orders=customer.order_count,
        currency=base_currency(),  # the running totals are in the base currency
    )
    tasks = Task.objects.filter(customer=customer).select_related("assignee")
    # Overdue first (the earliest due), then the rest by due time, undated last.
    open_tasks = list(tasks.filter(status=Task.Status.OPEN).order_by(F("due_at").asc(nulls_last=True), "pk")[:10])
    done_tasks = list(tasks.filter(status=Task.Status.DONE).order_by("-completed_at", "-pk")[:3])
    return CustomerOverview(
        customer=customer,
        contacts=list(customer.contacts.all()),
        figures=figures,
        open_tasks=open_tasks,
        done_tasks=done_tasks,
        timeline=customer_timeline(customer, channel=channel, page=page, page_size=page_size),
        can_edit=can_edit_customer(user, customer),
        insight=customer_insight(customer),
        feedback=customer_feedback(customer),
    )
