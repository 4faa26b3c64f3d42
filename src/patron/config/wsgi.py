"""The WSGI application.

Clicks on the links of survey emails (``/s/i/<token>/?score=N``) arrive by the thousand after a
mailing and need none of the session, login, CSRF or message machinery: they go through the
same Django views with a shorter middleware stack (security headers and the HTTPS redirect,
Content-Security-Policy, language, common, frame options), a URL resolver that knows only their one route, and no per-request connection health
check (``SELECT 1``): the view's first query retries once on a new connection instead (see
``feedback.selectors.invitation_for_answer``). Every other request gets the full stack of
``settings.MIDDLEWARE``, the whole URL configuration and the health check.
"""

import os
from collections.abc import Callable, Iterable
from typing import Any, cast

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.http import HttpRequest
from django.urls import URLResolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, ResolverMatch

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")

ANSWER_LINKS = "/s/i/"
ANSWER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "patron.config.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


class AnswerLinkHandler(WSGIHandler):
    """Django's handler with only ``ANSWER_MIDDLEWARE`` (kept in the order of the settings)."""

    _resolver: URLResolver | None = None

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [m for m in full if m in ANSWER_MIDDLEWARE]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full

    def get_response(self, request: HttpRequest) -> Any:
        # Not checked at the request's start: invitation_for_answer retries on a dropped connection.
        cast(Any, connection).health_check_done = True
        return super().get_response(request)

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        resolver = self._resolver
        if resolver is None:
            from patron.feedback import urls  # after django.setup()

            # The answer route itself, as feedback.urls declares it, alone in its namespace.
            route = [p for p in urls.urlpatterns if getattr(p, "name", None) == "answer"]
            inner = URLResolver(RegexPattern(r""), route, app_name=urls.app_name, namespace=urls.app_name)
            resolver = type(self)._resolver = URLResolver(RegexPattern(r"^/"), [inner])
        try:
            match = resolver.resolve(request.path_info)
        except Resolver404:  # not an answer link after all: the whole URL configuration decides
            return super().resolve_request(request)
        request.resolver_match = match
        return match


_full = get_wsgi_application()
_answers = AnswerLinkHandler()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    handler = _answers if environ.get("PATH_INFO", "").startswith(ANSWER_LINKS) else _full
    return handler(environ, start_response)
