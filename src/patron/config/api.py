"""The REST API under /api/v1/: one NinjaAPI; each app contributes a router from its api.py.

Authentication: a bearer token (``patron token create``) or the browser's session (with CSRF
on writes). Every error is JSON ``{"code", "message", "details"}``; bad input is a 4xx, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth

from patron.campaigns.api import router as campaigns_router
from patron.campaigns.campaign_api import router as campaign_router
from patron.campaigns.report_api import router as campaign_report_router
from patron.campaigns.simulate_api import router as campaign_simulate_router
from patron.campaigns.uplift_api import router as uplift_router
from patron.commerce.api import router as commerce_router
from patron.commerce.currency import MissingRateError
from patron.commerce.rates_api import router as rates_router
from patron.core.apikit import (
    ApiError,
    ErrorOut,
    nul_text,
    parse_json_body,
    provide_csv_response,
    validation_details,
    validation_message,
)
from patron.core.audit_api import router as audit_router
from patron.core.errors import DuplicateExternalIdError, database_unavailable
from patron.core.tokens import token_authenticate
from patron.customers.api import router as customers_router
from patron.customers.me import router as me_router
from patron.engagement.api import router as engagement_router
from patron.engagement.timeline_api import router as timeline_router
from patron.feedback.api import router as feedback_router
from patron.ingest.api import router as ingest_router
from patron.ingest.export import csv_response
from patron.sales.api import router as sales_router
from patron.web.errors import unavailable

logger = logging.getLogger("patron.api")


class TokenAuth(HttpBearer):
    """``Authorization: Bearer pat_…``; the token acts as its user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.patron_token_auth = True  # type: ignore[attr-defined]  # the audit log's actor label
        return user


class BrowserSessionAuth(SessionAuth):
    """The signed-in web session, with Django's CSRF check on writes."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        return user if user.is_authenticated and user.is_active else None


class BodyParser(Parser):
    """JSON bodies through the one guard for malformed and too deeply nested input."""

    def parse_body(self, request: HttpRequest) -> Any:
        return parse_json_body(request.body)

    def parse_querydict(self, data: Any, list_fields: list[str], request: HttpRequest) -> Any:
        if any("\x00" in value for _key, values in data.lists() for value in values):
            raise nul_text()
        return super().parse_querydict(data, list_fields, request)


def _unknown_path(request: HttpRequest) -> HttpResponse:
    return _error(request, 404, "not_found", _("There is no API endpoint at %(path)s.") % {"path": request.path})


class PatronAPI(NinjaAPI):
    def _get_urls(self) -> list[URLPattern | URLResolver]:
        # Last, whatever routers are added later: unknown paths answer in the API's error shape.
        return [*super()._get_urls(), re_path(r"^.*$", _unknown_path)]

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        declare_shared_answers(schema)
        return schema


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def declare_shared_answers(schema: Any) -> None:
    """Declare, on every operation, the answers the API's shared machinery gives it, so each
    route declares only its own (403, 409, ...): 401 without credentials, 422 for parameters or a
    body that do not validate, 400 for a body that is not JSON or nests too deep, 413 for one
    that is too large, 404 for a path id that names nothing; and the CSV that ``format=csv``
    streams (``core.apikit.ListParams``)."""
    schema["components"]["schemas"].setdefault("ErrorOut", ErrorOut.model_json_schema())
    for operations in schema["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            parameters = operation.get("parameters", [])

            def declare(status: int, description: str, responses: Any = responses) -> None:
                if status not in responses and str(status) not in responses:
                    responses[status] = {"description": description, "content": _ERROR_CONTENT}

            if operation.get("security"):
                declare(401, "Not authenticated")
            if parameters or "requestBody" in operation:
                declare(422, "Invalid input")
            if "requestBody" in operation:
                declare(400, "The body is not JSON, or nests too deep")
                declare(413, "The body is too large")
            if any(p["in"] == "path" for p in parameters):
                declare(404, "Not found")
            if any(p["in"] == "query" and p["name"] == "format" for p in parameters) and 200 in responses:
                responses[200].setdefault("content", {})["text/csv"] = {
                    "schema": {"type": "string", "description": "With format=csv: every matching record as CSV."}
                }


api = PatronAPI(
    title="Patron API",
    version="1",
    description="Customers, orders, interactions, feedback and scores. Authenticate with "
    "`Authorization: Bearer <token>` (create one with `patron token create --user NAME`).",
    urls_namespace="api",
    auth=[TokenAuth(), BrowserSessionAuth()],
    parser=BodyParser(),
)


def _error(request: HttpRequest, status: int, code: str, message: str, details: Any = None) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "details": details}, status=status)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "throttled",
    503: "unavailable",
}


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error(request, exc.status_code, exc.code, exc.message, exc.details)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request, 401, "unauthenticated", _("Authentication required: send Authorization: Bearer <token>.")
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ApiError):  # ninja wraps what the body parser raised
        return _api_error(request, exc.__cause__)
    status = exc.status_code
    if status == 400 and "parse" in exc.message:
        return _error(request, 400, "malformed_json", _("The request body is not valid JSON."))
    if status == 403 and "CSRF" in exc.message:
        return _error(request, 403, "csrf_failed", _("CSRF check failed: send the csrftoken cookie's value in X-CSRFToken."))
    return _error(request, status, _STATUS_CODES.get(status, "error"), exc.message)


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _error(request, 422, "invalid", validation_message(exc.errors), validation_details(exc.errors))


@api.exception_handler(DuplicateExternalIdError)
def _duplicate(request: HttpRequest, exc: DuplicateExternalIdError) -> HttpResponse:
    return _error(request, 409, "duplicate_external_id", " ".join(exc.messages))


@api.exception_handler(MissingRateError)
def _missing_rate(request: HttpRequest, exc: MissingRateError) -> HttpResponse:
    details = {"currency": exc.currency, "date": exc.day.isoformat()}
    return _error(request, 422, "missing_rate", " ".join(exc.messages), details)


@api.exception_handler(DjangoValidationError)
def _service_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    details = exc.message_dict if hasattr(exc, "error_dict") else None
    if hasattr(exc, "error_dict"):
        codes = {e.code for errors in exc.error_dict.values() for e in errors}
    else:
        codes = {e.code for e in exc.error_list}
    code = getattr(exc, "code", None) or "invalid"
    if code == "unique" or "unique" in codes:
        return _error(request, 409, "conflict", " ".join(exc.messages), details)
    return _error(request, 422, code, " ".join(exc.messages), details)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", str(exc) or _("You may not do this."))


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return _error(request, 413, "too_large", _("The request body is too large."))
    return _error(request, 400, "bad_request", _("The request was refused."))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    if database_unavailable(exc):
        # The server restarting or out of reach: 503, retry later (the transaction was rolled back).
        return unavailable(request)
    return _server_error(request, exc)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug, not bad input: logged with its traceback, answered in the API's error shape.
    logger.exception("API error on %s %s", request.method, request.path)
    return _error(request, 500, "server_error", _("Something went wrong on the server; it has been logged."))


# First: /campaigns/simulate is matched before any /campaigns/{id} of a router added later.
api.add_router("/campaigns", campaign_simulate_router)
api.add_router("/", me_router)
api.add_router("/", audit_router)
api.add_router("/", customers_router)
api.add_router("/", timeline_router)
api.add_router("/", commerce_router)
api.add_router("/", rates_router)
api.add_router("/", engagement_router)
api.add_router("/", sales_router)
api.add_router("/", ingest_router)
api.add_router("/", feedback_router)
api.add_router("/", campaigns_router)
api.add_router("/", uplift_router)
api.add_router("/campaigns", campaign_report_router)
api.add_router("/", campaign_router)
# The routers answer ?format=csv with the export's columns; the export stands above them.
provide_csv_response(csv_response)
