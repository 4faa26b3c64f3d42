"""The Content-Security-Policy header: the settings' policy on every response, the survey link's
short middleware stack included, built as django-csp builds it."""

from __future__ import annotations

import pytest
from csp.decorators import csp_exempt, csp_update
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import Client, RequestFactory

from patron.config.csp import ContentSecurityPolicyMiddleware
from patron.feedback import links
from patron.feedback.services.invitations import invitations_create
from patron.feedback.services.surveys import survey_create
from tests.factories import make_customer
from tests.feedback.test_answer_page import _wsgi_get


def test_the_header_is_django_csps_policy_and_allows_nothing_inline():
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("x"))
    header = middleware(RequestFactory().get("/"))["Content-Security-Policy"]
    assert sorted(header.split("; ")) == sorted(build_policy().split("; "))
    directives = dict(part.split(" ", 1) for part in header.split("; "))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in header


def test_a_view_that_changes_the_policy_still_gets_django_csps_handling():
    updated = ContentSecurityPolicyMiddleware(csp_update({"img-src": "https://maps.example.com"})(lambda r: HttpResponse()))
    assert "img-src 'self' https://maps.example.com" in updated(RequestFactory().get("/"))["Content-Security-Policy"]
    exempt = ContentSecurityPolicyMiddleware(csp_exempt()(lambda r: HttpResponse()))
    assert "Content-Security-Policy" not in exempt(RequestFactory().get("/"))


@pytest.mark.django_db
def test_survey_links_carry_the_same_policy_as_every_page(alice):
    survey = survey_create(name="Visit", kind="nps")
    customer = make_customer("Ann", owner=alice, email="ann@example.com", consent_survey=True)
    invitation = invitations_create(survey=survey, customers=[customer], channel="link").queued[0]
    status, headers, _html = _wsgi_get("/s/i/" + links.answer_token(invitation) + "/", "score=7")
    assert status.startswith("200")
    page = Client().get("/login/")
    assert headers["Content-Security-Policy"] == page["Content-Security-Policy"]
    assert "script-src 'self'" in page["Content-Security-Policy"]
