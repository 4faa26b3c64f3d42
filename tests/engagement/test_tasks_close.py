"""A task's loop closes: done and open again from the 360° page, the task list and the API, with
priority, assignee and notes; overdue tasks stand out; every change audit-logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.core.models import AuditEntry
from patron.engagement.models import Task
from patron.engagement.services import task_create
from tests.api.conftest import client_for
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue(alice):
    customer = make_customer("Ash Ltd", owner=alice)
    return task_create(customer=customer, title="Call back about the invoice", due_at=timezone.now() - timedelta(days=2),
                       priority="high", notes="She asked for Tuesday.")


def _detail(client, task):
    return client.get(reverse("customer-detail", args=[task.customer_id])).content.decode()


def test_the_360_page_marks_overdue_and_closes_and_reopens_a_task(client, alice, overdue):
    client.force_login(alice)
    page = _detail(client, overdue)
    own = page.split(f'data-testid="task-{overdue.pk}"')[1].split("</li>")[0]
    assert 'data-testid="overdue"' in own and "High priority" in own and "She asked for Tuesday." in own
    back = reverse("customer-detail", args=[overdue.customer_id])
    response = client.post(reverse("task-status", args=[overdue.pk]), {"status": "done", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    overdue.refresh_from_db()
    assert overdue.status == "done" and overdue.completed_at is not None
    page = _detail(client, overdue)
    assert f'data-testid="task-{overdue.pk}"' not in page
    assert 'data-testid="done-tasks"' in page and "Call back about the invoice" in page
    client.post(reverse("task-status", args=[overdue.pk]), {"status": "open"})
    overdue.refresh_from_db()
    assert overdue.status == "open" and overdue.completed_at is None
    changes = [e.changes["status"] for e in AuditEntry.objects.filter(action="task.update", object_id=str(overdue.pk)).order_by("pk")]
    assert changes == [["open", "done"], ["done", "open"]]


def test_a_foreign_next_is_ignored_and_a_bad_status_changes_nothing(client, alice, overdue):
    client.force_login(alice)
    response = client.post(reverse("task-status", args=[overdue.pk]), {"status": "done", "next": "https://evil.example/"})
    assert response["Location"] == reverse("customer-detail", args=[overdue.customer_id])
    client.post(reverse("task-status", args=[overdue.pk]), {"status": "cancelled-ish"})
    overdue.refresh_from_db()
    assert overdue.status == "done"


def test_read_only_roles_and_other_reps_cannot_close_it(client, bob, nora, overdue):
    for user, status in ((nora, 403), (bob, 404)):
        client.force_login(user)
        assert client.post(reverse("task-status", args=[overdue.pk]), {"status": "done"}).status_code == status
    overdue.refresh_from_db()
    assert overdue.status == "open"


def test_the_task_list_closes_it_and_shows_overdue(client, alice, overdue):
    client.force_login(alice)
    page = client.get(reverse("task-list")).content.decode()
    assert f'data-testid="task-toggle-{overdue.pk}"' in page and "Overdue" in page
    client.post(reverse("task-status", args=[overdue.pk]), {"status": "done", "next": reverse("task-list") + "?status=open"})
    overdue.refresh_from_db()
    assert overdue.status == "done"


def test_the_form_sets_priority_assignee_and_notes(client, alice, bob):
    customer = make_customer("Birch", owner=alice)
    client.force_login(alice)
    client.post(reverse("customer-add-task", args=[customer.pk]),
                {"title": "Send the quote", "priority": "low", "assignee": bob.pk, "notes": "With the discount."})
    task = Task.objects.get(title="Send the quote")
    assert (task.priority, task.assignee, task.notes) == ("low", bob, "With the discount.")
    client.post(reverse("customer-add-task", args=[customer.pk]), {"title": "Mine", "priority": "normal"})
    assert Task.objects.get(title="Mine").assignee == alice  # empty: me


def test_the_api_completes_reopens_and_prioritises(alice, overdue):
    api = client_for(alice)
    done = api.patch(f"/tasks/{overdue.pk}", {"status": "done"})
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["completed_at"]
    reopened = api.patch(f"/tasks/{overdue.pk}", {"status": "open", "priority": "low"}).json()
    assert (reopened["status"], reopened["completed_at"], reopened["priority"]) == ("open", None, "low")
    assert api.patch(f"/tasks/{overdue.pk}", {"priority": "urgent"}).status_code == 422
    assert api.patch(f"/tasks/{overdue.pk}", {"priority": None}).status_code == 422
    created = api.post("/tasks", {"customer_id": overdue.customer_id, "title": "Visit", "priority": "high"})
    assert created.status_code == 201 and created.json()["priority"] == "high"
    ranked = [t["priority"] for t in api.get("/tasks", sort="priority").json()["items"]]
    assert ranked == ["high", "low"]
