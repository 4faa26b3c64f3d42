"""``kill -9`` the worker while it sends survey invitations to a real SMTP server, at several
points of the SMTP transaction, restart it each time: every invitation arrives exactly once."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections import Counter, defaultdict

import pytest
from aiosmtpd.controller import Controller

from tests.faults.conftest import kill, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

INVITATIONS = 12
STAGE_DELAY = 0.05  # seconds the server takes at each step (a real server's checks, DNS, disk)


class CountingServer:
    """An SMTP server that counts the messages it accepted per recipient, and can stop at the n-th
    EHLO, MAIL, RCPT or DATA until the test has killed the client.

    Like a real server it takes the message when it has read the end of the data and only then
    replies: a kill at "DATA" lands after the server has the message, before the client hears so.
    """

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.message_ids: dict[str, set[str]] = defaultdict(set)
        self.seen: Counter[str] = Counter()
        self.trap: tuple[str, int] | None = None
        self.trapped = threading.Event()
        self.released = threading.Event()

    def arm(self, stage: str, n: int) -> None:
        self.trap = (stage, n)
        self.trapped.clear()
        self.released.clear()

    async def _step(self, stage: str) -> None:
        self.seen[stage] += 1
        await asyncio.sleep(STAGE_DELAY)
        if self.trap == (stage, self.seen[stage]):
            self.trapped.set()
            while not self.released.is_set():  # the test kills the client meanwhile
                await asyncio.sleep(0.01)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        await self._step("EHLO")
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await self._step("MAIL")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._step("RCPT")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for recipient in envelope.rcpt_tos:
            self.accepted[recipient] += 1
            self.message_ids[recipient].add(str(message["Message-ID"]))
        await self._step("DATA")
        return "250 OK"


@pytest.fixture
def smtp_server():
    server = CountingServer()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    yield server, port
    server.released.set()
    controller.stop()


SETUP = """
from patron.customers.services import customer_create
from patron.feedback.services.invitations import invitations_create
from patron.feedback.services.surveys import survey_create
survey = survey_create(name="After the fault", kind="nps")
people = [
    customer_create(name=f"Guest {i}", email=f"guest{i}@example.com", consent_email=True, consent_survey=True)
    for i in range({n})
]
print(len(invitations_create(survey=survey, customers=people, channel="email").queued))
"""

# Where each worker is killed, counting the steps it takes (its 3rd RCPT, ...): during a recipient
# check of its 3rd message (the server has nothing yet), while the server accepts its 3rd message
# (the server has it; the worker has not heard), between its 1st and 2nd message, right after
# it connects.
KILLS = [("RCPT", 3), ("DATA", 3), ("MAIL", 2), ("EHLO", 1)]


def test_a_killed_worker_sends_every_invitation_exactly_once(faultdb, smtp_server):
    server, port = smtp_server
    assert faultdb.shell(SETUP.replace("{n}", str(INVITATIONS))).split()[-1] == str(INVITATIONS)
    recipients = {f"guest{i}@example.com" for i in range(INVITATIONS)}
    mail = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
    in_doubt = []
    for number, (stage, n) in enumerate(KILLS, start=1):
        server.arm(stage, server.seen[stage] + n)
        worker = faultdb.start("worker", "--no-schedule", "--interval", "0.2", name=f"worker{number}", **mail)
        if not server.trapped.wait(timeout=180):
            raise AssertionError(f"worker {number} never reached {stage} {n} ({server.seen}):\n{faultdb.log(f'worker{number}')}")
        kill(worker)
        server.released.set()
        in_doubt += faultdb.sql(
            "SELECT email FROM feedback_invitation WHERE handed_over_at IS NOT NULL AND sent_at IS NULL"
        )
    # The kill during DATA left one invitation handed over, not yet marked sent: the server had it.
    assert len(in_doubt) == 1 and server.accepted[in_doubt[0][0]] == 1

    server.trap = None
    last = faultdb.start("worker", "--no-schedule", "--interval", "0.2", name="worker-last", **mail)
    wait_for(
        lambda: faultdb.value("SELECT count(*) FROM feedback_invitation WHERE sent_at IS NOT NULL") == INVITATIONS,
        "every invitation marked sent",
    )
    last.terminate()
    last.wait(timeout=60)

    assert dict(server.accepted) == dict.fromkeys(recipients, 1), faultdb.log("worker-last")
    # One stable Message-ID per invitation, so a copy would be recognisable as one.
    assert all(len(ids) == 1 for ids in server.message_ids.values())
    assert faultdb.sql("SELECT count(*) FROM feedback_invitation WHERE send_error <> ''") == [(0,)]
    statuses = [s for (s,) in faultdb.sql("SELECT status FROM django_tasks_database_dbtaskresult")]
    assert statuses == ["SUCCESSFUL"]
