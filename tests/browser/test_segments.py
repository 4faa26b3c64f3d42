"""The segment builder in a real browser, on a phone: the live count follows the form (htmx), the
pages do not scroll sideways and pass the accessibility audit, and a rep counts only her customers."""

from __future__ import annotations

from tests.browser.conftest import PHONE, log_in
from tests.browser.test_accessibility import audit
from tests.browser.test_roles import assert_fits_phone


def test_builder_live_count_on_a_phone(page, office):
    from patron.campaigns.models import Segment

    page.set_viewport_size(PHONE)
    log_in(page, "maya")
    page.goto("/campaigns/segments/new/")
    count = page.get_by_test_id("preview-count")
    assert count.inner_text() == "2"
    assert_fits_phone(page, "the segment builder")
    audit(page, "the segment builder")

    page.select_option("select[name=key_account]", "yes")
    page.wait_for_function("() => document.querySelector('[data-testid=preview-count]').textContent === '1'")
    page.select_option("select[name=key_account]", "")
    page.fill("input[name=tags]", "nobody-has-this")
    page.wait_for_function("() => document.querySelector('[data-testid=preview-count]').textContent === '0'")
    page.fill("input[name=churn_risk_min]", "2")
    page.wait_for_selector("[data-testid=segment-preview] [role=alert]")

    page.fill("input[name=churn_risk_min]", "")
    page.fill("input[name=tags]", "")
    page.check("input[name=stage][value=active]")
    page.fill("input[name=name]", "Active customers")
    with page.expect_navigation():
        page.get_by_role("button", name="Save segment").click()
    segment = Segment.objects.get(name="Active customers")
    assert segment.filter == {"stage": ["active"]}

    page.goto("/campaigns/segments/")
    assert page.get_by_test_id("segment-count").inner_text() == "2"
    assert_fits_phone(page, "the segment list")
    audit(page, "the segment list")
    page.goto(f"/campaigns/segments/{segment.pk}/customers/")
    assert "Alpha Trading" in page.locator("main").inner_text()
    assert_fits_phone(page, "a segment's customers")

    # The same segment, read by a rep: only her customer.
    page.context.clear_cookies()
    log_in(page, "alice")
    page.goto("/campaigns/segments/")
    assert page.get_by_test_id("segment-count").inner_text() == "1"
    assert_fits_phone(page, "the segment list (rep)")
