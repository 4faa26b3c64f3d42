"""The permission matrix, run: every route of the URL resolver and every OpenAPI operation,
anonymously and as every role, against the fixture book (tests/security/book.py).

The routes are enumerated when the tests are collected: a route without an entry in
``permission_matrix`` fails, naming the route. Each request runs in a savepoint that is rolled
back, so every one starts from the same book. For each response:

- the status is the rule's (a customer outside the role's visibility: 404);
- nothing of a customer outside the role's visibility appears (its marker, or its id in JSON),
  whatever the route (lists, exports, search, fragments, detail pages);
- a list shows the role's own records (so the check above cannot pass on an empty page);
- a refused write (403, 404) changed nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models import Count, Max, Q
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

from tests.security.book import CUSTOMERS, READ_ONLY, ROLES, VISIBLE, Book, build_book, marker
from tests.security.permission_matrix import (
    ADMIN_SITE,
    API,
    API_EXTRA,
    PUBLIC,
    STAFF,
    WEB,
    Check,
    ok,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

API_PREFIX = "/api/v1"


# ---------------------------------------------------------------- the routes, enumerated


@dataclass(frozen=True)
class Route:
    key: str  # the matrix's key
    kind: str  # "web", "admin", "api-extra" or "api"
    path: str  # the pattern as written, for messages
    name: str | None = None  # namespaced URL name
    params: tuple[str, ...] = ()  # path parameters
    method: str = "GET"  # API operations

    def __str__(self) -> str:
        return f"{self.key} ({self.path})"


def _params(pattern: Any) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return tuple(pattern.regex.groupindex)
    return ()


def _walk(patterns: list[Any], prefix: str = "", namespace: str | None = None, params: tuple[str, ...] = ()) -> Iterator[tuple[str, URLPattern, str | None, tuple[str, ...]]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace])) if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns, params + _params(p.pattern))
        else:
            yield prefix + str(p.pattern), p, namespace, params + _params(p.pattern)


def openapi_operations() -> list[tuple[str, str]]:
    from patron.config.api import api

    schema = api.get_openapi_schema()
    return [(method.upper(), path) for path, ops in schema["paths"].items() for method in ops]


def _as_openapi(path: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)


def discover() -> list[Route]:
    """Every route a request can reach: the URL resolver's patterns and the API's operations."""
    operations = openapi_operations()
    api_paths = {path for _method, path in operations}
    routes = []
    for path, pattern, namespace, params in _walk(get_resolver().url_patterns):
        name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
        if namespace == "admin":
            routes.append(Route(f"admin:{pattern.name or path}", "admin", path, name, params))
        elif namespace == "api":
            if _as_openapi(path) in api_paths:
                continue  # an operation of the OpenAPI document, checked below with its method
            routes.append(Route(name or path, "api-extra", path, name, params))
        else:
            routes.append(Route(name or path, "web", path, name, params))
    routes += [Route(f"{method} {path}", "api", path, method=method) for method, path in operations]
    return routes


def rule_for(route: Route) -> list[Check] | None:
    if route.kind == "admin":
        return [ADMIN_SITE]
    table = {"web": WEB, "api-extra": API_EXTRA, "api": API}[route.kind]
    return table.get(route.key)


ROUTES = discover()


# ---------------------------------------------------------------- the book


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Book]:
    from django.core.management import call_command

    with django_db_blocker.unblock():
        from patron.customers.models import Customer

        # Lists show their first page: customers another test left would push the book's off it.
        assert not Customer.objects.exists(), "the test database is not empty"
        built = build_book(tmp_path_factory.mktemp("matrix-imports"))
        try:
            yield built
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _quiet(settings, tmp_path):
    settings.PATRON_ANSWER_RATE_LIMIT = "0/60"  # hundreds of answers from one address
    settings.DATA_DIR = tmp_path  # uploads


# ---------------------------------------------------------------- one request


def _source(book: Book, spec: str) -> Any:
    kind, _, name = spec.partition(":")
    if kind == "shared":
        return book.shared[name]
    if kind == "token":
        return book.tokens[name]
    return spec


def _url(book: Book, route: Route, check: Check, record: Any) -> str:
    values = {p: _source(book, s) for p, s in check.params.items()}
    query = check.query.format(record=record, **book.placeholders())
    if route.kind == "api":
        path = route.path
        for param in re.findall(r"{(\w+)}", path):
            path = path.replace("{" + param + "}", str(values.get(param, record)))
        return path + query
    if route.name is None:  # an unnamed catch-all: any path under its prefix
        return "/" + route.path.split("^")[0] + str(values.get("", "")) + query
    kwargs = {p: values.get(p, record) for p in route.params}
    return reverse(route.name, kwargs=kwargs) + query


def _send(book: Book, route: Route, check: Check, role: str | None, url: str, record: Any) -> Any:
    client = Client()
    headers = dict(check.headers)
    data = check.data(book, record) if check.data else None
    if route.kind == "api":
        if role is not None:
            headers["Authorization"] = f"Bearer {book.api_tokens[role]}"
        method = getattr(client, check.method.lower())
        if data is None:
            return method(url, headers=headers)
        return method(url, data=json.dumps(data), content_type="application/json", headers=headers)
    if role is not None:
        client.force_login(book.users[role])
    if check.method == "GET":
        return client.get(url, headers=headers)
    return getattr(client, check.method.lower())(url, data=data or {}, headers=headers)


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def _json_customer_ids(value: Any) -> Iterator[int]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "skipped":
                continue  # a batch's refusals name the ids the caller sent, visible or not
            if key in {"customer", "customer_id"} and isinstance(item, int):
                yield item
            else:
                yield from _json_customer_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_customer_ids(item)


# What a refused write must leave as it was.
_COUNTED = [
    ("customers", "customer"), ("customers", "contact"), ("commerce", "order"), ("commerce", "orderline"),
    ("commerce", "costevent"), ("commerce", "product"), ("engagement", "interaction"), ("engagement", "task"),
    ("feedback", "survey"), ("feedback", "invitation"), ("feedback", "response"), ("feedback", "followup"),
    ("feedback", "review"), ("imports", "importjob"), ("imports", "importmapping"), ("customers", "possibleduplicate"),
    ("imports", "customermerge"), ("web", "savedview"), ("ingest", "webhook"), ("ingest", "webhookdelivery"),
    ("campaigns", "segment"), ("campaigns", "campaign"), ("campaigns", "campaignmember"), ("feedback", "contactlog"),
    ("sales", "lead"), ("sales", "opportunity"), ("sales", "stagechange"),
]


def _snapshot() -> list[Any]:
    from patron.customers.models import Customer, PossibleDuplicate
    from patron.feedback.models import FollowUp, Review

    state: list[Any] = []
    for app, model in _COUNTED:
        cls = apps.get_model(app, model)
        if any(f.name == "updated_at" for f in cls._meta.fields):
            state.append(cls.objects.aggregate(n=Count("pk"), last=Max("updated_at")))
        else:
            state.append(cls.objects.count())
    state.append(Customer.tags.through.objects.count())
    state.append(FollowUp.objects.aggregate(contacted=Count("pk", filter=Q(first_contact_at__isnull=False)), closed=Count("pk", filter=Q(closed_at__isnull=False))))
    state.append(Review.objects.filter(done_at__isnull=False).count())
    state.append(PossibleDuplicate.objects.filter(status="open").count())
    return state


def _expected(check: Check, role: str, which: str) -> frozenset[int]:
    if which == "hidden":
        return ok(check.hidden)
    return check.ok if role in check.roles else ok(check.denied)


def _run_one(book: Book, route: Route, check: Check, role: str | None, which: str, record: Any) -> list[str]:
    """One request in a rolled-back savepoint; the failures it shows."""
    url = _url(book, route, check, record)
    who = "anonymous" if role is None else role + (f" ({which} record {record})" if which != "none" else "")
    where = f"{route.key}: {check.method} {url} as {who}"
    if role is None:
        refused = check.access != PUBLIC
    else:
        refused = which == "hidden" or role not in check.roles
    with transaction.atomic():
        before = _snapshot() if check.method != "GET" and refused else None
        response = _send(book, route, check, role, url, record)
        if role is None:
            failures = _anonymous(route, check, response)
        else:
            failures = _judge(book, route, check, role, which, response, where)
        if before is not None and _snapshot() != before:
            failures.append(f"{where}: a refused write changed the data (status {response.status_code})")
        transaction.set_rollback(True)
    return failures


def _judge(book: Book, route: Route, check: Check, role: str, which: str, response: Any, where: str) -> list[str]:
    """Status, nothing outside the role's visibility, the role's own records in a list."""
    failures = []
    status = response.status_code
    expected = _expected(check, role, which)
    if status not in expected:
        failures.append(f"{where}: status {status}, expected {sorted(expected)}")
    body = _body(response) if 200 <= status < 300 else ""
    if body and check.access != PUBLIC:  # a public link shows what its token grants, whoever opens it
        leaked = [m for m in book.hidden_markers(role) if m in body]
        if route.kind == "api" and response.get("Content-Type", "").startswith("application/json"):
            hidden_ids = book.hidden_customer_ids(role)
            leaked += [f"customer id {i}" for i in set(_json_customer_ids(json.loads(body))) if i in hidden_ids]
        if leaked:
            failures.append(f"{where}: shows customers outside the role's visibility: {leaked}")
        if check.lists and role in check.roles:
            failures += _shows(book, check, role, body, response, where)
    if check.also is not None and 200 <= status < 400:
        problem = check.also(book, role, response, which)
        if problem:
            failures.append(f"{where}: {problem}")
    return failures


def _anonymous(route: Route, check: Check, response: Any) -> list[str]:
    where = f"{route.key}: {check.method} as anonymous"
    status, location = response.status_code, response.get("Location", "")
    if check.access == PUBLIC:
        return [] if status in check.ok else [f"{where}: status {status}, expected {sorted(check.ok)} (public)"]
    if check.access == STAFF:
        good = status == 302 and location.startswith("/admin/login/")
        return [] if good else [f"{where}: status {status} {location}, expected a redirect to the admin's login"]
    if route.kind in {"api", "api-extra"}:
        good = status == 401 and response.json().get("code") == "unauthenticated"
        return [] if good else [f"{where}: status {status}, expected 401 in the API's error shape"]
    good = status == 302 and location.startswith("/login/")
    return [] if good else [f"{where}: status {status} {location}, expected a redirect to the login page"]


def _shows(book: Book, check: Check, role: str, body: str, response: Any, where: str) -> list[str]:
    ids: set[int] = set()
    if response.get("Content-Type", "").startswith("application/json"):
        ids = set(_json_customer_ids(json.loads(body)))
    expected = [name for name in check.shows if name in VISIBLE[role]]
    missing = [name for name in expected if marker(name) not in body and book.customers[name].pk not in ids]
    if check.some and len(missing) < len(expected):
        return []
    return [f"{where}: the list lacks the role's own records of {missing}"] if missing else []


def _cases(book: Book, check: Check) -> Iterator[tuple[str | None, str, Any]]:
    anonymous_record = book.visible(check.record, "admin") if check.record else None
    yield None, "none", anonymous_record
    for role in ROLES:
        if check.record is None:
            yield role, "none", None
            continue
        for which, record in (("visible", book.visible(check.record, role)), ("hidden", book.hidden(check.record, role))):
            if record is not None:
                yield role, which, record


# ---------------------------------------------------------------- the Django admin

_ADMIN_OVERRIDES = {
    "admin:login": replace(ADMIN_SITE, access=PUBLIC, roles=frozenset(ROLES), ok=ok(200, 302)),
    "admin:logout": replace(ADMIN_SITE, method="POST", ok=ok(200, 302)),
    "admin:autocomplete": replace(ADMIN_SITE, ok=ok(403), note="without its parameters"),
    "admin:view_on_site": replace(ADMIN_SITE, ok=ok(302)),
}


def _admin_case(book: Book, route: Route) -> tuple[Check, str] | None:
    """The admin route as a check, with its parameters filled (None: the route cannot be filled)."""
    check = _ADMIN_OVERRIDES.get(route.key, ADMIN_SITE)
    values: dict[str, Any] = {}
    parts = route.path.split("/")
    for param in route.params:
        if param == "app_label":
            values[param] = "customers"
        elif param == "url":
            values[param] = "nowhere/"
            check = replace(check, ok=ok(404))
        elif param == "content_type_id":
            from django.contrib.contenttypes.models import ContentType

            from patron.customers.models import Customer

            values[param] = ContentType.objects.get_for_model(Customer).pk
        elif param in {"object_id", "id"}:
            if route.key.startswith("admin:admin/") and route.path.endswith("<path:object_id>/"):
                check = replace(check, ok=ok(302))  # the bare object URL redirects to its change page
            if "view_on_site" in route.key:
                values[param] = book.customers["ALDER"].pk
                continue
            model = apps.get_model(parts[1], parts[2])
            first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
            if first is None:
                return None
            values[param] = first
    if re.search(r"_(add|change|delete)$", route.key):
        check = replace(check, ok=ok(200, 403))  # 403: a model the admin shows read-only
    if route.name is None:
        path = route.path
        for param, value in values.items():
            path = re.sub(r"<(?:\w+:)?" + param + r">", str(value), path)
            path = re.sub(r"\(\?P<" + param + r">[^)]*\)\$?", str(value), path)
        url = "/" + path.replace("^", "").replace("$", "")
    else:
        url = reverse(route.name, kwargs=values)
    return check, url


def _to_admin_login(status: int, location: str) -> bool:
    # The logout page sends to the admin's index, which sends to its login.
    return status == 302 and (location.startswith("/admin/login/") or location == "/admin/")


def _run_admin(book: Book, route: Route) -> list[str]:
    case = _admin_case(book, route)
    if case is None:
        # Nothing to open as the administrator; the staff check still holds for everyone else.
        check, url = ADMIN_SITE, re.sub(r"<(?:\w+:)?\w+>", "1", "/" + route.path)
    else:
        check, url = case
    failures = []
    for role in (None, *ROLES):
        if role == "admin" and case is None:
            continue
        client = Client()
        if role is not None:
            client.force_login(book.users[role])
        with transaction.atomic():
            response = client.post(url) if check.method == "POST" else client.get(url)
            transaction.set_rollback(True)
        status, location = response.status_code, response.get("Location", "")
        where = f"{route}: {check.method} {url} as {role or 'anonymous'}"
        if check.access == PUBLIC or role in check.roles:
            if status not in check.ok:
                failures.append(f"{where}: status {status}, expected {sorted(check.ok)}")
        elif not _to_admin_login(status, location):
            failures.append(f"{where}: status {status} {location}, expected the admin's login")
    return failures


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_follows_its_rule(route: Route, book: Book) -> None:
    checks = rule_for(route)
    if checks is None:
        pytest.fail(
            f"No permission rule for the route {route}: add an entry under {route.key!r} to "
            "tests/security/permission_matrix.py saying who may use it."
        )
    if route.kind == "admin":
        failures = _run_admin(book, route)
    else:
        failures = [
            failure
            for check in checks
            for role, which, record in _cases(book, check)
            for failure in _run_one(book, route, check, role, which, record)
        ]
    assert not failures, "\n".join(failures)


def test_every_rule_names_a_route() -> None:
    keys = {r.key for r in ROUTES}
    stale = sorted(set(WEB) - keys) + sorted(set(API) - keys) + sorted(set(API_EXTRA) - keys)
    assert not stale, f"Rules for routes that no longer exist: {stale}"


def test_read_only_roles_write_no_customer_record() -> None:
    """The promise, as the matrix states it: no check lets an analyst or a marketer write on a
    customer's records (the requests themselves are made by test_route_follows_its_rule)."""
    customer_bound = {"customer", "customer_external_id", "contact", "order", "cost_event", "interaction", "task", "follow_up", "review", "duplicate"}
    offending = [
        f"{key} {check.method}"
        for table in (WEB, API)
        for key, checks in table.items()
        for check in checks
        if check.method != "GET" and check.record in customer_bound and check.roles & READ_ONLY
        and key != "POST /api/v1/surveys/{survey_id}/invitations"  # an invitation, not the record
        and key != "POST /api/v1/campaigns/{campaign_id}/responses"  # a campaign member's response, not the record
    ]
    assert not offending, offending


def test_the_book_is_what_visible_customers_decides(book: Book) -> None:
    """The book states who sees whom on its own; the application agrees."""
    from patron.customers.selectors import visible_customers

    for role in ROLES:
        seen = set(visible_customers(book.users[role]).filter(name__startswith="PMX-").values_list("name", flat=True))
        assert seen == {marker(n) for n in CUSTOMERS if n in VISIBLE[role]}, role
