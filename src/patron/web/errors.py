"""The answer to a request the server could not complete.

A database that cannot be reached (PostgreSQL restarting, a network cut) is a 503 that says so
and asks to retry (``Retry-After``): in the API's error shape under /api/, as a short page
elsewhere, rendered without touching the database. Everything else is the app's 500 page. Django
calls ``server_error`` while the exception is being handled, wherever it was raised (a view, a
middleware such as the session's), so ``sys.exc_info()`` names it.
"""

from __future__ import annotations

import json
import logging
import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.middleware.csrf import get_token
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

from patron.core.errors import database_unavailable

RETRY_AFTER_SECONDS = 5
logger = logging.getLogger(__name__)


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
    """``handler500``: the app's header, a sentence and a way home (``500.html``).

    Rendered without the context processors, which read the session, the user and the database
    (any of them may be what failed): the page gets only what is safe to compute, so the header
    shows the brand and the language switcher, not the user's navigation. Should even that fail,
    Django's bare page.
    """
    if database_unavailable(sys.exc_info()[1]):
        return unavailable(request)
    try:
        context = {
            "request": request,
            "csrf_token": get_token(request),
            "patron_languages": settings.LANGUAGES,
        }
        page = loader.get_template("500.html").render(context)
    except Exception:
        logger.exception("the 500 page could not be rendered")
        return HttpResponseServerError(defaults.ERROR_PAGE_TEMPLATE % {"title": "Server Error (500)", "details": ""})
    return HttpResponse(page, status=500)
