"""A missing page on a phone: the app's header, a way home, nothing scrolling sideways; and the
survey page's warning, on a phone, about links that open on the server's machine only."""

from __future__ import annotations

from tests.browser.conftest import PHONE, log_in
from tests.browser.test_roles import assert_fits_phone


def test_a_missing_page_fits_a_phone_and_leads_home(page, office):
    page.set_viewport_size(PHONE)
    log_in(page, "alice")
    response = page.goto("/customers/no-such-page/")
    assert response is not None and response.status == 404
    assert page.locator("body > header.top").is_visible()
    assert page.locator("main h1").inner_text() == "Page not found"
    assert_fits_phone(page, "the 404 page")
    home = page.get_by_test_id("home-link")
    assert home.is_visible()
    with page.expect_navigation():
        home.click()
    assert page.url.rstrip("/") == page.context.pages[0].url.rstrip("/") and page.url.endswith("/")
    assert page.locator("main h1").first.is_visible()


def test_a_missing_page_in_chinese_for_a_visitor(page, live_server):
    page.set_viewport_size(PHONE)
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    response = page.goto("/no-such-page/")
    assert response is not None and response.status == 404
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_test_id("home-link").is_visible()
    assert_fits_phone(page, "the 404 page (zh-hans)")


def test_the_survey_page_warns_that_a_loopback_link_opens_nowhere_else(page, office, settings):
    from patron.feedback.services.surveys import survey_create

    settings.PATRON_BASE_URL = ""  # the live server's own address, 127.0.0.1 or localhost
    survey = survey_create(name="Counter", kind="nps")
    page.set_viewport_size(PHONE)
    log_in(page, "carl")
    page.goto(f"/feedback/surveys/{survey.pk}/")
    warning = page.get_by_test_id("link-unreachable")
    assert warning.is_visible() and "PATRON_BASE_URL" in warning.inner_text()
    # The warning wraps within the screen (the per-branch table below it is wider than a phone:
    # a matter of its own, not checked here).
    box = warning.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
