"""``GET /healthz``: the database, the newest worker heartbeat and the last scoring run, each
against its threshold; public, and nothing in it but those three facts."""

from __future__ import annotations

import http.client
import socket
import subprocess
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from patron.core import workers
from patron.core.models import WorkerHeartbeat
from patron.insights.models import ScoringRun
from tests.faults.conftest import PATRON, child_env, wait_for

pytestmark = pytest.mark.django_db


def _run(days_ago: float, status: str = ScoringRun.Status.DONE) -> ScoringRun:
    finished = timezone.now() - timedelta(days=days_ago)
    return ScoringRun.objects.create(
        as_of=finished.date() - timedelta(days=int(days_ago * 10) + 1), status=status,
        started_at=finished - timedelta(minutes=1), finished_at=finished if status == ScoringRun.Status.DONE else None,
    )


def test_a_fresh_installation_fails_both_checks():
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "failing", "failing": ["worker_heartbeat", "last_scoring_run"], "database": "ok",
        "worker_heartbeat_age_seconds": None, "last_scoring_run_age_seconds": None,
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_live_worker_and_a_recent_run_are_healthy():
    workers.beat("host:1:1", timezone.now())
    _run(days_ago=0.5)
    _run(days_ago=0.01, status=ScoringRun.Status.FAILED)  # a failed run is not a scoring run done
    body = Client().get("/healthz").json()
    assert body["status"] == "ok" and body["failing"] == [] and body["database"] == "ok"
    assert 0 <= body["worker_heartbeat_age_seconds"] < 60
    assert 12 * 3600 - 60 < body["last_scoring_run_age_seconds"] < 12 * 3600 + 60
    assert Client().get("/healthz").status_code == 200


def test_a_silent_worker_or_an_old_run_fails_against_the_thresholds():
    workers.beat("host:1:1", timezone.now())
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(seconds=300))
    _run(days_ago=2)
    response = Client().get("/healthz")
    assert response.status_code == 503 and response.json()["failing"] == ["worker_heartbeat", "last_scoring_run"]
    with override_settings(PATRON_HEALTH_WORKER_MAX_AGE_SECONDS=600, PATRON_HEALTH_SCORING_MAX_AGE_HOURS=72):
        assert Client().get("/healthz").status_code == 200
    # 0: not checked (an installation that scores by hand, or runs no worker on purpose).
    with override_settings(PATRON_HEALTH_WORKER_MAX_AGE_SECONDS=0, PATRON_HEALTH_SCORING_MAX_AGE_HOURS=0):
        assert Client().get("/healthz").status_code == 200


def test_a_beat_keeps_one_row_per_worker_and_forgets_those_silent_for_a_day():
    started = timezone.now()
    workers.beat("host:1:1", started)
    workers.beat("host:1:1", started)
    WorkerHeartbeat.objects.create(worker="gone:2:2", started_at=started, beat_at=started - timedelta(days=2))
    workers.beat("host:3:3", started)
    assert sorted(WorkerHeartbeat.objects.values_list("worker", flat=True)) == ["host:1:1", "host:3:3"]


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_beats(faultdb):
    result = faultdb.run("worker", "--batch", "--no-schedule")
    assert result.returncode == 0, result.stderr
    assert faultdb.value("SELECT count(*) FROM core_workerheartbeat") == 1
    assert faultdb.run("worker", "--heartbeat-interval", "0").returncode == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, bytes] | None:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return None


def test_an_unreachable_database_is_a_503(tmp_path, bytecode):
    """A real server whose PostgreSQL does not answer (nothing listens on its port)."""
    port, dead = _free_port(), _free_port()
    env = child_env(DATABASE_URL=f"postgres://patron@127.0.0.1:{dead}/patron", PATRON_DATA_DIR=str(tmp_path), **bytecode)
    server = subprocess.Popen(
        [*PATRON, "serve", "--no-migrate", "--port", str(port), "--workers", "1"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        status, body = wait_for(lambda: _get(port, "/healthz"), "the server to answer", timeout=300, every=0.5)
        assert status == 503
        assert b'"database": "unreachable"' in body and b'"failing": ["database"]' in body
        assert _get(port, "/health/") == (503, b'{"status": "unavailable", "database": false}')
    finally:
        server.terminate()
        server.wait(timeout=60)
