"""The 360° page: what to know first, what to do, value trend, quick actions, readable timeline."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from patron.engagement.services import task_create
from patron.feedback.models import FollowUp, Review
from patron.feedback.services.answers import response_create
from patron.feedback.services.follow_ups import follow_up_open
from patron.feedback.services.surveys import survey_create
from patron.insights.models import CurrentScore, CustomerScore, ScoringRun
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


def _scored(customer, history):
    """Snapshots for (day, clv, profit_12m) and the current score from the last one."""
    now = timezone.now()
    for day, clv, profit in history:
        run = ScoringRun.objects.create(
            as_of=day, status=ScoringRun.Status.DONE, started_at=now, finished_at=now
        )
        CustomerScore.objects.create(
            run=run, customer=customer, clv=clv, profit_12m=profit, value_class="other"
        )
    CurrentScore.objects.create(
        customer=customer, run=run, updated_at=now, clv=clv, profit_12m=profit, value_class="most_valuable",
        churn_risk=0.7, churn_reasons=["no_recent_purchase"], p_alive=0.4,
    )  # fmt: skip


def _detractor(customer, comment="Late delivery again"):
    survey = survey_create(name="Relationship NPS")
    response = response_create(
        survey=survey, score=2, channel="api", customer=customer, comment=comment
    )
    if not FollowUp.objects.filter(response=response).exists():
        follow_up_open(response=response, reason="Detractor")
    return response


def test_cards_come_in_the_order_of_a_call(client, alice):
    customer = make_customer("Order Co", owner=alice)
    _scored(customer, [(date(2025, 9, 30), 800.0, 300.0), (date(2025, 12, 31), 1200.0, 450.0)])
    _detractor(customer)
    task_create(customer=customer, assignee=alice, title="Send the quote")
    client.force_login(alice)
    page = client.get(customer.get_absolute_url()).content.decode()
    positions = [
        page.index(marker)
        for marker in (
            'data-testid="value-class"',  # who they are to us: value class, churn risk and reasons
            'data-testid="profit"',
            'data-testid="nps-card"',
            'data-testid="do"',  # then what to do: follow-ups, tasks, contacts
            "Send the quote",
            'data-testid="timeline"',
        )
    ]
    assert positions == sorted(positions)
    assert "No recent purchase" in page and "Late delivery again" in page


def test_value_trend_chart_over_the_snapshots(client, alice):
    customer = make_customer("Trend Co", owner=alice)
    _scored(
        customer,
        [
            (date(2025, 6, 30), 500.0, 100.0),
            (date(2025, 9, 30), 800.0, 300.0),
            (date(2025, 12, 31), 1200.0, 450.0),
        ],
    )
    client.force_login(alice)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="value-trend"' in page and "echarts.min.js" in page
    chart = page[page.index('id="chart-trend"') :]
    assert "[500.0, 800.0, 1200.0]" in chart and "[100.0, 300.0, 450.0]" in chart
    assert "2025-06-30" in chart


def test_no_trend_chart_with_a_single_snapshot(client, alice):
    customer = make_customer("New Co", owner=alice)
    _scored(customer, [(date(2025, 12, 31), 1200.0, 450.0)])
    client.force_login(alice)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="value-trend"' not in page and "echarts.min.js" not in page


def test_scores_say_their_day_and_that_a_later_order_or_cost_counts_from_the_next_run(client, alice):
    from patron.commerce.services import cost_event_create

    customer = make_customer("Late Co", owner=alice)
    _scored(customer, [(date(2025, 12, 31), 1200.0, 450.0)])
    run_day = datetime(2025, 12, 31, 18, 0, tzinfo=timezone.get_current_timezone())
    make_order(customer, at=run_day)  # entered late, dated on the run's day: in the scores
    client.force_login(alice)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="score-as-of"' in page and "12/31/2025" in page
    assert 'data-testid="score-pending"' not in page
    cost_event_create(customer=customer, kind="ticket", amount=10, occurred_at=timezone.now())
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="score-pending"' in page and "count from the next scoring run" in page
    make_order(customer, at=timezone.now())
    customer.cost_events.all().delete()
    assert 'data-testid="score-pending"' in client.get(customer.get_absolute_url()).content.decode()


def test_key_account_quick_action_opens_the_review_to_record(client, alice):
    account = make_customer("Key Co", owner=alice, is_key_account=True)
    review = Review.objects.create(
        customer=account, owner=alice, quarter="2026Q4", due_at=timezone.now() + timedelta(days=20)
    )
    client.force_login(alice)
    page = client.get(account.get_absolute_url()).content.decode()
    assert 'data-testid="record-review"' in page
    assert f'href="/feedback/reviews/{review.pk}/"' in page and "Record the 2026Q4 review" in page
    ordinary = make_customer("Small Co", owner=alice)
    assert (
        'data-testid="record-review"'
        not in client.get(ordinary.get_absolute_url()).content.decode()
    )


def test_timeline_names_feedback_entries_in_words(client, alice):
    customer = make_customer("Voice Co", owner=alice)
    _detractor(customer)
    client.force_login(alice)
    page = client.get(customer.get_absolute_url()).content.decode()
    timeline = page[page.index('data-testid="timeline"') :]
    assert '<span class="tl-kind">Survey response</span>' in timeline
    assert '<span class="tl-kind">Follow-up</span>' in timeline
    assert '<span class="tl-kind">response</span>' not in timeline


def _load(customer, alice, n):
    product = make_product()
    for i in range(n):
        make_order(customer, product=product, at=timezone.now() - timedelta(days=i + 1))
        _detractor(customer, comment=f"comment {i}")
        task_create(customer=customer, assignee=alice, title=f"Task {i}")


def test_360_query_count_does_not_grow_with_the_history(
    client, alice, django_assert_max_num_queries
):
    small, big = make_customer("Small", owner=alice), make_customer("Big", owner=alice)
    _scored(small, [(date(2025, 9, 30), 1.0, 1.0), (date(2025, 12, 31), 2.0, 2.0)])
    CurrentScore.objects.create(
        customer=big, updated_at=timezone.now(), clv=5.0, value_class="other"
    )
    _load(small, alice, 1)
    _load(big, alice, 30)
    client.force_login(alice)
    with django_assert_max_num_queries(40) as few:
        assert client.get(small.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(big.get_absolute_url()).status_code == 200
