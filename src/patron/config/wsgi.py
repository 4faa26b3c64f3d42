"""The WSGI application.

Clicks on the links of survey emails (``/s/i/<token>/?score=N``) arrive by the thousand after a
mailing and need none of the session, login, CSRF or message machinery: they go through the
same Django views with a shorter middleware stack (security headers, language, common, frame
options). Every other request gets the full stack of ``settings.MIDDLEWARE``.
"""

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")

ANSWER_LINKS = "/s/i/"
ANSWER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


class AnswerLinkHandler(WSGIHandler):
    """Django's handler with only ``ANSWER_MIDDLEWARE`` (kept in the order of the settings)."""

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [m for m in full if m in ANSWER_MIDDLEWARE]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


_full = get_wsgi_application()
_answers = AnswerLinkHandler()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    handler = _answers if environ.get("PATH_INFO", "").startswith(ANSWER_LINKS) else _full
    return handler(environ, start_response)
