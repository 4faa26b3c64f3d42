"""API tokens: printed once, stored as a hash, act as their user, revocable."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from patron.core.models import ApiToken
from tests.api.conftest import ApiClient
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def create_token(username: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", "create", "--user", username, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_the_token_alone_and_stores_only_its_hash(alice):
    stdout, _stderr = create_token("alice")
    token = stdout.strip()
    assert stdout == token + "\n"  # nothing else on standard output
    assert token.startswith("pat_") and len(token) > 40
    stored = ApiToken.objects.get(user=alice)
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {stored.key_hash, stored.prefix, stored.name}


def test_token_acts_as_its_user_with_their_visibility(alice, bob):
    mine = make_customer("Alice's", owner=alice)
    make_customer("Bob's", owner=bob)
    client = ApiClient(create_token("alice")[0].strip())
    response = client.get("/customers")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["items"]] == ["Alice's"]
    assert client.get("/me").json()["username"] == "alice"
    assert client.get(f"/customers/{mine.pk}").status_code == 200


def test_revoked_or_wrong_token_is_refused(alice):
    token = create_token("alice")[0].strip()
    client = ApiClient(token)
    assert client.get("/me").status_code == 200
    token_id = ApiToken.objects.get(user=alice).pk
    call_command("token", "revoke", str(token_id), stdout=StringIO(), stderr=StringIO())
    refused = client.get("/me")
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"
    assert ApiClient(token[:-1] + ("A" if token[-1] != "A" else "B")).get("/me").status_code == 401
    assert ApiClient(None).get("/customers").status_code == 401


def test_list_shows_tokens_without_revealing_them(alice):
    token = create_token("alice")[0].strip()
    out = StringIO()
    call_command("token", "list", "--user", "alice", stdout=out, stderr=StringIO())
    listing = out.getvalue()
    assert token[:12] in listing and token not in listing
    assert "active" in listing


def test_unknown_user_is_a_clear_error():
    with pytest.raises(CommandError, match="no user named ghost"):
        call_command("token", "create", "--user", "ghost", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="no API token with id 999"):
        call_command("token", "revoke", "999", stdout=StringIO(), stderr=StringIO())


def test_the_cli_prints_only_the_token_on_stdout(tmp_path):
    """Through the real ``patron`` command, as a script would capture it."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"PATRON_TESTING": "1", "PATRON_DATA_DIR": str(tmp_path)})

    def patron(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "patron.cli", *args], capture_output=True, text=True, env=env, timeout=300)

    assert patron("migrate", "--verbosity", "0").returncode == 0
    assert patron("createuser", "cli", "--role", "rep").returncode == 0
    created = patron("token", "create", "--user", "cli", "--name", "script")
    assert created.returncode == 0, created.stderr
    assert created.stdout.count("\n") == 1 and created.stdout.startswith("pat_")
    unknown = patron("token", "create", "--user", "nobody")
    assert unknown.returncode != 0 and "no user named nobody" in unknown.stderr and unknown.stdout == ""
