"""Each invitation goes once: the hand-over marker at SMTP's point of no return (core.mail),
a stable Message-ID, and what a refusal or a lost connection leave behind. The worker killed
for real: tests/faults/test_worker_kill.py."""

from __future__ import annotations

import socket
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from patron.feedback import emails, sending
from patron.feedback.models import Invitation
from patron.feedback.services.invitations import invitations_create
from tests.factories import make_customer
from tests.feedback.conftest import Inbox, run_worker

pytestmark = pytest.mark.django_db


def _invite(nps_survey, *names):
    people = [make_customer(n, email=f"{n}@example.com", consent_survey=True) for n in names]
    return invitations_create(survey=nps_survey, customers=people, channel="email").queued


def test_the_message_id_is_the_same_every_time(nps_survey):
    [invitation] = _invite(nps_survey, "ann")
    first = emails.invitation_message(invitation).message()["Message-ID"]
    assert first == emails.invitation_message(invitation).message()["Message-ID"]
    [other] = _invite(nps_survey, "ben")
    assert emails.invitation_message(other).message()["Message-ID"] != first


def test_sending_marks_each_invitation_handed_over_then_sent(smtp, nps_survey):
    _invite(nps_survey, "ann", "ben")
    run_worker()
    assert sorted(m["To"] for m in smtp.messages) == ["ann@example.com", "ben@example.com"]
    for invitation in Invitation.objects.all():
        assert invitation.handed_over_at is not None and invitation.sent_at is not None
        assert invitation.handed_over_at <= invitation.sent_at


def test_an_invitation_handed_over_before_a_crash_is_not_sent_again(smtp, nps_survey):
    [invitation] = _invite(nps_survey, "ann")
    moment = timezone.now()
    Invitation.objects.filter(pk=invitation.pk).update(handed_over_at=moment)  # the worker died here
    run_worker()
    assert smtp.messages == []
    invitation.refresh_from_db()
    assert invitation.sent_at == moment and invitation.send_error == ""


def test_another_sender_first_the_session_is_dropped_and_the_rest_still_go(smtp, nps_survey):
    taken, other = _invite(nps_survey, "ann", "ben")
    real = sending.invitation_hand_over

    def racing(*, invitation, now=None):
        if invitation.pk == taken.pk:
            raise sending.InvitationTakenError(invitation.pk)
        return real(invitation=invitation, now=now)

    with mock.patch.object(sending, "invitation_hand_over", racing):
        run_worker()
    # The server never got the end of ann's message: it keeps nothing of it.
    assert [m["To"] for m in smtp.messages] == ["ben@example.com"]
    other.refresh_from_db()
    assert other.sent_at is not None


class Refusing(Inbox):
    async def handle_DATA(self, server, session, envelope):
        return "554 5.7.1 Message refused"


@pytest.fixture
def refusing_smtp(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "patron.core.mail.SMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield
    controller.stop()


def test_a_refused_message_is_recorded_and_may_be_sent_again(refusing_smtp, nps_survey):
    [invitation] = _invite(nps_survey, "ann")
    run_worker()
    invitation.refresh_from_db()
    assert invitation.sent_at is None and invitation.handed_over_at is None
    assert "refused" in invitation.send_error
