"""Health endpoints, public, revealing no names, counts or versions.

``/health/``: for load balancers; 200 while this server reaches the database, else 503.
``/healthz``: for monitoring the whole installation: the database, the newest worker heartbeat's
age and the last finished scoring run's age, each against its threshold (settings
``PATRON_HEALTH_*``); 503 when one fails. A load balancer should use ``/health/``: a worker that
is down does not make a web server unable to answer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from patron.core.errors import database_unavailable
from patron.core.workers import heartbeat_age
from patron.insights.models import ScoringRun


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not (a server restarting)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 ``{"status": "ok", ...}`` or 503 ``{"status": "failing", "failing": [...], ...}``."""
    now = timezone.now()
    try:
        beat = heartbeat_age(now)
        scored = (
            ScoringRun.objects.filter(status=ScoringRun.Status.DONE, finished_at__isnull=False)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        down: dict[str, object] = {
            "status": "failing",
            "failing": ["database"],
            "database": "unreachable",
            "worker_heartbeat_age_seconds": None,
            "last_scoring_run_age_seconds": None,
        }
        return JsonResponse(down, status=503)
    # Ages in whole seconds (a clock a little ahead on one host gives 0, not a negative age).
    beat_age = None if beat is None else round(beat)
    scored_age = None if scored is None else max(0, round((now - scored).total_seconds()))
    failing: list[str] = []
    worker_limit = settings.PATRON_HEALTH_WORKER_MAX_AGE_SECONDS
    if worker_limit and (beat_age is None or beat_age > worker_limit):
        failing.append("worker_heartbeat")
    scoring_limit = settings.PATRON_HEALTH_SCORING_MAX_AGE_HOURS * 3600
    if scoring_limit and (scored_age is None or scored_age > scoring_limit):
        failing.append("last_scoring_run")
    body: dict[str, object] = {
        "status": "failing" if failing else "ok",
        "failing": failing,
        "database": "ok",
        "worker_heartbeat_age_seconds": beat_age,
        "last_scoring_run_age_seconds": scored_age,
    }
    return JsonResponse(body, status=503 if failing else 200)
