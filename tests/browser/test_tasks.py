"""A task's loop in a real browser: a rep adds a task with a priority on the 360° page, sees it
overdue, marks it done, reopens it, and closes it from the task list; at desktop and phone widths."""

from __future__ import annotations

from tests.browser.conftest import PHONE, log_in
from tests.browser.test_roles import assert_fits_phone


def test_a_rep_closes_and_reopens_a_task(page, office):
    from datetime import timedelta

    from django.utils import timezone

    from patron.engagement.models import Task
    from patron.engagement.services import task_create

    late = task_create(customer=office.alpha, title="Chase the signed order", due_at=timezone.now() - timedelta(days=1))
    log_in(page, "alice")
    page.goto(f"/customers/{office.alpha.pk}/")
    task = page.get_by_test_id(f"task-{late.pk}")
    assert task.get_by_test_id("overdue").is_visible()

    # A new task through the form, with a priority and notes.
    page.locator("details:has(form[action$='/tasks/']) summary").click()
    form = page.locator("form[action$='/tasks/']")
    form.locator("input[name=title]").fill("Bring the samples")
    form.locator("select[name=priority]").select_option("high")
    form.locator("textarea[name=notes]").fill("The blue ones.")
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    added = Task.objects.get(title="Bring the samples")
    assert added.priority == "high" and added.assignee.username == "alice"
    assert "High priority" in page.get_by_test_id(f"task-{added.pk}").inner_text()

    with page.expect_navigation():
        page.get_by_test_id(f"task-{late.pk}").get_by_test_id("task-done").click()
    late.refresh_from_db()
    assert late.status == "done"
    assert "Chase the signed order" in page.get_by_test_id("done-tasks").inner_text()
    with page.expect_navigation():
        page.get_by_test_id("done-tasks").get_by_test_id("task-reopen").click()
    late.refresh_from_db()
    assert late.status == "open" and late.completed_at is None

    # From the task list, on a phone.
    page.set_viewport_size(PHONE)
    page.goto("/tasks/?status=open")
    assert_fits_phone(page, "the task list")
    with page.expect_navigation():
        page.get_by_test_id(f"task-toggle-{late.pk}").click()
    assert page.url.endswith("/tasks/?status=open")
    late.refresh_from_db()
    assert late.status == "done"
    page.goto(f"/customers/{office.alpha.pk}/")
    assert_fits_phone(page, "the 360° page with its tasks")
