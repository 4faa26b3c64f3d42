"""Every PATRON_* variable is read by the settings module, typed, and documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from patron.config import env

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "src" / "patron" / "config"


def _read_in_settings() -> set[str]:
    names = set(re.findall(r'env_\w+\(\s*"(PATRON_[A-Z0-9_]+)"', (CONFIG / "settings.py").read_text()))
    # The secret key's two names are read by patron.config.secret_key.
    names |= set(re.findall(r'"(PATRON_[A-Z0-9_]+)"', (CONFIG / "secret_key.py").read_text()))
    return names


def _documented() -> set[str]:
    text = (ROOT / "docs" / "configuration.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("| `")]
    return {name for line in table for name in re.findall(r"`(PATRON_[A-Z0-9_]+)`", line.split(" | ")[0])}


def test_every_variable_read_is_documented_and_every_documented_one_is_read():
    read, documented = _read_in_settings(), _documented()
    assert len(read) > 30
    assert read - documented == set(), "read in settings but not in docs/configuration.md"
    assert documented - read == set(), "in docs/configuration.md but not read in settings"


def test_apps_do_not_read_the_environment():
    # The analytics core imports no Django, so it reads its one variable itself; backup.py hands
    # the environment on to pg_dump/pg_restore with the connection's libpq variables added, and
    # reads no setting from it; the demo hands it on to the worker it starts.
    allowed = {
        CONFIG,
        ROOT / "src" / "patron" / "cli.py",
        ROOT / "src" / "patron" / "analytics" / "_ibis.py",
        ROOT / "src" / "patron" / "core" / "backup.py",
        ROOT / "src" / "patron" / "web" / "management" / "commands" / "demo.py",
    }
    offenders = []
    for path in (ROOT / "src" / "patron").rglob("*.py"):
        if path in allowed or CONFIG in path.parents:
            continue
        text = path.read_text()
        if re.search(r"os\.environ|os\.getenv|getattr\(settings,", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (lambda: env.env_int("PATRON_X", 1, minimum=1), "two", "PATRON_X must be a whole number, not 'two'"),
        (lambda: env.env_int("PATRON_X", 1, minimum=1), "0", "PATRON_X must be a whole number at least 1, not '0'"),
        (lambda: env.env_bool("PATRON_X", False), "maybe", "PATRON_X must be true or false, not 'maybe'"),
        (lambda: env.env_float("PATRON_X", 1.0), "nan", "PATRON_X must be a number of at least 0.0, not 'nan'"),
        (lambda: env.env_json("PATRON_X", None), "{", "PATRON_X must be JSON"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch, reader, value, message):
    monkeypatch.setenv("PATRON_X", value)
    with pytest.raises(ImproperlyConfigured) as raised:
        reader()
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_unset_or_empty_is_the_default(monkeypatch):
    monkeypatch.delenv("PATRON_X", raising=False)
    assert env.env_int("PATRON_X", 7) == 7
    monkeypatch.setenv("PATRON_X", "")
    assert env.env_int("PATRON_X", 7) == 7
    assert env.env_str("PATRON_X", "a", keep_empty=True) == ""
    monkeypatch.setenv("PATRON_X", "12")
    assert env.env_int("PATRON_X", 7) == 12


def test_patron_refuses_to_start_with_a_bad_value(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "patron.cli", "check"],
        env={"PATH": "/usr/bin:/bin", "PATRON_DATA_DIR": str(tmp_path), "PATRON_PAGE_SIZE": "many"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "patron: configuration error: PATRON_PAGE_SIZE must be a whole number, not 'many'"
    )
