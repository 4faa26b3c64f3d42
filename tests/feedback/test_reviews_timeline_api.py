"""Quarterly reviews, the scheduler, the timeline and 360° page, the feed and the API."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from patron.core import scheduler
from patron.core.tokens import token_create
from patron.customers.timeline import customer_timeline
from patron.feedback.models import Invitation, Response, Review
from patron.feedback.services.answers import response_create
from patron.feedback.services.follow_ups import follow_up_close
from patron.feedback.services.invitations import invitations_create
from patron.feedback.services.reviews import review_complete, reviews_create_for_quarter
from tests.factories import make_customer, make_user
from tests.feedback.conftest import run_worker

pytestmark = pytest.mark.django_db


def _auth(user):
    _t, raw = token_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_quarterly_reviews_once_per_quarter_and_on_timeline(alice):
    key = make_customer("Key Co", owner=alice, kind="company", is_key_account=True)
    make_customer("Small Co", owner=alice, kind="company")
    assert reviews_create_for_quarter(quarter="2026Q4") == 1
    assert reviews_create_for_quarter(quarter="2026Q4") == 0
    review = Review.objects.get()
    assert (review.customer, review.owner, review.quarter) == (key, alice, "2026Q4")
    review_complete(review=review, user=alice, nps=9, notes="Renewal likely; wants API access.")
    entries = customer_timeline(key).entries
    assert [(e.kind, e.title) for e in entries] == [("review", "Quarterly review 2026Q4: NPS 9")]
    with pytest.raises(ValidationError):
        review_complete(review=review, user=alice, nps=11, notes="x")


def test_scheduler_enqueues_each_period_once_and_worker_runs_it(alice, monkeypatch):
    mine = {"follow_ups_escalate", "reviews_create_quarterly"}
    monkeypatch.setattr(scheduler, "_JOBS", {k: v for k, v in scheduler._JOBS.items() if k in mine})
    make_customer("Key", owner=alice, is_key_account=True)
    moment = timezone.make_aware(datetime(2026, 11, 23, 10, 7))
    first = scheduler.enqueue_due(moment)
    assert sorted(first) == ["follow_ups_escalate:2026-11-23T10:00", "reviews_create_quarterly:2026Q4"]
    assert scheduler.enqueue_due(moment.replace(minute=9)) == []
    assert scheduler.enqueue_due(moment.replace(minute=12)) == ["follow_ups_escalate:2026-11-23T10:10"]
    run_worker()
    assert Review.objects.filter(quarter="2026Q4").count() == 1
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 3


def test_responses_and_follow_ups_on_timeline_and_360_at_once(client, alice, nps_survey):
    customer = make_customer("Seen", owner=alice)
    response_create(survey=nps_survey, customer=customer, score=9, channel="api", comment="Lovely")
    response_create(survey=nps_survey, customer=customer, score=3, channel="api", comment="Broken on arrival")
    kinds = [e.kind for e in customer_timeline(customer).entries]
    assert sorted(kinds) == ["follow_up", "response", "response"]
    client.force_login(alice)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "NPS 0 ± " in page and "(n = 2)" in page  # one promoter, one detractor
    assert "Broken on arrival" in page and "Open follow-ups" in page and "Detractor (score 3)" in page
    from patron.feedback.models import FollowUp

    follow_up_close(follow_up=FollowUp.objects.get(), user=alice, root_cause="product", action_taken="Replaced", outcome="resolved")
    assert "No open follow-ups." in client.get(customer.get_absolute_url()).content.decode()


def test_send_a_survey_quick_action(client, alice, nora, nps_survey):
    customer = make_customer("Quick", owner=alice, email="q@example.com", consent_survey=True)
    client.force_login(alice)
    assert client.post(f"/customers/{customer.pk}/survey/", {"survey": nps_survey.pk}).status_code == 302
    assert Invitation.objects.filter(customer=customer, channel="email").count() == 1
    again = client.post(f"/customers/{customer.pk}/survey/", {"survey": nps_survey.pk}, follow=True)
    assert "invited to a survey recently" in again.content.decode()
    client.force_login(nora)  # analysts read but do not act
    assert client.post(f"/customers/{customer.pk}/survey/", {"survey": nps_survey.pk}).status_code == 403


def test_feed_page_filters_and_polls(client, alice, bob, nps_survey, north):
    mine = make_customer("Mine", owner=alice)
    other = make_customer("Bobs Client", owner=bob)
    first = response_create(survey=nps_survey, customer=mine, score=10, channel="api")
    response_create(survey=nps_survey, customer=other, score=1, channel="api")
    client.force_login(alice)
    page = client.get("/feedback/").content.decode()
    assert "Mine" in page and "Bobs Client" not in page and "(n = 1)" in page
    assert "Mine" not in client.get("/feedback/?class=detractor").content.decode().split('id="feed-list"')[1]
    later = response_create(survey=nps_survey, customer=mine, score=4, channel="api", branch=north)
    rows = client.get(f"/feedback/feed/rows/?after={first.pk}").content.decode()
    assert f'data-id="{later.pk}"' in rows and f'data-id="{first.pk}"' not in rows
    assert f"after={later.pk}" in rows  # the next poll starts after the newest row
    assert client.get(f"/feedback/feed/rows/?after={later.pk}").content.decode().count("data-id") == 0
    assert client.get("/feedback/feed/rows/?after=abc&survey=x&class=nope").status_code == 200


def test_api_surveys_invitations_and_lists(client, alice, bob, cx, root, nps_survey):
    assert client.post("/api/v1/surveys", {"name": "x"}, content_type="application/json").status_code == 401
    denied = client.post("/api/v1/surveys", {"name": "x"}, content_type="application/json", **_auth(alice))
    assert denied.status_code == 403
    auth = _auth(cx)
    bad_kind = client.post("/api/v1/surveys", {"name": "x", "kind": "stars"}, content_type="application/json", **auth)
    assert bad_kind.status_code == 422
    five = [{"kind": "text", "text_en": f"Q{i}"} for i in range(5)]
    too_many = client.post("/api/v1/surveys", {"name": "Long", "questions": five}, content_type="application/json", **auth)
    assert too_many.status_code == 422 and too_many.json()["code"] == "too_many_questions"
    ok = client.post("/api/v1/surveys", {"name": "CSAT", "kind": "csat"}, content_type="application/json", **auth)
    assert ok.status_code == 201 and ok.json()["questions"][0]["kind"] == "csat"
    assert client.get(f"/api/v1/surveys/{ok.json()['id']}", **auth).json()["name"] == "CSAT"

    customer = make_customer("Linked", owner=alice, consent_survey=True)
    links_answer = client.post(
        f"/api/v1/surveys/{nps_survey.pk}/invitations", {"customers": [customer.pk], "channel": "link"},
        content_type="application/json", **_auth(alice),
    ).json()
    [item] = links_answer["queued"]
    assert item["status"] == "ready" and item["url"].startswith("https://crm.example.com/s/i/")
    path = item["url"].removeprefix("https://crm.example.com")
    assert client.get(path + "?score=9").status_code == 200
    listed = client.get(f"/api/v1/responses?customer={customer.pk}", **_auth(alice)).json()
    assert [(r["score"], r["customer"], r["channel"]) for r in listed["items"]] == [(9, customer.pk, "link")]
    assert client.get(f"/api/v1/responses?customer={customer.pk}", **_auth(bob)).json()["count"] == 0
    assert client.get("/api/v1/follow-ups?status=open", **_auth(alice)).json()["count"] == 0
    analyst = make_user("ana", "analyst")
    refused = client.post(
        f"/api/v1/surveys/{nps_survey.pk}/invitations", {"customers": [customer.pk]}, content_type="application/json",
        **_auth(analyst),
    )
    assert refused.status_code == 403
    assert Response.objects.count() == 1
    assert invitations_create  # imported for symmetry with the service tests


def test_survey_pages_and_admin(client, alice, cx, root, nps_survey, north):
    response_create(survey=nps_survey, customer=make_customer("P", owner=alice), score=10, channel="api")
    client.force_login(alice)
    listing = client.get("/feedback/surveys/").content.decode()
    assert "Relationship NPS" in listing and "NPS 100 ± 0 (n = 1)" in listing
    assert client.post("/feedback/surveys/", {"name": "Nope", "kind": "nps", "purpose": "relationship",
                                              "touchpoint": "relationship"}).status_code == 403
    detail = client.get(f"/feedback/surveys/{nps_survey.pk}/").content.decode()
    assert f"/s/{nps_survey.public_key}/?b={north.code}" in detail and "kiosk" in detail
    client.force_login(cx)
    created = client.post("/feedback/surveys/", {"name": "Claims CES", "kind": "ces", "purpose": "transactional",
                                                 "touchpoint": "claim", "allow_comment": "on"})
    assert created.status_code == 302
    client.force_login(root)
    assert client.get("/admin/feedback/survey/").status_code == 200
    assert client.get(f"/admin/feedback/survey/{nps_survey.pk}/change/").status_code == 200
    assert client.get("/admin/feedback/invitation/").status_code == 200
    assert client.get("/feedback/reviews/").status_code == 200
