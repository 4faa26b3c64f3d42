"""Feedback fixtures: a real SMTP server on loopback, surveys, and the worker run for real."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.core.mail.utils import DNS_NAME
from django.core.management import call_command


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"<>]+", text)


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    # Django asks the resolver for this host's FQDN before its first SMTP greeting; with no DNS
    # on the test machine that lookup alone takes half a minute.
    DNS_NAME._fqdn = "localhost"
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "patron.core.mail.SMTPBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    yield inbox
    controller.stop()


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    settings.PATRON_BASE_URL = "https://crm.example.com"
    cache.clear()
    yield
    cache.clear()


def run_worker() -> None:
    """What `patron worker` does, once: run every queued task (no periodic jobs).

    The worker recycles database connections between tasks; inside a test's transaction on
    PostgreSQL that would close the connection holding the test's data, so it is skipped here.
    """
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("worker", batch=True, no_schedule=True, verbosity=0)


@pytest.fixture
def nps_survey(db):
    from patron.feedback.services.surveys import survey_create

    return survey_create(name="Relationship NPS", kind="nps")


@pytest.fixture
def cx(db):
    from tests.factories import make_user

    return make_user("cora", "cx")
