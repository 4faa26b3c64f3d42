"""The NPS page's precomputed default view: the same numbers as the live selectors, for every
role, as of the last refresh; refreshed by the scoring run and the worker; bounded queries.

The data: a generated, scored book (tests/web/scored.py; its NPS answers come from the
generator) plus built answers covering the edges: anonymous kiosk answers, an answer given at
another branch than the customer's, two answers of one customer at the same instant (the higher
id is the latest), answers just before and after local midnight at the turn of a week, month,
quarter and year, customers without owner, without branch or without score, weights below zero,
and a CSAT answer (not NPS, never counted).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patron.customers.models import Customer
from patron.feedback.models import NpsFigures, Response, SurveyKind
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.insights import nps_figures
from patron.insights import nps_selectors as sel
from patron.insights.models import CurrentScore
from patron.insights.nps_refresh import nps_figures_refresh
from tests.factories import make_customer, make_user
from tests.feedback.conftest import run_worker
from tests.web.scored import scored_book

pytestmark = pytest.mark.django_db

URL = "/feedback/nps/"


def local(*args: int) -> datetime:
    return timezone.make_aware(datetime(*args))


def _add_answers(book) -> None:
    survey = survey_create(name="Relationship NPS", kind="nps")
    csat = survey_create(name="Delivery CSAT", kind="csat")
    branches = list(book.region.branches.order_by("pk"))
    other = Customer.objects.exclude(region=book.region).exclude(branch__isnull=True).first().branch
    tied = make_customer("Tied", owner=book.alice, branch=branches[0])
    CurrentScore.objects.create(
        customer=tied,
        updated_at=timezone.now(),
        clv=-20,
        profit_12m=None,
        churn_risk=0.4,
        rfm_segment="",
        value_class="",
    )
    moment = local(2025, 6, 30, 23, 59)  # Monday night, last day of a month and quarter
    response_create(
        survey=survey, score=10, channel="api", customer=tied, created_at=moment
    )
    response_create(
        survey=survey, score=2, channel="api", customer=tied, created_at=moment
    )
    nobody = make_customer("Nobody's", branch=branches[-1])  # no owner, no score
    regional = make_customer("Regional", owner=book.bob, region=book.region)  # no branch
    lost = make_customer("Lost")  # no owner, branch or region: only whole-book roles see it
    edges = [
        local(2024, 12, 31, 23, 59),
        local(2025, 1, 1, 0, 0),
        local(2025, 3, 30, 23, 30),
        local(2025, 3, 31, 0, 15),
        local(2025, 9, 28, 23, 59),
        local(2025, 9, 29, 0, 0),
    ]
    for i, (customer, when) in enumerate(
        zip([nobody, regional, lost, nobody, regional, lost], edges, strict=True)
    ):
        response_create(
            survey=survey,
            score=i * 2,
            channel="email",
            customer=customer,
            created_at=when,
            touchpoint="delivery",
        )
    # Given at a branch of another region: the branch and region rows follow the answer.
    response_create(
        survey=survey,
        score=9,
        channel="kiosk",
        customer=regional,
        branch=other,
        created_at=local(2025, 10, 2, 9, 0),
    )
    for day, score in [(3, 10), (4, 1), (5, 7)]:
        response_create(
            survey=survey,
            score=score,
            channel="kiosk",
            branch=branches[0],
            created_at=local(2025, 11, day, 15, 0),
        )
    response_create(survey=csat, score=1, channel="api", customer=regional)


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    generated = scored_book(django_db_blocker, n_customers=300, seed=31)
    book = next(generated)
    with django_db_blocker.unblock():
        # The scoring run refreshed the figures at its end (before any answer below).
        book.run_refreshed = list(
            NpsFigures.objects.filter(kind=NpsFigures.Kind.TOTAL).values_list("figures", flat=True)
        )
        book.max = make_user(
            "max", "manager", branches=[book.region.branches.order_by("pk").last()]
        )
        _add_answers(book)
        nps_figures_refresh()
    yield book
    next(generated, None)  # flushes the database


def _users(book):
    return {
        "admin": book.root,
        "rep": book.alice,
        "manager (region)": book.mia,
        "manager (branch)": book.max,
        "cx": book.carl,
    }


def _rows(breakdown: sel.Breakdown):
    return [(r.key, r.label, r.result) for r in breakdown.rows]


def _same_value(pre: sel.ValueFigures, live: sel.ValueFigures) -> None:
    assert (
        pre.customers,
        pre.weighted_customers,
        pre.detractor_customers,
        pre.unscored_detractors,
    ) == (
        live.customers,
        live.weighted_customers,
        live.detractor_customers,
        live.unscored_detractors,
    )
    assert pre.revenue_at_risk == pytest.approx(live.revenue_at_risk, rel=1e-9, abs=1e-6)
    for field in ("nps", "moe", "n_effective"):
        a, b = getattr(pre.weighted, field), getattr(live.weighted, field)
        assert (a is None) == (b is None), field
        if a is not None:
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9), field


def test_the_scoring_run_refreshes_the_figures(book):
    (figures,) = book.run_refreshed
    generated = Response.objects.filter(survey__name="Post-purchase NPS (generated)").count()
    assert sum(figures["counts"]) == generated > 0


def test_the_data_covers_what_it_should(book):
    answers = Response.objects.filter(survey__kind=SurveyKind.NPS)
    assert answers.count() > 100
    assert answers.filter(customer__isnull=True).count() == 3
    assert NpsFigures.objects.filter(kind=NpsFigures.Kind.ANONYMOUS).count() == 1
    assert Response.objects.exclude(survey__kind=SurveyKind.NPS).exists()


@pytest.mark.parametrize("role", ["admin", "rep", "manager (region)", "manager (branch)", "cx"])
def test_precomputed_figures_equal_the_live_ones(book, role):
    user = _users(book)[role]
    pre = sel.precomputed(user)
    assert pre is not None
    summary = sel.summary_from(pre.figures)
    assert summary == sel.nps_summary(user)
    assert summary.n > 0
    for period in sel.PERIODS:
        assert sel.trend_from(pre.figures, period) == sel.nps_trend(user, period=period)
    live_breakdowns = sel.nps_breakdowns(user)
    pre_breakdowns = sel.breakdowns_from(pre.figures)
    assert [b.dimension.code for b in pre_breakdowns] == list(sel.DIMENSIONS)
    for a, b in zip(pre_breakdowns, live_breakdowns, strict=True):
        assert _rows(a) == _rows(b), a.dimension.code
    for weight in sel.WEIGHTS:
        _same_value(sel.value_from(pre.figures, weight), sel.value_figures(user, weight=weight))
    # A group comparison: the two largest rows of each breakdown, and the unset row.
    for b in live_breakdowns:
        keys = [r.key for r in b.rows[:2]] + [None]
        for ka, kb in [(keys[0], keys[-1]), (keys[0], keys[1] if len(keys) > 2 else None)]:
            live = sel.nps_compare(
                user, sel.NPSFilters(), dimension=b.dimension.code, key_a=ka, key_b=kb
            )
            assert sel.group_comparison_from(pre.figures, b.dimension.code, ka, kb) == live


def test_the_groups_add_up_to_the_whole(book):
    def summed(*kinds):
        return nps_figures.add(
            NpsFigures.objects.filter(kind__in=kinds).values_list("figures", flat=True)
        )

    kind = NpsFigures.Kind
    total = NpsFigures.objects.get(kind=kind.TOTAL).figures
    assert _close(summed(kind.SLICE, kind.ANONYMOUS), total)
    assert _close(summed(kind.PAIR), summed(kind.SLICE))
    assert _close(summed(kind.PAIR, kind.ANONYMOUS), total)


def test_roles_see_what_their_visibility_allows(book, django_assert_num_queries):
    rep = sel.summary_from(sel.precomputed(book.alice).figures)
    admin = sel.summary_from(sel.precomputed(book.root).figures)
    assert 0 < rep.n < admin.n
    # the rep's figures count no anonymous answer and no customer of another owner
    assert (
        rep.n
        == Response.objects.filter(survey__kind=SurveyKind.NPS, customer__owner=book.alice).count()
    )
    # a manager reads their branches' rows, not one row per rep and branch
    with django_assert_num_queries(3):
        assert sel.precomputed(book.mia) is not None
    with django_assert_num_queries(1):
        assert sel.precomputed(book.carl) is not None


def _close(a, b) -> bool:
    """Equal structures, numbers equal up to float rounding of the sums."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_close, a, b))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-6)
    return a == b


def _text(response) -> str:
    page = re.sub(r"\s+", " ", response.content.decode())
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)  # new per request


def _without_as_of(page: str) -> str:
    return re.sub(r'<p class="muted" data-testid="figures-as-of">.*?</p> ', "", page)


@pytest.mark.parametrize("role", ["admin", "rep", "manager (region)", "manager (branch)", "cx"])
def test_the_page_shows_the_same_numbers_as_when_counted_live(client, book, role):
    user = _users(book)[role]
    client.force_login(user)
    queries = [{}, {"period": "week", "weight": "margin"}, {"period": "quarter"}]
    b = sel.nps_breakdowns(user)[2]  # branch
    if len(b.rows) >= 2:
        queries.append(
            {
                "cmp": "groups",
                "group_a": f"branch:{b.rows[0].key or ''}",
                "group_b": f"branch:{b.rows[1].key or ''}",
            }
        )
    precomputed = [_text(client.get(URL, q)) for q in queries]
    assert all('data-testid="figures-as-of"' in page for page in precomputed)
    NpsFigures.objects.all().delete()  # a fresh install: counted live
    live = [_text(client.get(URL, q)) for q in queries]
    assert all('data-testid="figures-as-of"' not in page for page in live)
    for pre_page, live_page in zip(precomputed, live, strict=True):
        assert _without_as_of(pre_page) == live_page


def test_the_page_says_when_the_figures_were_computed(client, book):
    NpsFigures.objects.update(computed_at=local(2026, 11, 23, 14, 10))
    client.force_login(book.root)
    page = _text(client.get(URL))
    assert (
        "Figures as of Nov. 23, 2026, 2:10 p.m.; filtered views and period comparisons are counted live."
        in page
    )
    client.cookies["django_language"] = "zh-hans"
    assert "2026年11月23日" in _text(client.get(URL))
    # a filtered view is counted live and says nothing about precomputed figures
    filtered = _text(client.get(URL, {"start": "2025-01-01"}))
    assert 'data-testid="figures-as-of"' not in filtered


def test_the_refresh_job_picks_up_a_new_answer_and_skips_when_nothing_changed(client, book):
    assert nps_figures_refresh(only_if_changed=True) is False  # nothing new since the fixture
    before = sel.summary_from(sel.precomputed(book.alice).figures)
    customer = Customer.objects.filter(owner=book.alice).first()
    survey = Response.objects.filter(survey__kind=SurveyKind.NPS).first().survey
    response_create(survey=survey, score=10, channel="api", customer=customer)
    # not yet: the page shows the figures as of the last refresh
    assert sel.summary_from(sel.precomputed(book.alice).figures) == before
    from patron.insights import tasks

    tasks.nps_figures_refresh.enqueue("2026-11-23T14:10")
    run_worker()  # what `patron worker` does
    after = sel.summary_from(sel.precomputed(book.alice).figures)
    assert (after.n, after.promoters) == (before.n + 1, before.promoters + 1)
    assert after == sel.nps_summary(book.alice)
    client.force_login(book.alice)
    assert f"(n = {after.n})" in _text(client.get(URL))
    assert nps_figures_refresh(only_if_changed=True) is False


def test_the_refresh_is_registered_every_ten_minutes():
    from patron.core import scheduler

    job = next(j for j in scheduler.jobs() if j.name == "nps_figures_refresh")
    assert job.period(local(2026, 11, 23, 14, 17)) == "2026-11-23T14:10"


def _count(client, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL, params or {}).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["admin", "manager (region)", "rep"])
def test_query_count_is_bounded_and_does_not_grow_with_answers(client, book, role):
    user = _users(book)[role]
    client.force_login(user)
    before = _count(client)
    assert before <= 11  # session, user, 2 filter lists, figures (2), 3 labels, 1 for live periods
    survey = Response.objects.filter(survey__kind=SurveyKind.NPS).first().survey
    customers = list(Customer.objects.order_by("pk")[:40])
    start = local(2023, 1, 2, 12, 0)
    for i, customer in enumerate(customers):  # new weeks, months, quarters, customers
        response_create(
            survey=survey,
            score=i % 11,
            channel="api",
            customer=customer,
            created_at=start + timedelta(days=9 * i),
        )
    nps_figures_refresh()
    assert _count(client) == before
