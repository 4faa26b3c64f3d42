"""The answer to a request the server could not complete.

A database that cannot be reached (PostgreSQL restarting, a network cut) is a 503 that says so
and asks to retry (``Retry-After``): in the API's error shape under /api/, as a short page
elsewhere, rendered without touching the database. Everything else is Django's 500 page. Django
calls ``server_error`` while the exception is being handled, wherever it was raised (a view, a
middleware such as the session's), so ``sys.exc_info()`` names it.
"""

from __future__ import annotations

import json
import sys

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

from patron.core.errors import database_unavailable

RETRY_AFTER_SECONDS = 5


def unavailable(request: HttpRequest) -> HttpResponse:
    message = _("The database is not available right now. Please try again in a moment.")
    if request.path.startswith("/api/"):
        body = json.dumps({"code": "database_unavailable", "message": message, "details": None})
        response = HttpResponse(body, status=503, content_type="application/json; charset=utf-8")
    else:
        page = loader.get_template("web/unavailable.html").render({"message": message})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``."""
    if database_unavailable(sys.exc_info()[1]):
        return unavailable(request)
    return defaults.server_error(request)
