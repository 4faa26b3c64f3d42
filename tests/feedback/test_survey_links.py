"""Survey links and QR codes carry an address that opens: PATRON_BASE_URL when set, else the
address `patron serve` listens on, else the request's own; the survey page warns when the
address opens on the server's machine only."""

from __future__ import annotations

import io
import socket
import urllib.request
from pathlib import Path

import pytest
import segno
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from patron.core import base_url
from patron.feedback import links
from patron.feedback.services.invitations import invitations_create
from patron.feedback.services.surveys import survey_create
from patron.web.management.commands import serve as serve_command
from tests.factories import make_customer
from tests.feedback.conftest import body, links_in, run_worker

pytestmark = pytest.mark.django_db
WARNING = 'data-testid="link-unreachable"'


@pytest.fixture
def unset(settings, tmp_path):
    """PATRON_BASE_URL not set, a data folder of the test's own, no server announced yet."""
    settings.PATRON_BASE_URL = ""
    settings.DATA_DIR = tmp_path
    settings.ALLOWED_HOSTS = [*django_settings.ALLOWED_HOSTS]  # restored after the test
    base_url.server_url_forget()
    yield tmp_path
    base_url.server_url_forget()


@pytest.fixture
def served(monkeypatch):
    """``patron serve`` up to the point where gunicorn would start: returns its output."""

    def run(*args: str) -> str:
        out = io.StringIO()
        monkeypatch.setattr(serve_command, "serve", lambda *a: None)
        monkeypatch.setattr(serve_command, "call_command", lambda *a, **k: None)  # collectstatic
        call_command("serve", "--no-migrate", *args, stdout=out)
        return out.getvalue()

    return run


def _survey_page(client: Client, survey, **headers) -> str:
    response = client.get(f"/feedback/surveys/{survey.pk}/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_links_and_qr_codes_carry_the_port_the_server_listens_on(unset, served, client, alice, nps_survey):
    output = served("--port", "9123")
    assert "Survey links and QR codes start with http://127.0.0.1:9123/" in output
    assert "open on this machine only" in output
    public = links.public_url(nps_survey.public_key)
    assert public == f"http://127.0.0.1:9123/s/{nps_survey.public_key}/"

    client.force_login(alice)
    # Opened on the server's machine under another loopback name: the server's address stays.
    page = _survey_page(client, nps_survey, HTTP_HOST="localhost:9123")
    assert f'href="{public}"' in page
    assert WARNING in page  # 127.0.0.1 opens on the server's machine only
    png = client.get(f"/feedback/surveys/{nps_survey.pk}/qr.png", HTTP_HOST="localhost:9123")
    expected = io.BytesIO()
    segno.make(public, error="m").save(expected, kind="png", scale=8, border=2)
    assert png.content == expected.getvalue()


def test_a_server_on_every_interface_links_to_the_machines_network_address(unset, served, monkeypatch, client, alice, nps_survey):
    monkeypatch.setattr(base_url, "lan_address", lambda: "192.168.1.20")
    output = served("--host", "0.0.0.0", "--port", "8001")  # noqa: S104 - nothing is bound
    assert "start with http://192.168.1.20:8001/" in output and "this machine only" not in output
    assert links.public_url(nps_survey.public_key).startswith("http://192.168.1.20:8001/s/")
    # A phone opening the code sends that host: the server answers it.
    assert "192.168.1.20" in django_settings.ALLOWED_HOSTS
    assert Client().get(f"/s/{nps_survey.public_key}/", HTTP_HOST="192.168.1.20:8001").status_code == 200
    client.force_login(alice)
    assert WARNING not in _survey_page(client, nps_survey)


def test_the_network_address_is_not_loopback_when_the_machine_has_one():
    address = base_url.lan_address()
    assert address == socket.gethostname() or not base_url.unreachable(f"http://{address}/")
    assert base_url.server_url("::", 80).startswith("http://") and base_url.server_url("::1", 8000) == "http://[::1]:8000"


def test_the_worker_sends_emails_with_the_servers_address(unset, served, smtp, alice, nps_survey):
    served("--port", "9124")
    # The worker is another process: it has no server address of its own, only the data folder's.
    base_url.server_url_forget()
    assert (Path(unset) / base_url.FILE_NAME).read_text().strip() == "http://127.0.0.1:9124"
    customer = make_customer("Li Na", owner=alice, email="ln@example.com", consent_survey=True)
    invitations_create(survey=nps_survey, customers=[customer])
    run_worker()
    [message] = smtp.to("ln@example.com")
    urls = links_in(body(message, "plain"))
    assert urls and all(u.startswith("http://127.0.0.1:9124/") for u in urls)


def test_an_explicit_base_url_wins(unset, served, settings, client, alice, nps_survey):
    (Path(unset) / base_url.FILE_NAME).write_text("http://127.0.0.1:7000\n")
    settings.PATRON_BASE_URL = "https://crm.example.com"
    output = served("--host", "0.0.0.0", "--port", "9125")  # noqa: S104 - nothing is bound
    assert "start with https://crm.example.com/" in output
    assert not (Path(unset) / base_url.FILE_NAME).exists()  # the stale address is gone
    client.force_login(alice)
    page = _survey_page(client, nps_survey, HTTP_HOST="localhost")
    assert f'href="https://crm.example.com/s/{nps_survey.public_key}/"' in page and WARNING not in page
    assert links.absolute("/x/") == "https://crm.example.com/x/"


def test_without_a_server_address_a_page_uses_its_own_host(unset, settings, client, alice, nps_survey):
    settings.ALLOWED_HOSTS = ["crm.lan", "127.0.0.1", "localhost"]
    client.force_login(alice)
    page = _survey_page(client, nps_survey, HTTP_HOST="crm.lan:8443")
    assert f'href="http://crm.lan:8443/s/{nps_survey.public_key}/"' in page and WARNING not in page
    svg = client.get(f"/feedback/surveys/{nps_survey.pk}/qr.svg", HTTP_HOST="crm.lan:8443")
    expected = io.BytesIO()
    segno.make(f"http://crm.lan:8443/s/{nps_survey.public_key}/", error="m").save(expected, kind="svg", scale=8, border=2)
    assert svg.content == expected.getvalue()
    page = _survey_page(client, nps_survey, HTTP_HOST="localhost:8000")
    assert f'href="http://localhost:8000/s/{nps_survey.public_key}/"' in page and WARNING in page
    # No request, no server: where `patron serve` listens by default.
    assert links.absolute("/x/") == "http://127.0.0.1:8000/x/"


def test_a_server_on_loopback_behind_a_proxy_links_to_the_proxys_host(unset, served, settings, client, alice, nps_survey):
    served("--port", "8000")
    settings.ALLOWED_HOSTS = [*django_settings.ALLOWED_HOSTS, "crm.example.com"]
    client.force_login(alice)
    page = _survey_page(client, nps_survey, HTTP_HOST="crm.example.com", secure=True)
    assert f'href="https://crm.example.com/s/{nps_survey.public_key}/"' in page and WARNING not in page


@pytest.mark.django_db(transaction=True)
def test_the_live_servers_page_links_to_its_own_port_and_warns(unset, live_server, alice):
    survey = survey_create(name="Counter", kind="nps")
    client = Client()
    client.force_login(alice)
    request = urllib.request.Request(
        f"{live_server.url}/feedback/surveys/{survey.pk}/",
        headers={"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        page = response.read().decode()
    assert f'href="{live_server.url}/s/{survey.public_key}/"' in page
    assert WARNING in page and "will not open on other devices" in page


@pytest.mark.parametrize(
    ("url", "unreachable"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.1.2.3", True),
        ("http://localhost:9000", True),
        ("http://app.localhost", True),
        ("http://[::1]:8000", True),
        ("http://0.0.0.0:8000", True),
        ("http://192.168.1.20:8000", False),
        ("https://crm.example.com", False),
        ("http://[2001:db8::1]", False),
    ],
)
def test_which_addresses_open_on_this_machine_only(url, unreachable):
    assert base_url.unreachable(url) is unreachable



def test_a_link_handed_back_by_the_api_uses_the_address_the_caller_reached(unset, settings, client, alice, nps_survey):
    from patron.core.tokens import token_create

    settings.ALLOWED_HOSTS = ["crm.lan", "127.0.0.1", "localhost"]
    _token, raw = token_create(user=alice)
    customer = make_customer("Linked", owner=alice, consent_survey=True)
    answer = client.post(
        f"/api/v1/surveys/{nps_survey.pk}/invitations", {"customers": [customer.pk], "channel": "link"},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_HOST="crm.lan:8443",
    )
    assert answer.status_code == 202, answer.content
    [item] = answer.json()["queued"]
    assert item["url"].startswith("http://crm.lan:8443/s/i/")
    assert client.get(item["url"].removeprefix("http://crm.lan:8443"), HTTP_HOST="crm.lan:8443").status_code == 200
