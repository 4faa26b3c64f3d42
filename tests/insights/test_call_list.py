"""A rep's calls for today: overdue follow-ups and tasks, today's, then valuable customers at risk;
one row per customer with every reason; only the rep's customers the viewer may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.customers.selectors import visible_customers
from patron.engagement.services import task_create
from patron.feedback.models import FollowUp
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.insights.call_list import AT_RISK, DUE_TODAY, OVERDUE, calls_today
from patron.insights.models import CurrentScore
from tests.factories import make_customer


@pytest.fixture
def nps_survey(db):
    return survey_create(name="Relationship NPS", kind="nps")


def _scored(name, owner, *, clv, value_class="other", churn_risk=0.1, reasons=(), **fields):
    customer = make_customer(name, owner=owner, **fields)
    CurrentScore.objects.create(
        customer=customer, updated_at=timezone.now(), clv=clv, value_class=value_class,
        churn_risk=churn_risk, churn_reasons=list(reasons),
    )
    return customer


def _detractor(survey, customer, score=2):
    response_create(survey=survey, customer=customer, score=score, channel="api", comment="rude staff")
    # Opened two days ago, so a due time in the past is still after the opening.
    FollowUp.objects.filter(customer=customer).update(opened_at=timezone.now() - timedelta(days=2))
    return FollowUp.objects.get(customer=customer)


def test_ranked_by_urgency_then_value_with_every_reason(alice, bob, nps_survey):
    now = timezone.localtime().replace(hour=12, minute=0)  # "today" has hours on both sides
    late_case = _scored("Late Case", alice, clv=100.0, phone="+8616613207659", email="late@example.com")
    _detractor(nps_survey, late_case)
    FollowUp.objects.filter(customer=late_case).update(due_at=now - timedelta(hours=3))
    big_overdue_task = _scored("Big Overdue Task", alice, clv=9000.0)
    task_create(customer=big_overdue_task, title="Send the quote", assignee=alice, due_at=now - timedelta(hours=1), priority="high")
    today = _scored("Due Today", alice, clv=50_000.0)
    task_create(customer=today, title="Confirm delivery", assignee=alice, due_at=now + timedelta(hours=5))
    _scored("Valuable Leaving", alice, clv=70_000.0, value_class="most_valuable", churn_risk=0.8,
                      reasons=["no_recent_purchase", "detractor"])
    _scored("Core Leaving", alice, clv=80_000.0, value_class="other", churn_risk=0.9)  # not valuable: not listed
    _scored("Valuable Safe", alice, clv=90_000.0, value_class="most_valuable", churn_risk=0.2)  # not at risk
    both = _scored("Both", alice, clv=60_000.0, value_class="most_growable", churn_risk=0.6)
    task_create(customer=both, title="Call back", assignee=alice, due_at=now - timedelta(days=1))
    _scored("Later Task", alice, clv=1.0)
    task_create(customer=make_customer("Next Week", owner=alice), title="Later", assignee=alice, due_at=now + timedelta(days=7))
    theirs = _scored("Bob's Overdue", bob, clv=1e6)
    task_create(customer=theirs, title="Not alice's", assignee=bob, due_at=now - timedelta(days=1))

    calls, total = calls_today(alice, visible_customers(alice).filter(owner=alice), now=now)
    names = [c.customer.name for c in calls]
    assert names == ["Both", "Big Overdue Task", "Late Case", "Due Today", "Valuable Leaving"]
    assert total == 5
    assert [c.rank for c in calls] == [OVERDUE, OVERDUE, OVERDUE, DUE_TODAY, AT_RISK]
    by_name = {c.customer.name: c for c in calls}
    assert len(by_name["Both"].reasons) == 2 and "overdue since" in by_name["Both"].reasons[0]
    assert "Most growable customer, churn risk 60%" in by_name["Both"].reasons[1]
    assert "high priority" in by_name["Big Overdue Task"].reasons[0]
    assert by_name["Late Case"].reasons[0].startswith("Detractor (score 2): the first contact was due")
    assert by_name["Late Case"].follow_up is not None and by_name["Late Case"].tel == "+8616613207659"
    assert by_name["Valuable Leaving"].reasons == [
        "Most valuable customer, churn risk 80%: No recent purchase, Detractor"
    ]


def test_a_contacted_or_closed_follow_up_asks_for_no_call(alice, nps_survey):
    customer = _scored("Called Already", alice, clv=10.0)
    follow_up = _detractor(nps_survey, customer)
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() - timedelta(hours=1), first_contact_at=timezone.now())
    assert calls_today(alice, visible_customers(alice).filter(owner=alice)) == ([], 0)


def test_escalated_follow_ups_reach_the_manager_list(alice, mia, north, nps_survey):
    customer = _scored("Escalated One", alice, clv=10.0, branch=north, region=north.region)
    follow_up = _detractor(nps_survey, customer)
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() - timedelta(hours=5), escalated_to=mia,
                                                     escalated_at=timezone.now())
    [call], total = calls_today(mia, visible_customers(mia).filter(owner=alice))
    assert total == 1 and call.reasons[0].endswith("escalated to you")


def test_the_rep_home_shows_the_calls_with_call_email_and_log_links(client, alice, nps_survey):
    customer = _scored("Ring Me", alice, clv=5.0, phone="+86 166 1320 7659", email="ring@example.com")
    _detractor(nps_survey, customer)
    FollowUp.objects.filter(customer=customer).update(due_at=timezone.now() - timedelta(hours=1))
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert 'data-testid="calls-today"' in page and "Whom I call today" in page
    assert 'href="tel:+8616613207659"' in page and 'href="mailto:ring@example.com"' in page
    assert "Call 166 1320 7659" in page  # stored in E.164, shown as people read it
    assert f'href="{customer.get_absolute_url()}?log=1#log"' in page
    detail = client.get(customer.get_absolute_url() + "?log=1").content.decode()
    assert 'id="log" open' in detail


def test_open_deals_expected_to_close_soon_are_calls_too(alice, bob):
    from patron.sales.services import opportunity_create, opportunity_move, pipeline_default_ensure

    pipeline_default_ensure()
    now = timezone.localtime().replace(hour=12, minute=0)
    today = now.date()
    late = _scored("Late Deal", alice, clv=10.0)
    due = _scored("Closing Today", alice, clv=20.0)
    week = _scored("This Week", alice, clv=30.0)
    later = _scored("Next Month", alice, clv=40.0)
    won = _scored("Already Won", alice, clv=50.0)
    theirs = _scored("Bob's Deal", bob, clv=60.0)
    opportunity_create(name="Renewal", customer=late, amount=12000, expected_close=today - timedelta(days=2),
                       owner=alice, stage="propose", next_step="Send the revised quote")
    opportunity_create(name="Fleet", customer=due, amount=5000, expected_close=today, owner=alice)
    opportunity_create(name="Upgrade", customer=week, amount=800, expected_close=today + timedelta(days=5), owner=alice)
    opportunity_create(name="Later", customer=later, amount=1, expected_close=today + timedelta(days=30), owner=alice)
    done = opportunity_create(name="Done", customer=won, amount=1, expected_close=today - timedelta(days=1), owner=alice)
    opportunity_move(opportunity=done, stage="won", won_reason="Price", by=alice)
    opportunity_create(name="Not hers", customer=theirs, amount=1, expected_close=today, owner=bob)

    calls, total = calls_today(alice, visible_customers(alice).filter(owner=alice), now=now)
    assert [(c.customer.name, c.rank) for c in calls] == [
        ("Late Deal", OVERDUE), ("Closing Today", DUE_TODAY), ("This Week", AT_RISK)
    ]
    assert total == 3
    reason = calls[0].reasons[0]
    assert reason.startswith("Deal “Renewal” (12,000 CNY, Propose) was to close") and "next step: Send the revised quote" in reason
