"""The example files under deploy/ that docs/deploy.md ships: ``patron check --deploy`` is clean
with the environment file, and what the units and the nginx configuration name exists."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import subprocess
from pathlib import Path

from tests.faults.conftest import PATRON

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def environment_file() -> dict[str, str]:
    """deploy/patron.env as systemd reads it, placeholders filled in."""
    env = {}
    for line in (DEPLOY / "patron.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _eq, value = line.partition("=")
            env[name.strip()] = shlex.split(value)[0] if value.strip() else ""
    assert env["SECRET_KEY"].startswith("<"), "the shipped key must be a placeholder"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return {name: value.replace("<password>", "pw") for name, value in env.items()}


def test_check_deploy_is_clean_with_the_shipped_environment_file(tmp_path):
    env = environment_file()
    assert env["PATRON_HTTPS"] == "1" and env["DATABASE_URL"].startswith("postgres://")
    env["PATRON_DATA_DIR"] = str(tmp_path)  # /var/lib/patron does not exist here
    result = subprocess.run(
        [*PATRON, "check", "--deploy"], env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=300
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_the_doc_names_every_shipped_file_and_the_units_run_patron():
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for path in DEPLOY.iterdir():
        assert f"deploy/{path.name}" in doc, f"docs/deploy.md does not mention deploy/{path.name}"
    web = (DEPLOY / "patron-web.service").read_text()
    worker = (DEPLOY / "patron-worker.service").read_text()
    assert re.search(r"^ExecStart=\S*/patron serve .*--workers [2-9]", web, re.M)
    assert re.search(r"^ExecStart=\S*/patron worker$", worker, re.M)
    for unit in (web, worker):
        assert "EnvironmentFile=/etc/patron/patron.env" in unit and "Restart=always" in unit
    nginx = (DEPLOY / "nginx-patron.conf").read_text()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx and "server 127.0.0.1:8000;" in nginx
    assert "pool_mode = transaction" in (DEPLOY / "pgbouncer.ini").read_text()
