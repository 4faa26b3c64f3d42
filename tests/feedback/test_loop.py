"""The closed loop: follow-ups, rules, SLA, escalation, closing, reporting, the rep's home."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patron.feedback.models import FollowUp, FollowUpRule
from patron.feedback.selectors import loop_report
from patron.feedback.services.answers import response_create, response_update_comment
from patron.feedback.services.follow_ups import (
    follow_up_alerts_send,
    follow_up_close,
    follow_up_record_contact,
    follow_ups_escalate,
)
from tests.factories import make_customer
from tests.feedback.conftest import body, run_worker

pytestmark = pytest.mark.django_db


def fake_sentiment(text: str, language: str) -> float:
    return -0.8 if "terrible" in text else 0.5


def _answer(survey, customer, score, comment=""):
    return response_create(survey=survey, customer=customer, score=score, channel="api", comment=comment)


def test_detractors_open_follow_ups_promoters_do_not(alice, nps_survey, settings):
    customer = make_customer("Unhappy", owner=alice)
    _answer(nps_survey, customer, 9)
    _answer(nps_survey, customer, 7)
    assert FollowUp.objects.count() == 0
    settings.PATRON_FOLLOW_UP_SLA_HOURS = 24
    response = _answer(nps_survey, customer, 6)
    follow_up = FollowUp.objects.get()
    assert (follow_up.response, follow_up.owner, follow_up.reason) == (response, alice, "Detractor (score 6)")
    assert follow_up.due_at - follow_up.opened_at == timedelta(hours=24)
    assert _answer(nps_survey, None, 0) and FollowUp.objects.count() == 1  # anonymous: nobody to call


def test_keyword_and_sentiment_rules(alice, nps_survey, settings):
    customer = make_customer("Ruled", owner=alice)
    FollowUpRule.objects.create(name="Refund mentioned", keywords="refund, 退款", sla_hours=4)
    _answer(nps_survey, customer, 10, "Great, but I still wait for my 退款")
    follow_up = FollowUp.objects.get()
    assert follow_up.reason == "Rule: Refund mentioned" and follow_up.due_at - follow_up.opened_at == timedelta(hours=4)

    FollowUpRule.objects.create(name="Very negative", sentiment_below=-0.5)
    settings.PATRON_SENTIMENT_FUNCTION = ""
    second = _answer(nps_survey, customer, 8, "terrible service")
    assert not FollowUp.objects.filter(response=second).exists()  # no sentiment function: rule cannot match
    settings.PATRON_SENTIMENT_FUNCTION = "tests.feedback.test_loop.fake_sentiment"
    third = _answer(nps_survey, customer, 8, "")
    assert not FollowUp.objects.filter(response=third).exists()
    # A comment added on the thank-you page is checked too.
    response_update_comment(response=third, comment="terrible service")
    assert FollowUp.objects.get(response=third).reason == "Rule: Very negative"


def test_escalation_to_manager_once(smtp, alice, mia, nps_survey):
    mia.email = "mia@example.com"
    mia.save(update_fields=["email"])
    customer = make_customer("Waiting", owner=alice)
    _answer(nps_survey, customer, 2, "nobody called")
    contacted = make_customer("Called", owner=alice)
    _answer(nps_survey, contacted, 3)
    follow_up_record_contact(follow_up=FollowUp.objects.get(customer=contacted), user=alice)
    later = timezone.now() + timedelta(hours=49)
    escalated = follow_ups_escalate(now=later)
    assert [f.customer for f in escalated] == [customer]
    assert FollowUp.objects.get(customer=customer).escalated_to == mia
    assert follow_ups_escalate(now=later + timedelta(hours=1)) == []
    run_worker()
    [mail] = smtp.to("mia@example.com")
    assert "Overdue follow-up: Waiting" in mail["Subject"] and "nobody called" in body(mail, "plain")


def test_owners_are_alerted_once_by_the_alert_job(smtp, alice, bob, nps_survey, settings):
    alice.email, bob.email = "alice@example.com", ""
    alice.save(update_fields=["email"])
    bob.save(update_fields=["email"])
    _answer(nps_survey, make_customer("Angry", owner=alice), 1, "broken on arrival")
    _answer(nps_survey, make_customer("Nobody's inbox", owner=bob), 2)
    closed = _answer(nps_survey, make_customer("Sorted already", owner=alice), 3)
    follow_up_close(
        follow_up=FollowUp.objects.get(response=closed), user=alice, root_cause="product",
        action_taken="Replaced", outcome="resolved",
    )
    assert FollowUp.objects.filter(alerted_at__isnull=True).count() == 3

    # The mail server is down: nothing is marked, the next run tries again.
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # discard: nothing listens
    down = follow_up_alerts_send()
    assert down["failed"] == 1, down
    assert FollowUp.objects.filter(alerted_at__isnull=True, customer__name="Angry").exists()
    settings.EMAIL_PORT = port

    assert follow_up_alerts_send() == {"sent": 1, "skipped": 2, "failed": 0}
    [mail] = smtp.to("alice@example.com")
    assert "Angry" in mail["Subject"] and "broken on arrival" in body(mail, "plain")
    assert len(smtp.messages) == 1  # no mail for the closed one, none for an owner without address
    assert follow_up_alerts_send() == {"sent": 0, "skipped": 0, "failed": 0}
    assert not FollowUp.objects.filter(alerted_at__isnull=True).exists()


def test_close_the_loop_and_tell_the_customer(smtp, alice, nps_survey):
    customer = make_customer("Told", owner=alice, email="told@example.com", consent_survey=True)
    _answer(nps_survey, customer, 4, "Slow delivery")
    follow_up = FollowUp.objects.get()
    with pytest.raises(ValidationError) as missing:
        follow_up_close(follow_up=follow_up, user=alice, root_cause="", action_taken="", outcome="")
    assert set(missing.value.message_dict) == {"root_cause", "action_taken", "outcome"}
    follow_up_close(
        follow_up=follow_up, user=alice, root_cause="delivery", action_taken="Changed courier", outcome="resolved",
        notify_customer=True, customer_message="We now deliver with a faster courier.",
    )
    run_worker()
    [mail] = smtp.to("told@example.com")
    assert "We now deliver with a faster courier." in body(mail, "plain")
    follow_up.refresh_from_db()
    assert follow_up.customer_notified_at is not None and follow_up.first_contact_at is not None


def test_loop_report(alice, nps_survey):
    now = timezone.now()
    fast, slow, never = (make_customer(n, owner=alice) for n in ("Fast", "Slow", "Never"))
    for c in (fast, slow, never):
        _answer(nps_survey, c, 1)
    f_fast, f_slow = FollowUp.objects.get(customer=fast), FollowUp.objects.get(customer=slow)
    follow_up_record_contact(follow_up=f_fast, user=alice, at=f_fast.opened_at + timedelta(seconds=1))
    FollowUp.objects.filter(pk=f_slow.pk).update(opened_at=now - timedelta(hours=60), due_at=now - timedelta(hours=12))
    f_slow.refresh_from_db()
    follow_up_record_contact(follow_up=f_slow, user=alice, at=now - timedelta(hours=10))
    follow_up_close(follow_up=f_fast, user=alice, root_cause="service", action_taken="Apologised", outcome="resolved")
    report = loop_report(alice, now=now + timedelta(minutes=1))
    assert (report.opened, report.closed, report.contacted, report.within_sla) == (3, 1, 2, 1)
    assert round(report.close_rate or 0) == 33 and round(report.within_sla_rate or 0) == 33
    assert report.median_hours_to_contact == pytest.approx(25.0, abs=0.1)  # median of ~0 h and 50 h


def test_home_lists_my_detractors_and_pages_respect_visibility(client, alice, bob, nps_survey):
    customer = make_customer("Call Me", owner=alice)
    _answer(nps_survey, customer, 0, "Never again")
    follow_up = FollowUp.objects.get()
    client.force_login(alice)
    home = client.get("/").content.decode()
    assert "My detractors to call back" in home and "Call Me" in home and "Never again" in home
    assert client.get(f"/feedback/follow-ups/{follow_up.pk}/").status_code == 200
    page = client.post(f"/feedback/follow-ups/{follow_up.pk}/contact/", {"channel": "call", "note": "Apologised"})
    assert page.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.first_contact_at is not None
    assert client.post(
        f"/feedback/follow-ups/{follow_up.pk}/close/",
        {"root_cause": "product", "action_taken": "Replaced item", "outcome": "resolved"},
    ).status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.closed_at is not None and follow_up.closed_by == alice
    report = client.get("/feedback/follow-ups/?status=all").content.decode()
    assert "100% (1/1)" in report
    client.force_login(bob)
    assert "Call Me" not in client.get("/").content.decode()
    assert client.get(f"/feedback/follow-ups/{follow_up.pk}/").status_code == 404


def test_webhooks_for_responses_and_follow_ups(alice, nps_survey, django_capture_on_commit_callbacks):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from patron.ingest.webhooks import webhook_create

    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        webhook_create(
            name="CX tool", url=f"http://127.0.0.1:{server.server_port}/hook",
            events=["response.received", "follow_up.opened", "follow_up.overdue"],
        )
        customer = make_customer("Hooked", owner=alice)
        with django_capture_on_commit_callbacks(execute=True):
            _answer(nps_survey, customer, 2, "Cold food")
        with django_capture_on_commit_callbacks(execute=True):
            follow_ups_escalate(now=timezone.now() + timedelta(hours=49))
        run_worker()
    finally:
        server.shutdown()
    events = {r["event"]: r["data"] for r in received}
    assert set(events) == {"response.received", "follow_up.opened", "follow_up.overdue"}
    assert (events["response.received"]["customer"], events["response.received"]["score"]) == (customer.pk, 2)
    assert events["follow_up.opened"]["customer"] == customer.pk
