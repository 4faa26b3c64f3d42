"""The Content-Security-Policy header (settings.CONTENT_SECURITY_POLICY), set by django-csp.

Every Patron response carries the one policy of the settings: no view changes it and no page
uses a nonce. django-csp builds the header string anew for each response (twice, with copies of
its configuration), about as long as the rest of a survey click's middleware together; here it
is built once per process, and requests get no ``csp_nonce`` (the policy has none). A response a
view marked with django-csp's decorators (csp_update, csp_replace, csp_exempt) still goes
through django-csp itself.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# What django-csp's decorators leave on a response.
_PER_VIEW = frozenset({
    "_csp_config", "_csp_update", "_csp_replace", "_csp_exempt",
    "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro",
})
_DEBUG_PAGES = (http.client.NOT_FOUND, http.client.INTERNAL_SERVER_ERROR)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        super().__init__(get_response)
        self._headers = [
            (name, value)
            for name, value in ((HEADER, build_policy()), (HEADER_REPORT_ONLY, build_policy(report_only=True)))
            if value
        ]
        self._excluded = tuple(
            (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
        )

    def process_request(self, request: HttpRequest) -> None:
        """No nonce to offer: the policy allows no inline script or style at all."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if self._excluded or not _PER_VIEW.isdisjoint(vars(response)):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in _DEBUG_PAGES:  # Django's debug pages: as django-csp
            return response
        for name, value in self._headers:
            if name not in response:
                response[name] = value
        return response
