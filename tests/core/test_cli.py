"""The patron command: clear messages and exit codes for bad input, nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PATRON = [sys.executable, "-m", "patron.cli"]


def run(*args: str, env: dict[str, str] | None = None, data_dir: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env["PATRON_TESTING"] = "1"
    if data_dir is not None:
        full_env["PATRON_DATA_DIR"] = str(data_dir)
    full_env.update(env or {})
    return subprocess.run([*PATRON, *args], capture_output=True, text=True, env=full_env, timeout=120)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("cli")
    result = run("migrate", "--verbosity", "0", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    return data_dir


@pytest.mark.parametrize(
    "url",
    ["not a url", "mysql://root@127.0.0.1/test", "ftp://example.com/db"],
)
def test_bad_database_url_is_a_clear_error(url, tmp_path):
    result = run("check", env={"DATABASE_URL": url}, data_dir=tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_a_clear_error(tmp_path):
    # Port 1 on loopback: nothing listens there.
    result = run("migrate", env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere"}, data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("patron: database error:")
    assert "Traceback" not in result.stderr


def test_createuser_with_unknown_role_fails_and_creates_nobody(migrated):
    result = run("createuser", "zed", "--role", "wizard", data_dir=migrated)
    assert result.returncode == 1
    assert "Unknown role wizard" in result.stderr
    listing = run("shell", "-c", "from patron.core.models import User; print(User.objects.filter(username='zed').count())", data_dir=migrated)
    assert listing.stdout.split()[-1] == "0"


def test_createuser_generates_a_password_that_logs_in(migrated):
    result = run("createuser", "yan", "--role", "rep", data_dir=migrated)
    assert result.returncode == 0, result.stderr
    password = result.stdout.split("Password: ")[1].strip()
    check = run(
        "shell", "-c",
        f"from patron.core.models import User; u=User.objects.get(username='yan'); print(u.role, u.check_password({password!r}))",
        data_dir=migrated,
    )
    assert check.stdout.split()[-2:] == ["rep", "True"]


def test_createuser_refuses_a_weak_password_and_a_duplicate(migrated):
    weak = run("createuser", "wes", "--role", "rep", "--password", "123", data_dir=migrated)
    assert weak.returncode == 1 and "too short" in weak.stderr
    assert run("createuser", "dup", "--role", "rep", data_dir=migrated).returncode == 0
    again = run("createuser", "dup", "--role", "analyst", data_dir=migrated)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_createuser_unknown_branch_is_refused(migrated):
    result = run("createuser", "mgr", "--role", "manager", "--branch", "NOPE", data_dir=migrated)
    assert result.returncode == 1 and "NOPE" in result.stderr
