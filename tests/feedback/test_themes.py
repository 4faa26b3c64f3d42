"""Comment sentiment and themes stored per response, and the root-cause view.

With the data set of tests/feedback/nps_data.py, comments by class (everyone):
detractors (4): delivery, delivery, price, delivery; promoters (3): delivery, service+staff,
service+staff; passive (1): price. So delivery is mentioned by 3/4 detractors and 1/3 promoters
(separation 41.7 points), price by 1/4 and 0/3 (25), service and staff by 0/4 and 2/3 (-66.7).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from django.core.management import call_command
from django.urls import reverse

from patron.analytics.text import analyse, theme_drivers
from patron.core.tokens import token_create
from patron.feedback.comments import decode_themes
from patron.feedback.models import FollowUp, FollowUpRule, Response
from patron.feedback.services.answers import response_create, response_update_comment
from patron.insights.theme_selectors import theme_report
from tests.factories import make_customer
from tests.feedback.nps_data import build

URL = "/feedback/themes/"


@pytest.fixture
def data(alice, bob, north, south):
    return build(alice=alice, bob=bob, north=north, south=south)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# ---------------------------------------------------------------- stored on every write path


def test_service_create_stores_sentiment_and_themes_in_both_languages(nps_survey):
    english = response_create(
        survey=nps_survey,
        score=2,
        channel="link",
        comment="The delivery was terribly slow and the courier never called.",
    )
    chinese = response_create(
        survey=nps_survey, score=3, channel="link", comment="价格太贵了，不值", language="zh-hans"
    )
    silent = response_create(survey=nps_survey, score=9, channel="link", comment="")
    for response, theme in [(english, "delivery"), (chinese, "price")]:
        stored = Response.objects.get(pk=response.pk)
        expected = analyse(stored.comment)
        assert (
            stored.sentiment == pytest.approx(expected.sentiment, abs=1e-4) and stored.sentiment < 0
        )
        assert decode_themes(stored.themes) == list(expected.themes) and theme in decode_themes(
            stored.themes
        )
    stored = Response.objects.get(pk=silent.pk)
    assert (stored.sentiment, stored.themes) == (None, "")


def test_changing_the_comment_on_the_thank_you_page_reanalyses_it(nps_survey):
    response = response_create(survey=nps_survey, score=9, channel="link", comment="")
    response_update_comment(
        response=response, comment="The staff were friendly and helpful, great service!"
    )
    stored = Response.objects.get(pk=response.pk)
    assert stored.sentiment > 0 and set(decode_themes(stored.themes)) == {"service", "staff"}
    response_update_comment(response=response, comment="")
    stored = Response.objects.get(pk=response.pk)
    assert (stored.sentiment, stored.themes) == (None, "")


def test_public_link_and_kiosk_store_the_analysis(client, nps_survey):
    page = reverse("feedback:kiosk", args=[nps_survey.public_key])
    response = client.post(page, {"score": "1", "comment": "物流太慢了，等了两个星期"})
    assert response.status_code == 200
    stored = Response.objects.get(survey=nps_survey)
    assert (
        stored.channel == "kiosk"
        and "delivery" in decode_themes(stored.themes)
        and stored.sentiment < 0
    )


def test_api_answer_stores_the_analysis(client, nps_survey, alice):
    customer = make_customer("Api customer", owner=alice)
    _t, raw = token_create(user=alice)
    response = client.post(
        "/api/v1/responses",
        {
            "survey": nps_survey.pk,
            "score": 4,
            "customer": customer.pk,
            "comment": "Prices are too high for what you get.",
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201, response.content
    stored = Response.objects.get(pk=response.json()["id"])
    assert decode_themes(stored.themes) == ["price"] and stored.sentiment < 0
    listed = client.get(
        f"/api/v1/responses?customer={customer.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}"
    ).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert items[0]["themes"] == ["price"] and items[0]["sentiment"] == pytest.approx(
        stored.sentiment
    )


def test_backfill_command_analyses_comments_stored_without_analysis(nps_survey):
    old = Response.objects.create(
        survey=nps_survey,
        score=2,
        score_class="detractor",
        comment="Parcel arrived late again, shipping is awful.",
        touchpoint="purchase",
        channel="api",
    )
    blank = Response.objects.create(
        survey=nps_survey, score=9, score_class="promoter", touchpoint="purchase", channel="api"
    )
    assert Response.objects.get(pk=old.pk).sentiment is None
    call_command("analyse_comments", verbosity=0)
    stored = Response.objects.get(pk=old.pk)
    assert stored.sentiment < 0 and decode_themes(stored.themes) == ["delivery"]
    assert Response.objects.get(pk=blank.pk).themes == ""
    # --all re-analyses what is there (e.g. after the taxonomy changed)
    Response.objects.filter(pk=old.pk).update(themes=",price,")
    call_command("analyse_comments", verbosity=0)
    assert Response.objects.get(pk=old.pk).themes == ",price,"  # already analysed: left alone
    call_command("analyse_comments", "--all", verbosity=0)
    assert Response.objects.get(pk=old.pk).themes == ",delivery,"


def test_a_sentiment_rule_uses_the_stored_sentiment(nps_survey, alice):
    FollowUpRule.objects.create(name="Unhappy words", sentiment_below=-0.3)
    customer = make_customer("Passive but angry", owner=alice)
    response_create(
        survey=nps_survey,
        score=8,
        channel="api",
        customer=customer,
        comment="Delivery took two weeks, very disappointing.",
    )
    calm = make_customer("Passive and calm", owner=alice)
    response_create(
        survey=nps_survey, score=8, channel="api", customer=calm, comment="Good value."
    )
    assert list(FollowUp.objects.values_list("customer__name", flat=True)) == ["Passive but angry"]


# ---------------------------------------------------------------- the root-cause view


def test_theme_report_matches_the_hand_computation(data, root):
    report = theme_report(root)
    assert (report.comments, report.detractors, report.promoters, report.not_analysed) == (
        8,
        4,
        3,
        0,
    )
    rows = {r.code: r for r in report.rows}
    assert [r.code for r in report.rows] == ["delivery", "price", "service", "staff"]
    delivery = rows["delivery"]
    assert (delivery.mentions, delivery.detractor_mentions, delivery.promoter_mentions) == (4, 3, 1)
    assert delivery.separation == pytest.approx(3 / 4 - 1 / 3)
    assert delivery.nps_with == pytest.approx(100 * (1 - 3) / 4)
    assert rows["price"].separation == pytest.approx(1 / 4)
    assert rows["staff"].separation == pytest.approx(-2 / 3)
    # examples: detractors' comments for a complaint theme, the most negative first
    assert all(e.score_class == "detractor" for e in delivery.examples)
    assert len(delivery.examples) == 3
    assert delivery.examples[0].sentiment == min(e.sentiment for e in delivery.examples)
    assert all(e.score_class == "promoter" for e in rows["staff"].examples)


def test_significance_agrees_with_the_analytics_core(data, root):
    answers = Response.objects.exclude(comment="").values_list("score", "comment", "themes")
    frame = pd.DataFrame(
        [(s, c, tuple(decode_themes(t))) for s, c, t in answers],
        columns=["score", "comment", "themes"],
    )
    reference = theme_drivers(frame, themes_col="themes").set_index("theme")
    for row in theme_report(root).rows:
        ref = reference.loc[row.code]
        assert row.z == pytest.approx(ref["z"])
        assert row.p_value == pytest.approx(ref["p_value"])
        assert row.q_value == pytest.approx(ref["q_value"])
        assert row.separation == pytest.approx(ref["share_diff"])


def test_themes_page_shows_table_chart_and_linked_examples(client, data, root):
    client.force_login(root)
    response = client.get(URL)
    assert response.status_code == 200 and reverse("feedback:themes") == URL
    page = response.content.decode()
    assert (
        'data-echarts="chart-themes"' in page
        and '<script id="chart-themes" type="application/json">' in page
    )
    table = page.split('data-testid="themes"')[1].split("</table>")[0]
    assert (
        table.index('data-theme="delivery"')
        < table.index('data-theme="price"')
        < table.index('data-theme="staff"')
    )
    examples = page.split('data-testid="examples-delivery"')[1].split("</ul>")[0]
    assert data.customers["A1"].get_absolute_url() in examples
    assert "物流太慢了" in examples  # Chinese and English comments side by side
    # a theme's count opens the answers behind it
    link = re.search(
        r'href="(/feedback/nps/responses/\?[^"]*theme=delivery[^"]*score_class=detractor[^"]*)"',
        page,
    )
    drill = client.get(link.group(1).replace("&amp;", "&"))
    body = text(drill)
    assert drill.status_code == 200 and "(n = 3)" in body and "Good value." not in body


def test_a_rep_sees_only_their_customers_comments(client, data, alice):
    report = theme_report(alice)
    assert (report.comments, report.detractors, report.promoters) == (4, 2, 2)
    delivery = next(r for r in report.rows if r.code == "delivery")
    assert (delivery.detractor_mentions, delivery.promoter_mentions) == (2, 1)
    client.force_login(alice)
    page = text(client.get(URL))
    assert (
        "Parcel arrived late" not in page and "价格太贵了" not in page
    )  # kiosk and bob's customer
    assert "The delivery was terribly slow" in page


def test_chinese_interface_shows_chinese_theme_labels(client, data, root):
    client.force_login(root)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(URL).content.decode()
    assert "物流" in page.split('data-testid="themes"')[1].split("</table>")[0]


def test_bad_filters_get_a_clear_message(client, data, root):
    client.force_login(root)
    response = client.get(URL, {"end": "yesterday"})
    assert response.status_code == 400 and "Enter a valid date." in text(response)


def test_query_count_is_bounded(client, data, root, django_assert_max_num_queries):
    client.force_login(root)
    # filters (2), report (1), examples (one per theme in the taxonomy, at most 12), session and user
    with django_assert_max_num_queries(20):
        assert client.get(URL).status_code == 200
