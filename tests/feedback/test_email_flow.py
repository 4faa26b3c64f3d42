"""The one-click email flow, end to end: API → worker → real SMTP → link → stored answer."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from patron.core.tokens import token_create
from patron.feedback.models import FollowUp, Invitation, Response
from patron.feedback.services.follow_ups import follow_up_alerts_send
from patron.feedback.services.invitations import invitations_create
from tests.factories import make_customer
from tests.feedback.conftest import body, links_in, run_worker

pytestmark = pytest.mark.django_db


def _auth(user) -> dict[str, str]:
    _token, raw = token_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_api_invites_worker_sends_click_records_answer(client, smtp, alice, bob, cx, settings):
    settings.PATRON_BASE_URL = "https://crm.example.com/patron"
    alice.email = "alice@example.com"
    alice.save(update_fields=["email"])
    happy = make_customer("Wang Fang", owner=alice, email="wf@example.com", consent_survey=True)
    no_consent = make_customer("No Consent", owner=alice, email="nc@example.com")
    no_email = make_customer("No Email", owner=alice, consent_survey=True)
    bobs = make_customer("Bob's", owner=bob, email="b@example.com", consent_survey=True)
    auth = _auth(alice)

    created = client.post("/api/v1/surveys", {"name": "After purchase", "kind": "nps"}, content_type="application/json", **_auth(cx))
    assert created.status_code == 201, created.content
    survey_id = created.json()["id"]

    answer = client.post(
        f"/api/v1/surveys/{survey_id}/invitations",
        {"customers": [happy.pk, no_consent.pk, no_email.pk, bobs.pk, 999999], "channel": "email"},
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 202, answer.content
    data = answer.json()
    assert [q["customer"] for q in data["queued"]] == [happy.pk]
    assert {s["customer"]: s["reason"] for s in data["skipped"]} == {
        no_consent.pk: "no_consent", no_email.pk: "no_email", bobs.pk: "not_visible", 999999: "not_visible",
    }
    assert smtp.messages == []  # queued, not sent in the request

    run_worker()
    [message] = smtp.to("wf@example.com")
    text, html = body(message, "plain"), body(message, "html")
    score_links = [u for u in links_in(text) if "score=" in u]
    assert len(score_links) == 11
    assert [urlsplit(u).query for u in score_links] == [f"score={n}" for n in range(11)]
    assert all(u.startswith("https://crm.example.com/patron/s/i/") for u in score_links)
    assert all(u.replace("&amp;", "&") in html or u in html for u in score_links)
    assert "unsubscribe" in message["List-Unsubscribe"].lower() or "/s/u/" in message["List-Unsubscribe"]
    assert any("/s/u/" in u for u in links_in(text))
    assert Invitation.objects.get(customer=happy).sent_at is not None

    # A plain GET on the link for 3 records the answer (the test client needs the path only).
    path = urlsplit(score_links[3]).path.removeprefix("/patron") + "?score=3"
    page = client.get(path)
    assert page.status_code == 200
    assert "Your score: 3" in page.content.decode()
    stored = Response.objects.get(customer=happy)
    assert (stored.score, stored.channel, stored.score_class, stored.survey_id) == (3, "email", "detractor", survey_id)

    # The same click again changes nothing; another score is refused.
    assert client.get(path).status_code == 200
    refused = client.get(path.replace("score=3", "score=9"))
    assert refused.status_code == 409
    assert Response.objects.filter(customer=happy).count() == 1
    assert Response.objects.get(customer=happy).score == 3

    # The detractor opened a follow-up for the owner, due in 48 hours, and the owner is alerted.
    follow_up = FollowUp.objects.get(customer=happy)
    assert follow_up.owner == alice
    assert abs((follow_up.due_at - follow_up.opened_at) - timedelta(hours=48)) < timedelta(seconds=1)
    run_worker()
    assert smtp.to("alice@example.com") == []  # the alert goes with the next run of its job
    assert follow_up_alerts_send() == {"sent": 1, "skipped": 0, "failed": 0}
    [alert] = smtp.to("alice@example.com")
    assert "Wang Fang" in alert["Subject"]
    assert follow_up_alerts_send() == {"sent": 0, "skipped": 0, "failed": 0}  # once only

    listed = client.get(f"/api/v1/responses?customer={happy.pk}", **auth).json()
    assert [(r["customer"], r["score"]) for r in listed["items"]] == [(happy.pk, 3)]
    follow_ups = client.get(f"/api/v1/follow-ups?customer={happy.pk}", **auth).json()
    assert [(f["customer"], f["status"]) for f in follow_ups["items"]] == [(happy.pk, "open")]


def test_comment_added_and_changed_on_thank_you_page(client, smtp, alice, nps_survey):
    customer = make_customer("Li Lei", owner=alice, email="ll@example.com", consent_survey=True)
    invitations_create(survey=nps_survey, customers=[customer])
    run_worker()
    link = next(u for u in links_in(body(smtp.messages[0], "plain")) if "score=10" in u)
    page = client.get(urlsplit(link).path + "?score=10")
    action = re.search(r'action="(/s/r/[^"]+)"', page.content.decode()).group(1)
    assert client.post(action, {"comment": "Fast delivery"}).status_code == 200
    assert Response.objects.get(customer=customer).comment == "Fast delivery"
    # Coming back through the email link shows the comment and lets the customer change it.
    again = client.get(urlsplit(link).path + "?score=10")
    assert "Fast delivery" in again.content.decode()
    # The form already sent works no more; the page's new one does.
    assert client.post(action, {"comment": "Slow"}).status_code == 410
    fresh = re.search(r'action="(/s/r/[^"]+)"', again.content.decode()).group(1)
    assert client.post(fresh, {"comment": "Fast delivery, friendly driver"}).status_code == 200
    assert Response.objects.get(customer=customer).comment == "Fast delivery, friendly driver"


def test_email_is_in_the_customers_language(smtp, alice, nps_survey):
    customer = make_customer("张伟", owner=alice, email="zw@example.com", consent_survey=True)
    batch = invitations_create(survey=nps_survey, customers=[customer])
    assert batch.queued[0].language == "zh-hans"
    explicit = make_customer("Chan Tai Man", owner=alice, email="ctm@example.com", consent_survey=True)
    assert invitations_create(survey=nps_survey, customers=[explicit], language="zh-hant").queued[0].language == "zh-hant"
    run_worker()
    assert len(smtp.messages) == 2


def test_smtp_failure_is_recorded_and_others_still_go(settings, alice, nps_survey):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    customer = make_customer("Down", owner=alice, email="d@example.com", consent_survey=True)
    invitations_create(survey=nps_survey, customers=[customer])
    run_worker()
    invitation = Invitation.objects.get(customer=customer)
    assert invitation.sent_at is None and invitation.send_error


def test_expired_invitation_is_not_sent(smtp, alice, nps_survey):
    customer = make_customer("Late", owner=alice, email="l@example.com", consent_survey=True)
    invitations_create(survey=nps_survey, customers=[customer], now=timezone.now() - timedelta(days=40))
    run_worker()
    assert smtp.messages == []
