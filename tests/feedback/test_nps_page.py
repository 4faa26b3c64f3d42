"""The NPS analytics page: figures against a hand computation, visibility, bad input, query count.

The data set is described in tests/feedback/nps_data.py. By hand (P promoters, Pa passives,
D detractors; NPS = 100 (P - D) / n; se = 100 sqrt((pP + pD - (pP - pD)^2) / n); moe = 1.96 se):

* everyone (root): 10 3 9 6 8 0 10 2 -> P 3, Pa 1, D 4, n 8, NPS -12.5,
  se = 100 sqrt((.375 + .5 - .015625) / 8) = 32.78, moe 64.2 -> shown "-13 ± 64 (n = 8)"
  (floatformat rounds halves away from zero).
* alice (her customers only): 10 3 9 6 -> P 2, D 2, n 4, NPS 0, se 50, moe 98.
* January (root): 10 9 8 -> NPS 66.7; February: 3 6 0 10 2 -> P 1, D 4, n 5, NPS -60.
"""

from __future__ import annotations

import math
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patron.analytics.nps import compare_nps, nps_from_counts, weighted_nps
from patron.feedback.services.answers import response_create
from patron.insights import nps_selectors as sel
from patron.insights.nps_refresh import nps_figures_refresh
from tests.factories import make_customer
from tests.feedback.nps_data import at, build

URL = "/feedback/nps/"


@pytest.fixture
def data(alice, bob, north, south):
    return build(alice=alice, bob=bob, north=north, south=south)


def login(client, user):
    client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_url_name_and_login_required(client, data):
    assert reverse("feedback:nps") == URL
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_summary_matches_the_hand_computation(client, data, root):
    result = sel.nps_summary(root)
    assert (result.promoters, result.passives, result.detractors, result.n) == (3, 1, 4, 8)
    assert result.nps == pytest.approx(-12.5)
    se = 100 * math.sqrt((3 / 8 + 4 / 8 - (3 / 8 - 4 / 8) ** 2) / 8)
    assert result.moe == pytest.approx(1.96 * se, abs=0.01)
    page = text(login(client, root).get(URL))
    assert f"-13 ± {round(1.96 * se)} (n = 8)" in page  # floatformat rounds -12.5 away from zero
    assert "3 promoters, 1 passives, 4 detractors." in page


def test_a_rep_sees_only_their_customers_answers(client, data, alice):
    result = sel.nps_summary(alice)
    assert (result.n, result.nps) == (4, 0.0)
    assert result.moe == pytest.approx(98.0, abs=0.01)
    page = text(login(client, alice).get(URL))
    assert "0 ± 98 (n = 4)" in page
    # bob's customers and the anonymous kiosk answers are nowhere: one rep row, no "Not set" rep
    rep_table = page.split('data-testid="breakdown-rep"')[1].split("</table>")[0]
    assert rep_table.count("<tr") == 2  # header + alice
    assert "bob" not in rep_table
    # and the drill-down does not reveal bob's answers either
    drill = client.get(
        reverse("feedback:nps-responses"), {"dim": "rep", "key": data.customers["B1"].owner_id}
    )
    assert drill.status_code == 200
    assert "n = 0" in text(drill) and "Good value." not in text(drill)


def test_breakdowns_have_n_nps_and_margin_per_row(data, root):
    by = {b.dimension.code: {r.label: r.result for r in b.rows} for b in sel.nps_breakdowns(root)}
    rep = by["rep"]
    assert (rep["alice"].n, rep["alice"].nps) == (4, 0.0)
    assert (rep["bob"].n, rep["bob"].nps) == (2, -50.0)
    assert (rep["Not set"].n, rep["Not set"].nps) == (2, 0.0)  # the kiosk answers
    branch = by["branch"]  # where answered, else the customer's branch
    assert (branch["North One"].n, branch["North One"].nps) == (4, 0.0)
    assert (branch["South One"].n, branch["South One"].nps) == (4, -25.0)
    assert by["region"]["North"].n == 4 and by["region"]["South"].n == 4
    assert by["touchpoint"]["Purchase"].nps == pytest.approx(100 * (2 - 3) / 6)
    assert by["touchpoint"]["Branch"].n == 2
    assert by["channel"]["Kiosk"].n == 2 and by["channel"]["API"].n == 6
    seg = by["segment"]
    assert (seg["Champions"].n, seg["Champions"].nps) == (3, pytest.approx(100 / 3))
    assert (seg["At risk"].n, seg["At risk"].nps) == (1, -100.0)
    assert (seg["Not set"].n, seg["Not set"].nps) == (3, pytest.approx(-100 / 3))
    assert by["value_class"]["Most valuable"].n == 3
    for rows in by.values():
        for result in rows.values():
            expected = nps_from_counts(result.promoters, result.passives, result.detractors)
            assert result.moe == pytest.approx(expected.moe)


def test_breakdown_rows_link_to_the_answers_behind_them(client, data, root):
    page = login(client, root).get(URL).content.decode()
    links = re.findall(r'href="(/feedback/nps/responses/\?[^"]*dim=branch[^"]*)"', page)
    assert links
    south = next(link for link in links if f"key={data.customers['B1'].branch_id}" in link)
    drill = client.get(south.replace("&amp;", "&"))
    body = text(drill)
    assert drill.status_code == 200
    assert "-25 ±" in body and "(n = 4)" in body
    assert "Good value." in body and "The staff were friendly" not in body
    assert "/customers/?segment=champions" in page  # segment rows open the customer list


def test_trend_by_month_with_band_and_chart(client, data, root):
    points = sel.nps_trend(root)
    assert [p.label for p in points] == ["2026-01", "2026-02"]
    jan, feb = points
    assert (jan.result.n, jan.result.nps) == (3, pytest.approx(200 / 3))
    assert (feb.result.n, feb.result.nps) == (5, -60.0)
    assert jan.result.ci_low < jan.result.nps < jan.result.ci_high
    page = login(client, root).get(URL).content.decode()
    option = re.search(
        r'<script id="chart-nps-trend" type="application/json">(.*?)</script>', page, re.S
    )
    assert option and 'data-echarts="chart-nps-trend"' in page
    assert "-60.0" in option.group(1) and "66.7" in option.group(1)
    # a gap month is shown as a period without answers, not joined across
    response_create(survey=data.survey, score=9, channel="api", created_at=at(4, 1))
    labels = [(p.label, p.result.n) for p in sel.nps_trend(root)]
    assert labels == [("2026-01", 3), ("2026-02", 5), ("2026-03", 0), ("2026-04", 1)]
    quarters = sel.nps_trend(root, period="quarter")
    assert [(p.label, p.result.n) for p in quarters] == [("2026Q1", 8), ("2026Q2", 1)]
    assert client.get(URL, {"period": "week"}).status_code == 200


def test_summary_since_and_filters(data, root, south):
    assert sel.nps_summary(root, since=date(2026, 2, 1)).n == 5
    assert sel.nps_summary(root, filters=sel.NPSFilters(branch=south.pk)).n == 4
    assert (
        sel.nps_summary(
            root, filters=sel.NPSFilters(start=date(2026, 1, 1), end=date(2026, 1, 15))
        ).n
        == 2
    )


def test_two_period_comparison(client, data, root):
    response = login(client, root).get(
        URL,
        {
            "cmp": "periods",
            "a_start": "2026-01-01",
            "a_end": "2026-01-31",
            "b_start": "2026-02-01",
            "b_end": "2026-02-28",
        },
    )
    assert response.status_code == 200
    expected = compare_nps(nps_from_counts(2, 1, 0), nps_from_counts(1, 0, 4))
    # Adjusted Wald: 3/8 promoter, 3/4 passive, 3/8 detractor added to each group.
    pa, da, pb, db = 2.375 / 4.5, 0.375 / 4.5, 1.375 / 6.5, 4.375 / 6.5
    var = (pa + da - (pa - da) ** 2) / 4.5 + (pb + db - (pb - db) ** 2) / 6.5
    assert expected.z == pytest.approx((pa - da - pb + db) / math.sqrt(var))
    body = text(response)
    assert f"{expected.z:.2f}" in body and f"{expected.difference:.1f}" in body
    assert "A scores higher than B, and the difference is statistically significant" in body


def test_two_group_comparison_and_a_not_significant_verdict(client, data, root, north, south):
    response = login(client, root).get(
        URL, {"cmp": "groups", "group_a": f"branch:{north.pk}", "group_b": f"branch:{south.pk}"}
    )
    body = text(response)
    assert response.status_code == 200
    assert "Branch: North One" in body and "Branch: South One" in body
    assert "not statistically significant" in body


def test_value_weighted_nps_and_revenue_at_risk(client, data, root):
    # latest answer per customer: A1 3, A2 9, A3 6, B1 8, B2 0 (kiosk answers have no customer)
    figures = sel.value_figures(root)
    reference = weighted_nps([3, 9, 6, 8, 0], [1000, 3000, 500, 2000, 0])
    assert figures.weighted.nps == pytest.approx(100 * (3000 - 1500) / 6500)
    assert figures.weighted.moe == pytest.approx(reference.moe)
    assert figures.weighted.n_effective == pytest.approx(reference.n_effective)
    assert (figures.customers, figures.weighted_customers) == (5, 4)
    # detractors A1 (400 x .5), A3 (margin below zero counts 0), B2 (not scored)
    assert figures.revenue_at_risk == pytest.approx(200.0)
    assert (figures.detractor_customers, figures.unscored_detractors) == (3, 1)
    margin = sel.value_figures(root, weight="margin")
    assert margin.weighted.nps == pytest.approx(100 * (1000 - 400) / 1700)
    page = text(login(client, root).get(URL, {"weight": "margin"}))
    assert (
        "margin of the last 12 months" in page
        and '<p class="big" data-testid="revenue-at-risk">200</p>' in page
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-13-45"}, "Enter a valid date."),
        (
            {"start": "2026-03-01", "end": "2026-01-01"},
            "The start date must not be after the end date.",
        ),
        ({"survey": "abc"}, "Select a valid choice."),
        ({"survey": "999999"}, "Select a valid choice."),
        ({"branch": "-1"}, "Select a valid choice."),
        ({"period": "decade"}, "Select a valid choice."),
        ({"weight": "love"}, "Select a valid choice."),
        (
            {"cmp": "periods", "a_start": "2026-01-01"},
            "Give both dates of both periods to compare them.",
        ),
        (
            {"cmp": "groups", "group_a": "branch:1", "group_b": "segment:loyal"},
            "Compare two groups of the same kind",
        ),
        (
            {"cmp": "groups", "group_a": "branch:x", "group_b": "branch:1"},
            "Unknown group branch:x.",
        ),
        ({"cmp": "groups"}, "Choose two groups to compare."),
    ],
)
def test_bad_filters_get_a_clear_message(client, data, root, params, message):
    response = login(client, root).get(URL, params)
    assert response.status_code == 400
    assert message in text(response)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dim": "branch", "key": "north"}, "Unknown group branch:north."),
        ({"theme": "weather"}, "Unknown theme weather."),
        ({"dim": "planet"}, "Select a valid choice."),
        ({"page": "0"}, "greater than or equal to 1"),
    ],
)
def test_bad_drill_down_input_gets_a_clear_message(client, data, root, params, message):
    response = login(client, root).get(reverse("feedback:nps-responses"), params)
    assert response.status_code == 400
    assert message in text(response)


def _count_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_bounded_and_does_not_grow_with_the_data(
    client, data, root, alice, django_assert_max_num_queries
):
    login(client, root)
    with django_assert_max_num_queries(25):
        client.get(URL)
    before = _count_queries(client)
    for i in range(30):  # more customers, answers, months, branches' worth of rows
        customer = make_customer(f"More {i}", owner=alice)
        response_create(
            survey=data.survey,
            score=i % 11,
            channel="api",
            customer=customer,
            comment="ok",
            created_at=at(1 + i % 9, 3),
        )
    assert _count_queries(client) == before


def test_the_precomputed_default_view_shows_the_hand_computed_figures(client, data, root, alice):
    nps_figures_refresh()
    page = text(login(client, root).get(URL, {"weight": "margin"}))
    assert 'data-testid="figures-as-of"' in page
    assert "-13 ± 64 (n = 8)" in page and "3 promoters, 1 passives, 4 detractors." in page
    assert '<p class="big" data-testid="revenue-at-risk">200</p>' in page
    page = text(login(client, alice).get(URL))
    assert "0 ± 98 (n = 4)" in page
    rep_table = page.split('data-testid="breakdown-rep"')[1].split("</table>")[0]
    assert rep_table.count("<tr") == 2 and "bob" not in rep_table  # no kiosk answers either
    # a new answer shows after the next refresh, not before
    response_create(
        survey=data.survey, score=10, channel="api", customer=data.customers["A1"]
    )
    assert "0 ± 98 (n = 4)" in text(client.get(URL))
    nps_figures_refresh()
    assert "(n = 5)" in text(client.get(URL))


@pytest.mark.parametrize("language", ["en", "zh-hans", "zh-hant"])
@pytest.mark.parametrize("grouped", [False, True])
def test_table_cells_show_numbers_as_the_template_filters_do(settings, language, grouped):
    # The view formats the tables' cells itself (hundreds per page); they must read exactly as
    # `floatformat:0` and `{{ n }}` would, halves rounded away from zero and no "-0".
    from django.template import Context, Template
    from django.template.defaultfilters import floatformat
    from django.utils import translation

    from patron.insights.nps_views import _Numbers

    settings.USE_THOUSAND_SEPARATOR = grouped
    with translation.override(language):
        numbers = _Numbers()
        values = [-100.0, -62.5, -12.5, -0.5, -0.4999, -0.0, 0.0, 0.5, 2.5, 64.2, 1e-9, 12345.5]
        for value in values:
            assert numbers.whole(value) == floatformat(value, 0), value
        for n in [0, 7, 12345, 1234567]:
            assert numbers.count(n) == Template("{{ n }}").render(Context({"n": n}))
        assert numbers.whole(None) == ""
        if grouped and language != "en":
            assert numbers.count(1234567) == "1,234,567"  # patron.formats groups Chinese numbers
