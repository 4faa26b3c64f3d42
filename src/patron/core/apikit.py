"""Shared parts of the REST API: errors, field types, pagination, sorting and authorization.

Every router under ``/api/v1/`` uses these, so errors have one shape
(``{"code", "message", "details"}``) and lists page the same way. The customer-scoped helpers
stand one layer up, in ``patron.customers.apikit``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.errors import HttpError
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints

from patron.core.audit import audit_record
from patron.core.dates import EARLIEST, LATEST, check_day, check_moment
from patron.core.models import User
from patron.core.ordering import Sorts, ordered, sort_keys
from patron.core.roles import is_admin

# Largest id PostgreSQL's bigint holds: larger numbers are refused as input, not sent to the database.
MAX_ID = 2**63 - 1
MAX_PAGE = 500
DEFAULT_PAGE = 50

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
# Every date and time the API reads (bodies and filters): within the range every part of Patron
# computes with (patron.core.dates), so an extreme value is a 422 naming the field, never a 500.
_RANGE = f"Between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
Moment = Annotated[
    AwareDatetime,
    AfterValidator(check_moment),
    Field(description=f"ISO 8601 with a time zone offset. {_RANGE}"),
]
Day = Annotated[date, AfterValidator(check_day), Field(description=f"ISO 8601 date. {_RANGE}")]


# Strings bounded by their column's size; the Name types must not be empty.
Str20 = Annotated[str, StringConstraints(max_length=20)]
Str40 = Annotated[str, StringConstraints(max_length=40)]
Str100 = Annotated[str, StringConstraints(max_length=100)]
Str150 = Annotated[str, StringConstraints(max_length=150)]
Str254 = Annotated[str, StringConstraints(max_length=254)]
Str300 = Annotated[str, StringConstraints(max_length=300)]
LongText = Annotated[str, StringConstraints(max_length=20000)]
Name50 = Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True)]
Name60 = Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)]
Name200 = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class InputSchema(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped.

    Plain pydantic models, not ninja's ``Schema``: its root validator (made for reading ORM
    objects) costs more than the rest of validation together, which batch ingestion feels.
    """

    model_config = ConfigDict(extra="forbid")


class OutputSchema(BaseModel):
    """Responses, built from dicts (see the ``*_data`` functions)."""


class ApiError(HttpError):
    """An error answered as ``{"code", "message", "details"}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(status, message)
        self.code = code
        self.details = details


# Deepest nesting of arrays and objects a request body may have; Patron's own bodies need 4.
MAX_JSON_DEPTH = 32
_CONTAINERS = (dict, list)


def nul_text() -> ApiError:
    """Text with the NUL character: PostgreSQL cannot store it, so no database is asked to."""
    return ApiError(422, "nul_character", _("Text may not contain the NUL character (\\u0000)."))


def parse_json_body(raw: bytes) -> Any:
    """A request body as JSON, or a 400 in the API's error shape: not JSON, or nested deeper than
    ``MAX_JSON_DEPTH`` (so no body, however deep, reaches the parser's or the validators'
    recursion limits). The size is bounded before this: Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``,
    the batch endpoints' ``PATRON_API_MAX_BATCH_BYTES``."""
    too_deep = ApiError(
        400, "too_deep", _("The request body nests deeper than %(n)d levels.") % {"n": MAX_JSON_DEPTH}
    )
    if b"\\u0000" in raw:
        raise nul_text()
    try:
        data = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", _("The request body is not valid JSON.")) from exc
    # Level by level over the containers, without recursion: a comprehension per level costs a
    # 10,000-order batch about a tenth of what json.loads does.
    level = [data] if type(data) in _CONTAINERS else []
    depth = 1
    while level:
        level = [c for v in level for c in (v.values() if type(v) is dict else v) if type(c) in _CONTAINERS]
        if level and depth >= MAX_JSON_DEPTH:
            raise too_deep
        depth += 1
    return data


def not_found(what: str | None = None) -> ApiError:
    return ApiError(404, "not_found", what or _("Not found."))


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


class ErrorOut(OutputSchema):
    code: str
    message: str
    details: Any = None


def require_admin(user: User) -> None:
    if not is_admin(user):
        raise forbidden(_("Only administrators may do this."))


def _clean_error(err: Mapping[str, Any]) -> dict[str, Any]:
    # Only location, message and type: pydantic's "input" may echo a huge body, "ctx" may hold exceptions.
    loc = [str(p) for p in err.get("loc", ())]
    if loc[:2] == ["body", "body"]:  # ninja nests the body under the parameter's name
        loc = loc[1:]
    return {"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}


def validation_details(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [_clean_error(e) for e in errors]


def validation_message(errors: Iterable[Mapping[str, Any]]) -> str:
    """The first few validation errors as one line: "lines.0.quantity: Input should be greater than 0"."""
    cleaned = validation_details(errors)
    shown = ["{}: {}".format(".".join(e["loc"]) or "body", e["msg"]) for e in cleaned[:3]]
    more = len(cleaned) - len(shown)
    return "; ".join(shown) + (_(" (and %(n)d more)") % {"n": more} if more > 0 else "")


# ---------------------------------------------------------------- lists


T = TypeVar("T")


class Page(OutputSchema, Generic[T]):
    count: int = Field(description="Number of records matching the filters.")
    limit: int
    offset: int
    next: str | None = Field(None, description="URL of the next page, or null on the last page.")
    previous: str | None = None
    items: list[T]


class ListParams(Schema):
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description=f"Page size, at most {MAX_PAGE}.")
    offset: int = Field(0, ge=0, le=10**9)
    sort: str | None = Field(None, max_length=40, description="A sort key; prefix with - for descending.")
    format: str = Field(
        "json", pattern="^(json|csv)$", description="csv streams every matching record (not one page) as CSV."
    )


def sorted_by(qs: QuerySet, sort: str | None, sorts: Sorts, default: str) -> QuerySet:
    """Order ``qs`` by a public sort key (``name``, ``-profit_total``) of the list's sort table
    (the one its page uses, ``core.ordering``), refusing unknown keys."""
    key = sort or default
    if key not in sorts:
        raise ApiError(
            422,
            "invalid_sort",
            _("Unknown sort %(sort)s; use one of: %(keys)s (prefix - for descending).")
            % {"sort": key, "keys": ", ".join(sort_keys(sorts))},
        )
    return ordered(qs, sorts, key, default)


def paginate(
    request: HttpRequest, qs: QuerySet, params: ListParams, render: Callable[[list[Any]], Iterable[Any]]
) -> dict[str, Any]:
    """One page of ``qs`` with its total and the URLs of the next and previous pages."""
    count = qs.count()
    rows = list(qs[params.offset : params.offset + params.limit])

    def link(offset: int) -> str:
        query = request.GET.copy()
        query["offset"] = str(offset)
        query["limit"] = str(params.limit)
        return request.build_absolute_uri(request.path) + "?" + urlencode(sorted(query.items()))

    has_next = params.offset + len(rows) < count
    return {
        "count": count,
        "limit": params.limit,
        "offset": params.offset,
        "next": link(params.offset + params.limit) if has_next else None,
        "previous": link(max(0, params.offset - params.limit)) if params.offset > 0 else None,
        "items": list(render(rows)),
    }


@dataclass(frozen=True)
class Changes:
    """The fields a PATCH body set (``exclude_unset``), so absent fields stay unchanged."""

    values: dict[str, Any]

    @classmethod
    def of(cls, body: BaseModel) -> Changes:
        return cls(body.model_dump(exclude_unset=True))

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def pop(self, name: str, default: Any = None) -> Any:
        return self.values.pop(name, default)


def iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def model_ids(objs: Iterable[Model]) -> list[int]:
    return [o.pk for o in objs]


__all__ = [
    "MAX_ID",
    "ApiError",
    "Changes",
    "Currency",
    "Day",
    "ErrorOut",
    "ExternalId",
    "Id",
    "InputSchema",
    "ListParams",
    "Moment",
    "Money",
    "OutputSchema",
    "Page",
    "Quantity",
    "forbidden",
    "not_found",
    "paginate",
    "parse_json_body",
    "require_admin",
    "sorted_by",
    "validation_details",
    "validation_message",
]


# The export (patron.ingest.export) builds on every app whose routers answer ?format=csv, so it
# stands above them: the API's wiring hands its writer in (patron.config.api).
_csv_response: Callable[[str, QuerySet, str], Any] | None = None


def provide_csv_response(writer: Callable[[str, QuerySet, str], Any]) -> None:
    global _csv_response
    _csv_response = writer


def csv_list(kind: str, qs: QuerySet) -> Any:
    """A list endpoint's ``?format=csv`` answer: the export's columns for ``kind``, streamed."""
    if _csv_response is None:
        raise RuntimeError("The API is not wired: patron.config.api provides the CSV export.")
    audit_record("export.api", object_type=kind, changes={"format": "csv"})
    return _csv_response(kind, qs, f"{kind}.csv")
