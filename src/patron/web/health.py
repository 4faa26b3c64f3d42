"""``/health/``: for load balancers and monitors; public, and it reveals nothing but "ok"."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from patron.core.errors import database_unavailable


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
