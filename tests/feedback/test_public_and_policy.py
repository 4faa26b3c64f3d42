"""Public link, kiosk, QR codes, unsubscribe, sampling, fatigue and the contact budget."""

from __future__ import annotations

import io
import random
import re
from datetime import timedelta

import pytest
import segno
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from patron.feedback import links
from patron.feedback.contact_policy import contact_record
from patron.feedback.models import ContactRule, Invitation, Response
from patron.feedback.services.invitations import invitations_create, trigger_invite_customer
from patron.feedback.services.surveys import trigger_create
from patron.feedback.triggers import triggers_fire
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def test_public_link_with_branch_and_comment(client, nps_survey, north):
    url = f"/s/{nps_survey.public_key}/?b={north.code}"
    form = client.get(url).content.decode()
    assert form.count('name="score"') == 11
    thanks = client.post(url, {"score": "8"})
    assert thanks.status_code == 200
    stored = Response.objects.get()
    assert (stored.customer, stored.channel, stored.branch, stored.score_class) == (None, "link", north, "passive")
    action = re.search(r'action="(/s/r/[^"]+)"', thanks.content.decode()).group(1)
    client.post(action, {"comment": "Queue was long"})
    assert Response.objects.get().comment == "Queue was long"


def test_kiosk_is_anonymous_and_resets(client, nps_survey, north):
    url = f"/s/{nps_survey.public_key}/kiosk/?b={north.code}"
    assert "kiosk" in client.get(url).content.decode()
    thanks = client.post(url, {"score": "10"}).content.decode()
    assert f'value="/s/{nps_survey.public_key}/kiosk/?b={north.code}"' in thanks  # the way back to the first screen
    action = re.search(r'action="(/s/r/[^"]+)"', thanks).group(1)
    done = client.post(action, {"comment": "Great staff", "kiosk": url}).content.decode()
    assert 'http-equiv="refresh"' in done and url in done.replace("&amp;", "&")
    stored = Response.objects.get()
    assert (stored.customer, stored.channel, stored.branch, stored.touchpoint, stored.comment) == (
        None, "kiosk", north, "branch", "Great staff",
    )


def test_comment_form_expires(client, nps_survey, monkeypatch):
    thanks = client.post(f"/s/{nps_survey.public_key}/", {"score": "6"}).content.decode()
    action = re.search(r'action="(/s/r/[^"]+)"', thanks).group(1)
    monkeypatch.setattr(links, "COMMENT_TOKEN_SECONDS", -1)
    assert client.post(action, {"comment": "late"}).status_code == 410
    assert Response.objects.get().comment == ""


def test_qr_codes_encode_the_branch_link(client, alice, nps_survey, north):
    client.force_login(alice)
    png = client.get(f"/feedback/surveys/{nps_survey.pk}/qr.png", {"branch": north.code})
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    expected = io.BytesIO()
    segno.make(links.public_url(nps_survey.public_key, north.code), error="m").save(expected, kind="png", scale=8, border=2)
    assert png.content == expected.getvalue()
    svg = client.get(f"/feedback/surveys/{nps_survey.pk}/qr.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert client.get(f"/feedback/surveys/{nps_survey.pk}/qr.png", {"branch": "NOPE"}).status_code == 404


def test_unsubscribe_link_stops_surveys(client, alice, nps_survey):
    customer = make_customer("Opt Out", owner=alice, email="o@example.com", consent_survey=True, consent_email=True)
    url = links.unsubscribe_url(customer.pk).removeprefix("https://crm.example.com")
    assert client.get(url).status_code == 200
    # RFC 8058 one-click: the mail client posts without our CSRF cookie.
    from django.test import Client

    assert Client(enforce_csrf_checks=True).post(url, {}).status_code == 200
    customer.refresh_from_db()
    assert (customer.consent_survey, customer.consent_email) == (False, True)
    assert invitations_create(survey=nps_survey, customers=[customer]).skipped == [(customer.pk, "no_consent")]
    assert client.get(url[:-3] + "xx/").status_code == 403


def test_fatigue_across_surveys(alice, nps_survey, settings):
    from patron.feedback.services.surveys import survey_create

    other = survey_create(name="CSAT", kind="csat")
    customer = make_customer("Tired", owner=alice, email="t@example.com", consent_survey=True)
    assert len(invitations_create(survey=nps_survey, customers=[customer]).queued) == 1
    assert invitations_create(survey=other, customers=[customer]).skipped == [(customer.pk, "fatigue")]
    later = timezone.now() + timedelta(days=91)
    assert len(invitations_create(survey=other, customers=[customer], now=later).queued) == 1
    settings.PATRON_SURVEY_FATIGUE_DAYS = 200
    assert invitations_create(survey=other, customers=[customer], now=later + timedelta(days=100)).skipped == [
        (customer.pk, "fatigue")
    ]


def test_contact_budget_shared_with_campaigns(alice, nps_survey):
    customer = make_customer("Busy", owner=alice, email="b@example.com", consent_survey=True, consent_email=True)
    ContactRule.objects.create(name="Email: 1 a month", channel="email", max_contacts=1, window_days=30)
    contact_record(customer=customer, channel="email", purpose="campaign", ref="campaign:1")
    assert invitations_create(survey=nps_survey, customers=[customer]).skipped == [(customer.pk, "budget")]
    # The link channel is outside that email budget.
    assert len(invitations_create(survey=nps_survey, customers=[customer], channel="link").queued) == 1


def test_a_budget_of_zero_blocks_everyone_it_covers(alice, nps_survey):
    never = make_customer("Never", owner=alice, email="n@example.com", consent_survey=True, consent_email=True)
    ContactRule.objects.create(name="No survey email", purpose="survey", channel="email", max_contacts=0, window_days=30)
    # Never contacted before, still over a budget of none.
    assert invitations_create(survey=nps_survey, customers=[never]).skipped == [(never.pk, "budget")]
    # Another channel is outside the rule.
    assert len(invitations_create(survey=nps_survey, customers=[never], channel="link").queued) == 1


def test_sampling_rate_per_trigger(alice, nps_survey):
    customer = make_customer("Sampled", owner=alice)
    trigger_create(survey=nps_survey, event="order", match="web", touchpoint="purchase", sampling_rate="0.3")
    rng = random.Random(7)
    hits = sum(bool(triggers_fire(event="order", match_value="web", customer_id=customer.pk, rng=rng)) for _ in range(1000))
    assert 250 <= hits <= 350
    assert triggers_fire(event="order", match_value="store", customer_id=customer.pk, rng=rng) == []


def test_order_on_a_channel_schedules_an_invitation_after_the_delay(alice, nps_survey, north):
    customer = make_customer("Buyer", owner=alice, email="buy@example.com", consent_survey=True, branch=north)
    trigger = trigger_create(survey=nps_survey, event="order", match="web", touchpoint="purchase", delay_hours=24)
    before = timezone.now()
    make_order(customer, channel="store")
    assert not DBTaskResult.objects.filter(task_path__endswith="trigger_invite").exists()
    make_order(customer, channel="web")
    [task] = DBTaskResult.objects.filter(task_path__endswith="trigger_invite")
    assert timedelta(hours=23, minutes=59) < task.run_after - before < timedelta(hours=24, minutes=1)
    args = task.args_kwargs["args"]
    batch = trigger_invite_customer(trigger_id=args[0], customer_id=args[1], branch_id=args[2], source=args[3])
    invitation = Invitation.objects.get()
    assert batch is not None and invitation.trigger == trigger and invitation.touchpoint == "purchase"
    assert invitation.source.startswith("order:")


def test_claim_and_call_triggers(alice, nps_survey):
    from patron.commerce.services import cost_event_create
    from patron.engagement.services import interaction_create

    customer = make_customer("Claimant", owner=alice)
    trigger_create(survey=nps_survey, event="cost_event", match="claim", touchpoint="claim", delay_hours=0)
    trigger_create(survey=nps_survey, event="interaction", match="call", touchpoint="call_centre", delay_hours=2)
    cost_event_create(customer=customer, kind="claim", amount=10, occurred_at=timezone.now())
    cost_event_create(customer=customer, kind="delivery", amount=10, occurred_at=timezone.now())
    interaction_create(customer=customer, channel="call", subject="Where is my parcel?")
    interaction_create(customer=customer, channel="email", subject="Thanks")
    assert DBTaskResult.objects.filter(task_path__endswith="trigger_invite").count() == 2
