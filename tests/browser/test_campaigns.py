"""A campaign's pages in a real browser, on a phone, in English and Chinese: the list, the form,
the launch, the launched campaign with its members, the report, the call list, the uplift and the
simulation pages; none scrolls sideways and each passes the accessibility audit."""

from __future__ import annotations

import re

from tests.browser.conftest import PHONE, log_in
from tests.browser.test_accessibility import audit
from tests.browser.test_roles import assert_fits_phone

CJK = re.compile(r"[\u4e00-\u9fff]")


def _check(page, where: str) -> None:
    assert_fits_phone(page, where)
    audit(page, where)


def test_a_phone_campaign_from_form_to_report_on_a_phone(page, office):
    from patron.campaigns.models import Campaign, CampaignMember
    from patron.campaigns.services import segment_create

    office.alpha.phone = "+852 9123 0101"
    office.alpha.save(update_fields=["phone"])
    segment = segment_create(name="North customers", filter={}, created_by=office.users["marketer"])

    page.set_viewport_size(PHONE)
    log_in(page, "maya")
    page.goto("/campaigns/")
    _check(page, "the campaign list")

    page.goto("/campaigns/new/")
    _check(page, "the campaign form")
    page.fill("input[name=name]", "Call the north")
    page.select_option("select[name=segment]", str(segment.pk))
    page.select_option("select[name=channel]", "phone")
    page.fill("input[name=offer]", "A free service visit")
    page.fill("input[name=starts_on]", "2026-12-01")
    page.fill("input[name=ends_on]", "2026-12-31")
    page.fill("input[name=control_share]", "0.01")
    with page.expect_navigation():
        page.locator("main form [type=submit]").first.click()
    campaign = Campaign.objects.get(name="Call the north")
    assert page.url.rstrip("/").endswith(f"/campaigns/{campaign.pk}")
    _check(page, "a draft campaign")

    with page.expect_navigation():
        page.get_by_test_id("campaign-launch").click()
    _check(page, "the launch confirmation")
    with page.expect_navigation():
        page.get_by_test_id("launch-button").click()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LAUNCHED
    assert CampaignMember.objects.filter(campaign=campaign).count() == 2
    assert page.get_by_test_id("campaign-groups").is_visible()
    _check(page, "a launched campaign with its members")

    page.goto(f"/campaigns/{campaign.pk}/calls/")
    assert "Alpha Trading" in page.locator("main").inner_text()
    _check(page, "the call list")
    page.goto(f"/campaigns/{campaign.pk}/report/")
    _check(page, "the campaign report")
    page.goto(f"/campaigns/segments/{segment.pk}/uplift/")
    _check(page, "a segment's uplift")
    page.goto("/campaigns/simulate/")
    _check(page, "the simulation form")

    # The same pages in Chinese: translated, and still no sideways scroll.
    with page.expect_navigation():
        page.locator("body > header select[name=language]").select_option("zh-hans")
    for where, path in [
        ("the campaign list", "/campaigns/"),
        ("the campaign form", "/campaigns/new/"),
        ("a launched campaign", f"/campaigns/{campaign.pk}/"),
        ("the call list", f"/campaigns/{campaign.pk}/calls/"),
        ("the campaign report", f"/campaigns/{campaign.pk}/report/"),
        ("a segment's uplift", f"/campaigns/segments/{segment.pk}/uplift/"),
        ("the simulation form", "/campaigns/simulate/"),
    ]:
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == "zh-hans", where
        assert CJK.search(page.locator("main").inner_text()), f"{where}: not translated"
        assert_fits_phone(page, f"{where} (zh-hans)")
