"""Adding a user in the admin is one screen with the role first; roles, not Django's permissions."""

from __future__ import annotations

from django.test import Client

from patron.core.models import AuditEntry, Branch, Region, User
from tests.factories import make_user

PASSWORD = "a-long-unusual-passphrase-42"


def _admin_client(root) -> Client:
    client = Client()
    client.force_login(root)
    return client


def test_the_add_screen_asks_for_the_role_first_and_no_permissions(root):
    page = _admin_client(root).get("/admin/core/user/add/").content.decode()
    role, username = page.index('name="role"'), page.index('name="username"')
    assert role < username
    for field in ("first_name", "email", "branches", "regions", "reports_to", "password1"):
        assert f'name="{field}"' in page, field
    assert 'name="user_permissions"' not in page and 'name="groups"' not in page
    assert "more user options" not in page  # Django's two-step wording


def test_a_manager_is_added_in_one_post_with_scope_and_audited(root):
    north = Region.objects.create(code="N", name="North")
    branch = Branch.objects.create(code="B1", name="Central", region=north)
    boss = make_user("boss", "manager")
    response = _admin_client(root).post("/admin/core/user/add/", {
        "role": "manager", "username": "mona", "first_name": "Mona", "last_name": "Li", "email": "mona@example.com",
        "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD,
        "branches": [branch.pk], "regions": [north.pk], "reports_to": boss.pk,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    mona = User.objects.get(username="mona")
    assert (mona.role, mona.email, mona.reports_to) == ("manager", "mona@example.com", boss)
    assert list(mona.branches.all()) == [branch] and list(mona.regions.all()) == [north]
    assert not mona.is_staff and not mona.is_superuser and mona.check_password(PASSWORD)
    [entry] = AuditEntry.objects.filter(action="user.create", object_id=mona.pk)
    assert entry.changes["role"] == [None, "manager"] and entry.actor_id == root.pk


def test_an_administrator_added_here_gets_the_admin_site(root):
    response = _admin_client(root).post("/admin/core/user/add/", {
        "role": "admin", "username": "adele", "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD,
    })
    assert response.status_code == 302
    adele = User.objects.get(username="adele")
    assert adele.is_staff and adele.is_superuser


def test_a_missing_role_or_weak_password_is_refused_with_the_reason(root):
    response = _admin_client(root).post("/admin/core/user/add/", {
        "username": "nobody", "usable_password": "true", "password1": "123", "password2": "123",
    })
    assert response.status_code == 200 and not User.objects.filter(username="nobody").exists()
    errors = response.context["adminform"].form.errors
    assert "role" in errors and "password2" in errors
