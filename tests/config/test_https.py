"""HTTPS behind a proxy (PATRON_HTTPS=1) and the Content-Security-Policy header, on the real
server (``patron serve``, gunicorn) as the proxy would reach it; and ``patron check --deploy``
with exactly the production environment docs/configuration.md documents."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

PATRON = [sys.executable, "-m", "patron.cli"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
HOST = "crm.example.test"
PASSWORD = "correct-horse-battery"
# Nothing from the test run's own environment may decide what these commands see.
UNSET = {"SECRET_KEY", "PATRON_SECRET_KEY", "PATRON_DEBUG", "PATRON_TESTING", "DATABASE_URL", "PATRON_HTTPS"}


def documented_production_environment() -> dict[str, str]:
    """The NAME=value lines of the "Production environment" block, placeholders filled in."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Production environment", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "docs/configuration.md has no production environment block"
    env = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _eq, value = line.partition("=")
            env[name.strip()] = shlex.split(value)[0] if value.strip() else ""
    assert env.get("SECRET_KEY", "").startswith("<"), "the documented key must be a placeholder"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return {name: value.replace("<password>", "pw") for name, value in env.items()}


def test_check_deploy_is_clean_with_the_documented_production_environment():
    env = documented_production_environment()
    assert env["PATRON_HTTPS"] == "1" and env["DATABASE_URL"].startswith("postgres://")
    result = subprocess.run(
        [*PATRON, "check", "--deploy"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True, text=True, timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_check_deploy_without_https_names_what_is_missing(tmp_path):
    env = {k: v for k, v in documented_production_environment().items() if k != "PATRON_HTTPS"}
    result = subprocess.run(
        [*PATRON, "check", "--deploy"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True, text=True, timeout=120,
    )
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    answer_path: str

    def request(
        self, method: str, path: str, *, proto: str | None = "https", body: str = "", headers: dict | None = None
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": HOST, **(headers or {})}
        if proto is not None:
            sent["X-Forwarded-Proto"] = proto
        if body:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body or None, headers=sent)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response


@pytest.fixture(scope="module")
def https_server(tmp_path_factory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("https")
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(
        PATRON_DATA_DIR=str(data_dir), SECRET_KEY=secrets.token_urlsafe(50), PATRON_HTTPS="1",
        PATRON_ALLOWED_HOSTS=HOST, PATRON_BASE_URL=f"https://{HOST}",
    )

    def patron(*args: str) -> str:
        done = subprocess.run([*PATRON, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    patron("migrate", "--verbosity", "0")
    patron("createuser", "ada", "--role", "admin", "--password", PASSWORD)
    answer_path = patron(
        "shell", "-c",
        "from patron.customers.services import customer_create as c; from patron.feedback import links; "
        "from patron.feedback.services import invitations, surveys; "
        "v = surveys.survey_create(name='Visit', kind='nps'); "
        "x = c(name='Ann', email='ann@example.com', consent_survey=True); "
        "i = invitations.invitations_create(survey=v, customers=[x], channel='link').queued[0]; "
        "print('/s/i/' + links.answer_token(i) + '/')",
    ).strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [*PATRON, "serve", "--no-migrate", "--port", str(port), "--workers", "1", "--threads", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "patron serve stopped"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "patron serve did not start"
                time.sleep(0.5)
        yield Server(port=port, answer_path=answer_path)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_all("Set-Cookie") or []}


@pytest.mark.slow
def test_plain_http_is_redirected_to_https(https_server):
    for path in ("/login/", f"{https_server.answer_path}?score=9", "/api/v1/customers"):
        for proto in ("http", None):  # the proxy says http, or says nothing
            response = https_server.request("GET", path, proto=proto)
            assert response.status == 301, (path, proto)
            assert response.headers["Location"] == f"https://{HOST}{path}"


@pytest.mark.slow
def test_https_responses_carry_hsts_csp_and_secure_cookies(https_server):
    login = https_server.request("GET", "/login/")
    assert login.status == 200
    assert login.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    policy = login.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "'unsafe-inline'" not in policy
    csrf = _cookies(login)["csrftoken"]
    assert "; Secure" in csrf
    token = csrf.split("=", 1)[1].split(";", 1)[0]

    logged_in = https_server.request(
        "POST", "/login/",
        body=urlencode({"username": "ada", "password": PASSWORD, "csrfmiddlewaretoken": token}),
        headers={"Cookie": f"csrftoken={token}", "Origin": f"https://{HOST}", "Referer": f"https://{HOST}/login/"},
    )
    assert logged_in.status == 302, "the login over https through the proxy failed"
    session = _cookies(logged_in)["sessionid"]
    assert "; Secure" in session and "; HttpOnly" in session

    # The survey link takes the short middleware stack: the same headers.
    answer = https_server.request("GET", f"{https_server.answer_path}?score=9")
    assert answer.status == 200
    assert answer.headers["Strict-Transport-Security"] == login.headers["Strict-Transport-Security"]
    assert answer.headers["Content-Security-Policy"] == policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Frame-Options"] == "DENY"
