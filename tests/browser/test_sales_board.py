"""The sales board in a real browser: a rep drags a card to another stage, moves one with the
keyboard (and gives the reason when it is won), under the Content-Security-Policy; the board fits
a 390 px phone and a 1366 px screen."""

from __future__ import annotations

from tests.browser.conftest import PHONE, log_in
from tests.browser.test_roles import assert_fits_phone

LAPTOP = {"width": 1366, "height": 768}


def _stage(deal) -> str:
    from patron.sales.models import Opportunity

    return Opportunity.objects.select_related("stage").get(pk=deal.pk).stage.key


def test_a_rep_drags_and_keys_cards_across_the_board(page, office):
    from decimal import Decimal

    from patron.sales.models import StageChange
    from patron.sales.services import lead_create, opportunity_create

    rep = office.users["rep"]
    first = opportunity_create(name="Alpha renewal", customer=office.alpha, amount=Decimal("1200"), by=rep)
    lead = lead_create(name="Wang Fang", company="Fang Tea", owner=rep)
    second = opportunity_create(name="Fang first order", lead=lead, amount=Decimal("300"), stage="meet", by=rep)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    log_in(page, "alice")
    page.set_viewport_size(LAPTOP)
    with page.expect_navigation():
        page.locator("body > header nav").get_by_role("link", name="Sales").click()
    assert page.get_by_test_id("stage-qualify").get_by_test_id("count").inner_text() == "1"
    assert_fits_phone(page, "the board at 1366 px")

    # Drag the first card from Qualify to Propose.
    card = page.get_by_test_id(f"card-{first.pk}")
    with page.expect_navigation():
        card.drag_to(page.get_by_test_id("stage-propose"))
    assert _stage(first) == "propose"
    assert page.get_by_test_id("stage-propose").get_by_test_id(f"card-{first.pk}").is_visible()
    change = StageChange.objects.filter(opportunity=first).latest("id")
    assert (change.from_stage.key, change.to_stage.key, change.changed_by_id) == ("qualify", "propose", rep.pk)

    # The keyboard: focus the second card, → moves it one stage, and it keeps the focus.
    page.get_by_test_id(f"card-{second.pk}").focus()
    with page.expect_navigation():
        page.keyboard.press("ArrowRight")
    assert _stage(second) == "propose"
    assert page.evaluate("document.activeElement.id") == f"card-{second.pk}"
    with page.expect_navigation():
        page.keyboard.press("ArrowLeft")
    assert _stage(second) == "meet"

    # Won by the card's own form: the reason is asked for first.
    form = page.get_by_test_id(f"card-{first.pk}")
    form.get_by_test_id("move-select").select_option("won")
    with page.expect_navigation():
        form.get_by_test_id("move-button").click()
    assert _stage(first) == "propose"
    page.fill("#reason", "Fastest delivery")
    with page.expect_navigation():
        page.get_by_test_id("reason-form").locator("[type=submit]").click()
    assert _stage(first) == "won"
    assert page.get_by_test_id("stage-won").get_by_test_id(f"card-{first.pk}").is_visible()

    # On a phone the columns stack; nothing scrolls sideways.
    page.set_viewport_size(PHONE)
    page.reload()
    assert_fits_phone(page, "the sales board")
    page.goto("/sales/opportunities/")
    assert_fits_phone(page, "the opportunity list")
    page.goto(f"/sales/opportunities/{first.pk}/")
    assert_fits_phone(page, "an opportunity's page")
    assert "Fastest delivery" in page.locator("main").inner_text()
    page.goto(f"/sales/leads/{lead.pk}/")
    assert_fits_phone(page, "a lead's page")
    assert violations == []
