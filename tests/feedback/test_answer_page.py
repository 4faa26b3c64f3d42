"""The thank-you page after a one-click answer: rendered once per survey and language, filled per answer."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client, RequestFactory

from patron.feedback import links, public
from patron.feedback.models import Question, Response
from patron.feedback.services.invitations import invitations_create
from patron.feedback.services.surveys import QuestionInput, survey_create
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(db):
    return survey_create(
        name="Store visit",
        kind="nps",
        title_en="Your visit",
        questions=[
            QuestionInput(
                "nps", "How likely are you to recommend us?", "您向朋友推荐我们的可能性有多大？"
            ),
            QuestionInput("csat", "How satisfied were you with the staff?", "您对店员满意吗？"),
        ],
    )


def answer_path(survey, alice, name: str, language: str = "en") -> str:
    customer = make_customer(
        name, owner=alice, email=f"{name.lower()}@example.com", consent_survey=True
    )
    invitation = invitations_create(
        survey=survey, customers=[customer], channel="link", language=language
    ).queued[0]
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
    html = (
        Client()
        .get(answer_path(survey, alice, "Chen", language="zh-hans"), {"score": 6})
        .content.decode()
    )
    response = Response.objects.select_related("survey").get()
    request = RequestFactory().get("/s/i/x/")
    full = public._public(
        request,
        "thanks.html",
        public._thanks_context(
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


def _wsgi_get(path: str, query: str = "", cookie: str = "") -> tuple[str, dict[str, str], str]:
    """GET through the deployed WSGI application (as gunicorn calls it), in this test's transaction."""
    import io
    from wsgiref.util import setup_testing_defaults

    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from patron.config.wsgi import application

    environ: dict = {
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(),
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    setup_testing_defaults(environ)
    started: dict = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers

    # As Django's test client does: the handler would otherwise close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(application(environ, start_response)).decode()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    headers: dict[str, str] = {}
    for name, value in started["headers"]:
        headers[name] = f"{headers[name]}; {value}" if name in headers else value
    return started["status"], headers, body


def test_answer_links_take_the_short_middleware_stack_with_the_same_page_and_headers(survey, alice):
    path = answer_path(survey, alice, "Gao")
    status, headers, html = _wsgi_get(path, "score=4")
    assert status.startswith("200") and "Your score: 4" in html
    assert Response.objects.get(customer__name="Gao").score == 4
    # Security headers still set; no session or CSRF cookie for a one-click answer.
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in headers
    # The visitor's language cookie still picks the language of an error page.
    status, _headers, html = _wsgi_get(
        "/s/i/forged-token/", "score=4", cookie="django_language=zh-hans"
    )
    assert status.startswith("403") and 'lang="zh-hans"' in html
    # Other pages keep the whole stack: the login page sets its CSRF cookie.
    status, headers, _html = _wsgi_get("/login/")
    assert status.startswith("200") and "csrftoken" in headers.get("Set-Cookie", "")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement answer is PostgreSQL's"
)
def test_the_one_statement_answer_stores_what_the_general_path_stores(survey, alice, monkeypatch):
    from patron.feedback.models import FollowUp
    from patron.feedback.services import events

    fast = answer_path(survey, alice, "Han")
    assert Client().get(fast, {"score": 2}).status_code == 200
    # With an outbound webhook listening the answer takes the general path (claim, inserts and
    # the webhook's delivery in one transaction).
    monkeypatch.setattr(events, "listening", lambda *events: True)
    general = answer_path(survey, alice, "Hou")
    assert Client().get(general, {"score": 2}).status_code == 200
    skip = {
        "id",
        "customer_id",
        "invitation_id",
        "created_at",
        "response_id",
        "opened_at",
        "due_at",
    }
    fields = [f.attname for f in Response._meta.concrete_fields if f.attname not in skip]
    by_name = {r.customer.name: r for r in Response.objects.select_related("customer")}
    assert {f: getattr(by_name["Han"], f) for f in fields} == {
        f: getattr(by_name["Hou"], f) for f in fields
    }
    cases = {c.customer.name: c for c in FollowUp.objects.select_related("customer")}
    case_fields = [f.attname for f in FollowUp._meta.concrete_fields if f.attname not in skip]
    assert {f: getattr(cases["Han"], f) for f in case_fields} == {
        f: getattr(cases["Hou"], f) for f in case_fields
    }
    assert cases["Han"].response_id == by_name["Han"].pk and cases["Han"].owner_id == alice.pk
    assert (
        cases["Han"].due_at - cases["Han"].opened_at == cases["Hou"].due_at - cases["Hou"].opened_at
    )
    # A second click with the same score shows the answer; another score is refused.
    assert Client().get(fast, {"score": 2}).status_code == 200
    assert Client().get(fast, {"score": 9}).status_code == 409
    assert Response.objects.count() == 2 and FollowUp.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a server-side disconnect needs a server"
)
def test_an_answer_on_a_connection_the_server_dropped_is_stored_on_a_new_one(survey, alice):
    import psycopg

    path = answer_path(survey, alice, "Fu")
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(_conninfo(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    status, _headers, html = _wsgi_get(path, "score=8")
    assert status.startswith("200") and "Your score: 8" in html
    assert Response.objects.get(customer__name="Fu").score == 8
    assert connection.connection.info.backend_pid != pid


def _conninfo() -> str:
    params = connection.get_connection_params()
    keys = ("host", "port", "user", "password", "dbname")
    return " ".join(f"{k}={params[k]}" for k in keys if params.get(k))


def test_a_path_under_the_answer_prefix_that_is_no_answer_link_gets_the_usual_answer(survey):
    # "/s/i/" is the public link of a survey whose key is "i" as far as the URL configuration
    # goes: the answer handler's own resolver must not turn it into something else.
    status, _headers, _html = _wsgi_get("/s/i/")
    assert status.startswith("404")
    assert Client().get("/s/i/").status_code == 404
    status, _headers, _html = _wsgi_get("/s/i/abc/extra/")
    assert status.startswith("404")
