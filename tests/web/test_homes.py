"""Home pages per role on a scored book: the right blocks, only visible customers, bounded queries."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from patron.core.models import Branch
from patron.customers.models import Customer
from patron.customers.selectors import visible_customers
from patron.engagement.services import task_create
from patron.feedback.models import FollowUp, Review
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.insights.models import CurrentScore
from tests.factories import make_customer, make_user
from tests.web.scored import scored_book

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    yield from scored_book(django_db_blocker, seed=29)


def _home(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    return response.content.decode()


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def _linked_customers(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/customers/(\d+)/"', html)}


def test_rep_home_shows_own_customers_by_value_risk_and_moving_down(client, book):
    mine = visible_customers(book.alice)
    task_create(customer=mine.first(), assignee=book.alice, title="Call about the renewal")
    page = _home(client, book.alice)
    assert 'data-testid="home-rep"' in page
    by_value = _section(page, "by-value")
    top = list(
        mine.filter(score__clv__isnull=False)
        .order_by(F("score__clv").desc(), "id")
        .values_list("pk", flat=True)[:10]
    )
    assert [int(pk) for pk in re.findall(r'href="/customers/(\d+)/"', by_value)] == top
    assert _linked_customers(page) <= set(mine.values_list("pk", flat=True))
    riskiest = (
        mine.filter(score__churn_risk__gte=0.5)
        .order_by(F("score__churn_risk").desc(), "id")
        .first()
    )
    assert riskiest is not None and f"/customers/{riskiest.pk}/" in _section(page, "at-risk")
    highest = max(
        mine.filter(score__move_down_prob__isnull=False).values_list(
            "score__move_down_prob", flat=True
        )
    )
    moving = _linked_customers(_section(page, "moving-down"))
    assert moving and set(
        CurrentScore.objects.filter(customer__in=moving).values_list("move_down_prob", flat=True)
    ) == {highest}
    assert "Call about the renewal" in page
    callbacks = _section(page, "my-callbacks")
    open_mine = FollowUp.objects.filter(owner=book.alice, closed_at__isnull=True, customer__in=mine)
    if open_mine.exists():
        assert (
            f'href="/feedback/follow-ups/{open_mine.order_by("due_at", "pk").first().pk}/"'
            in callbacks
        )
    # Nothing of bob's.
    assert not _linked_customers(page) & set(
        Customer.objects.filter(owner=book.bob).values_list("pk", flat=True)
    )


def test_account_manager_home_lists_key_accounts_with_nps_and_review(client, book):
    kate = make_user("kate", "account_manager")
    other = make_user("kim", "account_manager")
    big = make_customer("Great Wall Trading", owner=kate, is_key_account=True)
    make_customer("Someone Else's Account", owner=other, is_key_account=True)
    survey = survey_create(name="Key account NPS")
    for score in (10, 9, 3):
        response_create(survey=survey, score=score, channel="api", customer=big)
    now = timezone.now()
    quarter = f"{timezone.localtime(now).year}Q{(timezone.localtime(now).month - 1) // 3 + 1}"
    review = Review.objects.create(customer=big, owner=kate, quarter=quarter, due_at=now)
    page = _home(client, kate)
    accounts = _section(page, "key-accounts")
    assert "Great Wall Trading" in accounts and "Someone Else" not in page
    assert "NPS 33" in accounts and "(n = 3)" in accounts  # (2 promoters - 1 detractor) / 3
    assert f'href="/feedback/reviews/{review.pk}/"' in accounts and "to hold" in accounts


def test_cx_home_shows_live_feedback_nps_with_margin_and_sla(client, book):
    survey = survey_create(name="Post-purchase NPS")
    customer = Customer.objects.order_by("pk").first()
    for score in (10, 10, 8, 2):
        response_create(
            survey=survey, score=score, channel="api", customer=customer, comment=f"said {score}"
        )
    page = _home(client, book.carl)
    assert 'data-testid="home-cx"' in page
    nps = _section(page, "nps-now")
    assert "NPS 25 ±" in nps and "(n = 4)" in nps
    assert "said 2" in _section(page, "live-feedback")
    now = timezone.now()
    open_ = FollowUp.objects.filter(closed_at__isnull=True)
    overdue = open_.filter(first_contact_at__isnull=True, due_at__lt=now)
    sla = _section(page, "sla")
    assert f'data-testid="sla-open">{open_.count()}<' in sla
    assert f'data-testid="sla-overdue">{overdue.count()}<' in sla


def test_marketer_home_counts_value_classes_and_segments_with_links(client, book):
    page = _home(client, book.maya)
    classes = _section(page, "value-classes")
    counts = Counter(CurrentScore.objects.values_list("value_class", flat=True))
    for code, n in counts.items():
        assert re.search(rf'value_class={code}">[^<]+</a></th><td class="num">{n}<', classes), code
    segments = _section(page, "segments")
    champions = CurrentScore.objects.filter(rfm_segment="champions").count()
    assert f'segment=champions">Champions</a></th><td class="num">{champions}<' in segments


def test_manager_sees_the_team_and_drills_down_within_her_branches(client, book):
    page = _home(client, book.mia)
    team = _section(page, "team")
    visible = visible_customers(book.mia)
    n_alice = visible.filter(owner=book.alice).count()
    assert n_alice > 0
    row = team[team.index(f"?rep={book.alice.pk}") :]
    assert re.search(rf'<td class="num">{n_alice}</td>', row[: row.index("</tr>")])
    drill = _home(client, book.mia, rep=book.alice.pk)
    assert 'data-testid="home-rep"' in drill and "As you see them" in drill
    shown = _linked_customers(drill)
    assert shown and shown <= set(visible.filter(owner=book.alice).values_list("pk", flat=True))


def test_manager_cannot_drill_down_to_a_rep_outside_her_branches(client, book):
    elsewhere = Branch.objects.exclude(region=book.region).first()
    zed = make_user("zed", "rep")
    far = make_customer("Far Away Ltd", owner=zed, branch=elsewhere, region=elsewhere.region)
    CurrentScore.objects.create(
        customer=far, updated_at=timezone.now(), clv=100.0, value_class="other"
    )
    client.force_login(book.mia)
    assert client.get(reverse("home"), {"rep": zed.pk}).status_code == 404
    assert client.get(reverse("home"), {"rep": "x"}).status_code == 404
    client.force_login(book.alice)  # reps do not drill down at all
    assert client.get(reverse("home"), {"rep": book.bob.pk}).status_code == 404
    assert "Far Away Ltd" in _home(client, book.root, rep=zed.pk)


def test_analyst_home_shows_models_and_data_quality(client, book):
    page = _home(client, book.nora)
    models = _section(page, "models-block")
    assert f'href="/models/{book.run.pk}/"' in models
    quality = _section(page, "data-quality")
    assert (
        f'data-testid="no-owner">{Customer.objects.filter(owner__isnull=True).count()}<' in quality
    )
    assert f'data-testid="no-orders">{Customer.objects.filter(order_count=0).count()}<' in quality
    no_contacts = Customer.objects.filter(contacts__isnull=True).count()
    assert f'data-testid="no-contacts">{no_contacts}<' in quality


def test_admin_home_is_the_union(client, book):
    page = _home(client, book.root)
    for block in ("team", "value-classes", "nps-now", "sla", "models-block", "data-quality"):
        assert f'data-testid="{block}"' in page, block
    team = _section(page, "team")
    row = team[team.index(f"?rep={book.bob.pk}") :]
    n_bob = Customer.objects.filter(owner=book.bob).count()
    assert (
        escape(str(book.bob)) in row
        and f'<td class="num">{n_bob}</td>' in row[: row.index("</tr>")]
    )


@pytest.mark.parametrize("who", ["alice", "mia", "root", "nora", "maya", "carl", "kate"])
def test_home_query_count_is_bounded(client, book, who, django_assert_max_num_queries):
    user = make_user("kate", "account_manager") if who == "kate" else getattr(book, who)
    if who == "kate":
        for _i in range(3):
            make_customer(owner=user, is_key_account=True)
    client.force_login(user)
    with django_assert_max_num_queries(20):
        assert client.get(reverse("home")).status_code == 200
