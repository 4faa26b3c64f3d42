"""Escalation, alerts and sending are the worker's: pages that rely on them say when none runs,
and a follow-up shows where its escalation went."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from patron.core.models import WorkerHeartbeat
from patron.core.workers import worker_missing
from patron.feedback.models import FollowUp
from patron.feedback.services.answers import response_create
from patron.feedback.services.follow_ups import follow_ups_escalate
from tests.factories import make_customer

NOTICE = 'data-testid="worker-missing"'


def _beat(seconds_ago: float) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker="w1", defaults={"started_at": now - timedelta(hours=1), "beat_at": now - timedelta(seconds=seconds_ago)}
    )


def _detractor(survey, owner):
    customer = make_customer("Still Waiting", owner=owner)
    response_create(survey=survey, customer=customer, score=1, channel="api", comment="no answer")
    return FollowUp.objects.get(customer=customer)


def test_no_heartbeat_or_an_old_one_means_no_worker(db, settings):
    settings.PATRON_HEALTH_WORKER_MAX_AGE_SECONDS = 120
    assert worker_missing()
    _beat(300)
    assert worker_missing()
    _beat(10)
    assert not worker_missing()


def test_threshold_off_for_healthz_still_judges_a_silent_worker(db, settings):
    settings.PATRON_HEALTH_WORKER_MAX_AGE_SECONDS = 0
    _beat(3600)
    assert worker_missing()


def test_follow_up_pages_say_plainly_when_no_worker_runs(client, alice, nps_survey):
    follow_up = _detractor(nps_survey, alice)
    client.force_login(alice)
    for url in ("/feedback/follow-ups/", f"/feedback/follow-ups/{follow_up.pk}/"):
        page = client.get(url).content.decode()
        assert NOTICE in page and "No background worker is running" in page, url
    _beat(5)
    for url in ("/feedback/follow-ups/", f"/feedback/follow-ups/{follow_up.pk}/"):
        assert NOTICE not in client.get(url).content.decode(), url


def test_follow_up_shows_where_its_escalation_went(client, alice, mia, nps_survey):
    follow_up = _detractor(nps_survey, alice)
    client.force_login(alice)
    before = client.get(f"/feedback/follow-ups/{follow_up.pk}/").content.decode()
    assert "If the first contact is late: to the owner's manager" in before
    follow_ups_escalate(now=timezone.now() + timedelta(days=5))
    after = client.get(f"/feedback/follow-ups/{follow_up.pk}/").content.decode()
    assert f"to {mia}, the owner's manager" in after
    listing = client.get("/feedback/follow-ups/?status=all").content.decode()
    assert "escalated" in listing and "/ 1</td>" in listing
