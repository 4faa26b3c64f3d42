"""The themes page's precomputed default view: the same report as the live count (rows, counts,
shares, significance, example comments in order) for every role, as of the last refresh;
bounded queries; a fresh install counts live.

The data: a generated, scored book (tests/web/scored.py, whose NPS answers carry analysed
comments) plus built answers covering the edges of the example comments' order and of the
counts: anonymous kiosk comments, two detractors' comments with the same sentiment at the same
instant in two slices (the higher id first), comments not analysed yet (no sentiment: counted as
pending, last among examples), a theme text with a repeated and an unknown code, and a theme
text without a comment (never counted).
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patron.customers.models import Customer
from patron.feedback.models import NpsFigures, Response, ScoreClass, SurveyKind
from patron.feedback.services.answers import response_create, response_update_comment
from patron.feedback.services.surveys import survey_create
from patron.insights.nps_refresh import nps_figures_refresh
from patron.insights.theme_selectors import ThemeReport, theme_report
from tests.factories import make_customer, make_user
from tests.web.scored import scored_book

pytestmark = pytest.mark.django_db

URL = "/feedback/themes/"
ROLES = ["admin", "rep", "manager (region)", "manager (branch)", "cx"]


def local(*args: int) -> datetime:
    return timezone.make_aware(datetime(*args))


def _answer(survey, score: int, **fields) -> Response:
    """An answer written as stored, analysis included (bypasses the analysis of the services)."""
    score_class = (
        ScoreClass.DETRACTOR if score <= 6 else ScoreClass.PASSIVE if score <= 8 else "promoter"
    )
    return Response.objects.create(
        survey=survey,
        score=score,
        score_class=score_class,
        touchpoint="purchase",
        channel=fields.pop("channel", "api"),
        **fields,
    )


def _add_answers(book) -> dict[str, list[int]]:
    survey = survey_create(name="Relationship NPS", kind="nps")
    branches = list(book.region.branches.order_by("pk"))
    mine = make_customer("Alice's", owner=book.alice, branch=branches[0])
    theirs = make_customer("Bob's in the region", owner=book.bob, branch=branches[-1])
    soon = local(2027, 1, 4, 9, 30)  # after every generated answer: first among equals
    tie = [
        _answer(
            survey,
            1,
            customer=c,
            created_at=soon,
            comment="Late again.",
            sentiment=-1.0,
            themes=",delivery,",
        ).pk
        for c in (mine, theirs)
    ]
    kiosk = [  # anonymous: the first delivery example after the tie, for who may see it
        _answer(
            survey,
            0,
            channel="kiosk",
            branch=branches[0],
            created_at=local(2027, 1, 4, 9, 29),
            comment="Parcel arrived late again, shipping is awful.",
            sentiment=-1.0,
            themes=",delivery,",
        ).pk,
        response_create(
            survey=survey,
            score=10,
            channel="kiosk",
            branch=branches[0],
            comment="The staff were friendly and helpful, great service!",
            language="en",
        ).pk,
    ]
    pending = [
        _answer(
            survey, 2, customer=c, created_at=soon, comment="Stored before analysis.", **extra
        ).pk
        for c, extra in [
            (mine, {"themes": ",delivery,"}),
            (theirs, {}),
            (None, {"themes": ",price,", "channel": "kiosk"}),
        ]
    ]
    odd = [
        _answer(
            survey,
            9,
            customer=mine,
            created_at=local(2026, 12, 5, 10, 0),
            comment="Quick and friendly.",
            sentiment=0.5,
            themes=",staff,staff,no_such_theme,",
        ).pk,
        _answer(survey, 3, customer=theirs, comment="", themes=",price,").pk,  # no comment
    ]
    return {"tie": tie, "kiosk": kiosk, "pending": pending, "odd": odd}


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    generated = scored_book(django_db_blocker, n_customers=300, seed=37)
    book = next(generated)
    with django_db_blocker.unblock():
        book.max = make_user(
            "max", "manager", branches=[book.region.branches.order_by("pk").last()]
        )
        book.built = _add_answers(book)
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


def _rows(report: ThemeReport):
    return [
        (
            r.code,
            r.label,
            r.mentions,
            r.detractor_mentions,
            r.promoter_mentions,
            r.detractor_share,
            r.promoter_share,
            r.separation,
            r.z,
            r.p_value,
            r.q_value,
            r.nps_with,
            r.nps_without,
            [e.pk for e in r.examples],
        )
        for r in report.rows
    ]


def _totals(report: ThemeReport):
    return (report.comments, report.detractors, report.promoters, report.not_analysed)


def test_the_data_covers_what_it_should(book):
    commented = Response.objects.filter(survey__kind=SurveyKind.NPS).exclude(comment="")
    assert commented.exclude(themes="").count() > 50  # the generator's analysed comments
    assert commented.filter(customer__isnull=True).count() == 3
    assert commented.filter(sentiment__isnull=True).count() == 3


@pytest.mark.parametrize("role", ROLES)
def test_the_precomputed_report_equals_the_live_one(book, role):
    user = _users(book)[role]
    pre = theme_report(user)
    live = theme_report(user, precomputed=False)
    assert pre.computed_at is not None and live.computed_at is None
    assert _totals(pre) == _totals(live)
    assert _rows(pre) == _rows(live)
    assert len(pre.rows) >= 3 and all(r.examples for r in pre.rows)


def test_roles_see_their_own_comments_and_examples(book):
    admin, rep, region = (theme_report(u) for u in (book.root, book.alice, book.mia))
    assert 0 < rep.comments < admin.comments and 0 < region.comments < admin.comments
    tie, kiosk, pending, _odd = book.built.values()
    # Same sentiment, same instant: the higher id first; seen by whoever sees both slices.
    assert _examples(admin, "delivery")[:2] == sorted(tie, reverse=True)
    assert _examples(region, "delivery")[:2] == sorted(tie, reverse=True)
    assert _examples(rep, "delivery")[0] == tie[0]
    assert tie[1] not in _examples(rep, "delivery")
    # Anonymous comments: the organisation-wide roles only.
    assert _examples(admin, "delivery") == [*sorted(tie, reverse=True), kiosk[0]]
    assert kiosk[0] not in _examples(region, "delivery")
    assert theme_report(book.carl).comments == admin.comments
    assert admin.comments == (
        Response.objects.filter(survey__kind=SurveyKind.NPS).exclude(comment="").count()
    )
    assert admin.not_analysed == 3 and rep.not_analysed == 1 and region.not_analysed == 2
    seen_by_rep = {e.pk for r in rep.rows for e in r.examples}
    assert not seen_by_rep & {*kiosk, pending[2]}
    # A comment not analysed yet comes after every analysed one.
    assert pending[0] not in _examples(admin, "delivery")


def _examples(report: ThemeReport, code: str) -> list[int]:
    return [e.pk for e in next(r for r in report.rows if r.code == code).examples]


def test_repeated_and_unknown_codes_and_textless_themes_count_as_the_live_view_does(book):
    report = theme_report(book.root)
    assert "no_such_theme" not in {r.code for r in report.rows}
    staff = next(r for r in report.rows if r.code == "staff")
    commented = Response.objects.filter(survey__kind=SurveyKind.NPS).exclude(comment="")
    promoters = commented.filter(score_class=ScoreClass.PROMOTER, themes__contains=",staff,")
    assert staff.promoter_mentions == promoters.count()  # ",staff,staff," counts once
    textless = book.built["odd"][1]  # themes stored without a comment: never counted
    price = next(r for r in report.rows if r.code == "price")
    assert price.detractor_mentions == (
        commented.filter(score_class=ScoreClass.DETRACTOR, themes__contains=",price,").count()
    )
    assert textless not in {e.pk for r in report.rows for e in r.examples}


def test_a_filtered_view_and_a_fresh_install_are_counted_live(book):
    from patron.insights.nps_selectors import NPSFilters

    filtered = theme_report(book.root, NPSFilters(start=local(2025, 1, 1).date()))
    assert filtered.computed_at is None
    rows = list(NpsFigures.objects.values_list("pk", "figures"))
    for pk, figures in rows:  # figures refreshed before themes were kept: counted live
        figures.pop("themes")
        NpsFigures.objects.filter(pk=pk).update(figures=figures)
    assert theme_report(book.root).computed_at is None
    assert theme_report(book.mia).computed_at is None
    NpsFigures.objects.all().delete()  # a fresh install
    report = theme_report(book.alice)
    assert report.computed_at is None and _rows(report) == _rows(
        theme_report(book.alice, precomputed=False)
    )


def test_a_rep_without_answers_gets_an_empty_report_from_the_figures(client, book):
    newcomer = make_user("nina", "rep")
    report = theme_report(newcomer)
    assert report.computed_at is not None
    assert (_totals(report), report.rows) == ((0, 0, 0, 0), [])
    assert _totals(theme_report(newcomer, precomputed=False)) == (0, 0, 0, 0)
    client.force_login(newcomer)
    assert "No comment in this selection mentions a theme." in _text(client.get(URL))


def _text(response) -> str:
    page = re.sub(r"\s+", " ", response.content.decode())
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)  # new per request


def _without_as_of(page: str) -> str:
    return re.sub(r'<p class="muted" data-testid="figures-as-of">.*?</p> ', "", page)


@pytest.mark.parametrize("role", ROLES)
def test_the_page_is_the_same_as_when_counted_live(client, book, role):
    user = _users(book)[role]
    client.force_login(user)
    precomputed = _text(client.get(URL))
    assert 'data-testid="figures-as-of"' in precomputed
    assert 'data-testid="examples-' in precomputed
    NpsFigures.objects.all().delete()  # a fresh install: counted live
    live = _text(client.get(URL))
    assert 'data-testid="figures-as-of"' not in live
    assert _without_as_of(precomputed) == live


def test_the_page_says_when_the_figures_were_computed(client, book):
    NpsFigures.objects.update(computed_at=local(2026, 11, 23, 14, 10))
    client.force_login(book.root)
    page = _text(client.get(URL))
    assert "Figures as of Nov. 23, 2026, 2:10 p.m.; filtered views are counted live." in page
    assert "period comparisons" not in page  # the themes page has none
    client.cookies["django_language"] = "zh-hans"
    assert "数据截至 2026年11月23日" in _text(client.get(URL)) and "筛选视图为实时统计" in _text(client.get(URL))
    client.cookies["django_language"] = "zh-hant"
    assert "篩選檢視為即時統計" in _text(client.get(URL))
    client.cookies["django_language"] = "zh-hans"
    filtered = _text(client.get(URL, {"start": "2025-01-01"}))
    assert 'data-testid="figures-as-of"' not in filtered


def test_a_comment_added_on_the_thank_you_page_is_picked_up_by_the_periodic_refresh(book):
    assert nps_figures_refresh(only_if_changed=True) is False  # nothing new since the fixture
    silent = Response.objects.filter(survey__kind=SurveyKind.NPS, comment="").first()
    before = theme_report(book.root).comments
    response_update_comment(
        response=silent, comment="Prices are too high for what you get."
    )
    assert theme_report(book.root).comments == before  # as of the last refresh
    assert nps_figures_refresh(only_if_changed=True) is True
    assert theme_report(book.root).comments == before + 1


def _count(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["admin", "manager (region)", "rep"])
def test_query_count_is_bounded_and_does_not_grow_with_answers(client, book, role):
    client.force_login(_users(book)[role])
    before = _count(client)
    # session, user, 2 filter lists, figures (1 or 3), the examples (1)
    assert before <= 8
    survey = Response.objects.filter(survey__kind=SurveyKind.NPS).first().survey
    comments = [
        "The delivery was terribly slow and the courier never called.",
        "Prices are too high for what you get.",
        "The staff were friendly and helpful, great service!",
    ]
    for i, customer in enumerate(Customer.objects.order_by("pk")[:30]):
        response_create(
            survey=survey,
            score=i % 11,
            channel="api",
            customer=customer,
            comment=comments[i % 3],
            language="en",
        )
    nps_figures_refresh()
    assert _count(client) == before
