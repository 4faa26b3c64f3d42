"""In a real browser: a rep logs her call to a detractor on the 360° page and, in the same form,
records it as the follow-up's first contact and closes the follow-up."""

from __future__ import annotations

from tests.browser.conftest import log_in


def test_a_logged_call_closes_the_detractor_follow_up(page, office):
    from patron.feedback.models import FollowUp
    from patron.feedback.services.answers import response_create
    from patron.feedback.services.surveys import survey_create

    survey = survey_create(name="Relationship NPS", kind="nps")
    response_create(survey=survey, customer=office.alpha, score=1, channel="api")
    follow_up = FollowUp.objects.get(customer=office.alpha)

    log_in(page, "alice")
    page.goto(f"/customers/{office.alpha.pk}/")
    assert "first contact due" in page.get_by_test_id("follow-ups-card").inner_text()
    page.locator("details:has(form[action$='/interactions/']) summary").click()
    form = page.locator("form[action$='/interactions/']")
    assert form.locator("select[name=follow_up]").input_value() == str(follow_up.pk)  # offered, preselected
    form.locator("select[name=channel]").select_option("call")
    form.locator("input[name=subject]").fill("Called about the broken order")
    form.locator("textarea[name=body]").fill("Sent a replacement today.")
    form.locator("input[name=close]").check()
    form.locator("select[name=root_cause]").select_option("product")
    form.locator("select[name=outcome]").select_option("resolved")
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    follow_up.refresh_from_db()
    assert follow_up.first_contact_at is not None and follow_up.closed_at is not None
    assert follow_up.outcome == "resolved" and follow_up.action_taken == "Sent a replacement today."
    assert "No open follow-ups." in page.get_by_test_id("follow-ups-card").inner_text()
