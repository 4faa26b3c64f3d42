"""A missing page, a refused one and a bug show the app's header, a sentence and a way home, in
the reader's language; the 500 page needs nothing the failure may have broken."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db
HOME_LINK = '<a href="/" data-testid="home-link">'


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


def _translated(message: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


def _bug():
    return mock.patch("patron.web.customer_lists.visible_customers", side_effect=RuntimeError("a bug"))


@pytest.mark.parametrize(
    ("cookie", "skip"), [("en", "Skip to content"), ("zh-hans", "跳到正文"), ("zh-hant", "跳至主要內容")]
)
def test_a_missing_page_has_the_header_and_a_way_home(alice, cookie, skip):
    client = Client()
    client.force_login(alice)
    client.cookies["django_language"] = cookie
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert f'<html lang="{cookie}">' in page and skip in page
    assert '<header class="top">' in page and 'href="/customers/"' in page  # the user's navigation
    assert HOME_LINK in page
    title = _translated("Page not found", cookie)
    assert f"<h1>{title}</h1>" in page and f"<title>{title} · " in page
    assert _translated("Go to the home page", cookie) in page


def test_a_missing_page_for_someone_not_logged_in():
    response = Client().get("/customers/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404 and HOME_LINK in page and '<header class="top">' in page
    assert 'href="/customers/"' not in page and "Log out" not in page


@pytest.mark.parametrize(("cookie", "skip"), [("en", "Skip to content"), ("zh-hans", "跳到正文"), ("zh-hant", "跳至主要內容")])
def test_a_bug_is_a_500_page_with_the_header_and_a_way_home(alice, cookie, skip):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    client.cookies["django_language"] = cookie
    with _bug():
        response = client.get("/customers/")
    assert response.status_code == 500
    page = response.content.decode()
    assert f'<html lang="{cookie}">' in page and skip in page
    assert '<header class="top">' in page and HOME_LINK in page
    assert f"<h1>{_translated('Something went wrong', cookie)}</h1>" in page
    # Rendered without the context processors: no user, no navigation, but a working switcher.
    assert 'href="/customers/"' not in page and 'name="csrfmiddlewaretoken"' in page
    assert 'value="zh-hant"' in page and 'name="next" type="hidden" value="/customers/"' in page


def test_a_500_page_that_cannot_be_rendered_is_djangos_bare_one(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    with _bug(), mock.patch("patron.web.errors.loader.get_template", side_effect=RuntimeError("no templates")):
        response = client.get("/customers/")
    assert response.status_code == 500 and b"Server Error (500)" in response.content


def test_a_refused_page_says_why_with_the_header_and_a_way_home(alice):
    client = Client()
    client.force_login(alice)
    with mock.patch("patron.web.customer_lists.visible_customers", side_effect=PermissionDenied("Your role may not.")):
        response = client.get("/customers/")
    page = response.content.decode()
    assert response.status_code == 403 and '<header class="top">' in page and HOME_LINK in page
    assert "<h1>Not allowed</h1>" in page and "Your role may not." in page
    with mock.patch("patron.web.customer_lists.visible_customers", side_effect=PermissionDenied):
        page = client.get("/customers/").content.decode()
    assert "Ask an administrator if you need it." in page
