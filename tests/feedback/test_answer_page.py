"""The thank-you page after a one-click answer: rendered once per survey and language, filled per answer."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory

from patron.feedback import links, views
from patron.feedback.models import Question, Response
from patron.feedback.services import QuestionInput, invitations_create, survey_create
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(db):
    return survey_create(
        name="Store visit",
        kind="nps",
        title_en="Your visit",
        questions=[
            QuestionInput("nps", "How likely are you to recommend us?", "您向朋友推荐我们的可能性有多大？"),
            QuestionInput("csat", "How satisfied were you with the staff?", "您对店员满意吗？"),
        ],
    )


def answer_path(survey, alice, name: str, language: str = "en") -> str:
    customer = make_customer(name, owner=alice, email=f"{name.lower()}@example.com", consent_survey=True)
    invitation = invitations_create(survey=survey, customers=[customer], channel="link", language=language).queued[0]
    return "/s/i/" + links.answer_token(invitation) + "/"


def form_of(html: str) -> str:
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action
    return action.group(1).replace("&amp;", "&")


def test_each_answer_gets_its_score_and_its_own_working_comment_form(survey, alice):
    pages = []
    for name, score in (("Ann", 3), ("Ben", 10)):
        client = Client(enforce_csrf_checks=True)
        page = client.get(answer_path(survey, alice, name), {"score": score})
        assert page.status_code == 200 and page["Cache-Control"] == "no-store"
        html = page.content.decode()
        assert f"Your score: {score}" in html and "How satisfied were you with the staff?" in html
        # No CSRF cookie: the signed token in the form's URL authorises the post.
        assert "csrftoken" not in page.cookies and "csrfmiddlewaretoken" not in html
        action = form_of(html)
        pages.append(action)
        assert client.post(action, {"comment": f"from {name}"}).status_code == 200
    assert pages[0] != pages[1]
    assert dict(Response.objects.values_list("score", "comment")) == {3: "from Ann", 10: "from Ben"}


def test_the_filled_page_is_the_page_the_template_renders(survey, alice):
    html = Client().get(answer_path(survey, alice, "Chen", language="zh-hans"), {"score": 6}).content.decode()
    response = Response.objects.select_related("survey").get()
    request = RequestFactory().get("/s/i/x/")
    full = views._public(
        request,
        "thanks.html",
        views._thanks_context(
            response.survey,
            "zh-hans",
            response=response,
            comment_url=form_of(html),
            comment_value="",
        ),
        language="zh-hans",
    ).content.decode()

    assert html == full
    assert "您对店员满意吗？" in html and 'lang="zh-hans"' in html


def test_an_edited_question_shows_on_the_next_answer(survey, alice):
    Client().get(answer_path(survey, alice, "Dee"), {"score": 8})
    question = Question.objects.get(survey=survey, position=2)
    question.text_en = "Was the store tidy?"
    question.save()
    html = Client().get(answer_path(survey, alice, "Eve"), {"score": 8}).content.decode()
    assert "Was the store tidy?" in html and "How satisfied were you with the staff?" not in html


def test_a_page_with_a_comment_is_rendered_in_full_and_escaped(survey, alice):
    client = Client()
    path = answer_path(survey, alice, "Fay")
    action = form_of(client.get(path, {"score": 2}).content.decode())
    client.post(action, {"comment": "<script>alert(1)</script> slow"})
    html = client.get(path).content.decode()  # back through the email link
    assert "&lt;script&gt;alert(1)&lt;/script&gt; slow" in html and "<script>alert(1)" not in html
    assert "Your score: 2" in html
