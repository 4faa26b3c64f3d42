"""Passwords are hashed with Argon2; repeated failed logins are throttled."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_argon2_is_the_production_hasher(settings):
    production = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]
    assert production[0].endswith("Argon2PasswordHasher")
    with override_settings(PASSWORD_HASHERS=production):
        assert make_password("s3cret-pass").startswith("argon2$")


def test_repeated_failed_logins_are_throttled(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
    # The failure that reaches the limit locks the username from this address.
    assert client.post(reverse("login"), {"username": "alice", "password": "wrong"}).status_code == 429
    # Now even the right password is refused for a while, with a clear page.
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_other_users_are_not_locked_by_one_users_failures(client, alice, bob, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
