"""The permission matrix: for every route of the URL resolver and every operation of the OpenAPI
document, who may use it and what a customer outside one's visibility gets.

Data only; ``test_permission_matrix.py`` enumerates the routes at run time and fails for a route
without an entry here. Web routes are keyed by URL name (``feedback:answer``), API operations by
``METHOD /api/v1/path``. Each entry is a list of checks, each one request made anonymously and
as every role:

- ``access``: PUBLIC (no login), LOGIN (anonymous: redirect to the login page, or 401 from the
  API), STAFF (the Django admin: anonymous and non-staff users go to the admin's login).
- ``roles`` may use it and get a status in ``ok``; the others get ``denied``.
- ``record``: the kind of record the path parameter (or ``{record}`` in the query or the body)
  names. Each role gets a record it reaches and, when there is one, a record of a customer it
  must not see, which is a 404 (``hidden``), never a 403 or a 200, and writes nothing.
- ``lists``: the page lists records: those of the role's customers appear, and (as on every
  page) nothing of a customer outside its visibility.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from tests.security.book import EDITORS, ROLES, VISIBLE, WITH_RECORDS, Book

PUBLIC, LOGIN, STAFF = "public", "login", "staff"
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
# core.roles.can_view_models; feedback.selectors.can_manage_surveys.
MODEL_VIEWERS = frozenset({"admin", "analyst", "manager", "marketer"})
SURVEY_MANAGERS = frozenset({"admin", "cx", "marketer", "manager"})
# core.roles.can_edit_segments: everyone else reads the saved segments.
SEGMENT_EDITORS = frozenset({"admin", "analyst", "manager", "marketer"})
# core.roles.can_read_campaign_reports (aggregate figures) and can_record_campaign_responses.
CAMPAIGN_REPORT_READERS = frozenset({"admin", "analyst", "cx", "manager", "marketer"})
CAMPAIGN_RESPONSE_RECORDERS = frozenset({"admin", "cx", "manager", "marketer"})
# core.roles.can_manage_campaigns: everyone reads campaigns, members within their visibility.
CAMPAIGN_MANAGERS = frozenset({"admin", "manager", "marketer"})
HTMX = {"HX-Request": "true"}

Data = Callable[[Book, Any], Any]
Also = Callable[[Book, str, Any, str], str | None]


@dataclass(frozen=True)
class Check:
    method: str = "GET"
    query: str = ""
    access: str = LOGIN
    roles: frozenset[str] = EVERYONE
    ok: frozenset[int] = frozenset({200})
    denied: int = 403
    record: str | None = None
    hidden: int = 404
    lists: bool = False
    shows: tuple[str, ...] = WITH_RECORDS  # customers whose records a list shows (if visible)
    some: bool = False  # the page shows examples: at least one of them, not all
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> "shared:kind" / "token:name" / literal
    data: Data | None = None
    headers: dict[str, str] = field(default_factory=dict)
    also: Also | None = None  # a further check: (book, role, response, which) -> failure or None
    note: str = ""


def ok(*codes: int) -> frozenset[int]:
    return frozenset(codes)


def _iso(days: int = -1) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


def _upload(_book: Book, _record: Any) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = b"external_id,name\r\nPMX-UPLOAD,Uploaded\r\n"
    return {"kind": "customers", "file": SimpleUploadedFile("matrix.csv", content, content_type="text/csv")}


def _bulk_tag_not_outside(book: Book, role: str, _response: Any, _which: str) -> str | None:
    """A bulk action never reaches a customer outside the actor's visibility."""
    from patron.customers.models import Customer

    tagged = set(Customer.objects.filter(tags__name="pmx-bulk").values_list("name", flat=True))
    outside = sorted(n for n in tagged if n.removeprefix("PMX-") not in VISIBLE[role])
    return f"bulk tag reached customers outside visibility: {outside}" if outside else None


def _no_invitation_for_hidden(book: Book, role: str, response: Any, which: str) -> str | None:
    if which != "hidden":
        return None
    skipped = [s["reason"] for s in response.json()["skipped"]]
    return None if skipped == ["not_visible"] and not response.json()["queued"] else f"invisible customer not skipped: {response.json()}"


def _item_not_found(book: Book, role: str, response: Any, which: str) -> str | None:
    if which != "hidden":
        return None
    items = response.json()["results"]
    # As for an id that does not exist: nothing tells the customer exists.
    return None if [i["status"] for i in items] == ["error"] and items[0]["code"] == "unknown_customer" else f"invisible customer's item: {items}"


def _segment_counts_visible(book: Book, role: str, response: Any, _which: str) -> str | None:
    """A segment's count is of the customers the reader sees (the matrix segment matches all)."""
    count = response.json()["count"]
    return None if count == len(VISIBLE[role]) else f"segment count {count}, expected {len(VISIBLE[role])}"


def _simulation_counts_visible(book: Book, role: str, response: Any, _which: str) -> str | None:
    """A simulation counts the segment's members the caller sees (the matrix segment matches all)."""
    count = response.json()["segment_members"]
    return None if count == len(VISIBLE[role]) else f"simulated members {count}, expected {len(VISIBLE[role])}"
def _campaign_body(book: Book) -> dict[str, Any]:
    day = timezone.now().date().isoformat()
    return {"name": "PMX campaign", "segment_id": book.shared["segment"], "channel": "email", "starts_on": day, "ends_on": day}


def _campaign_form(book: Book) -> dict[str, Any]:
    day = timezone.now().date().isoformat()
    return {"name": "PMX campaign", "segment": book.shared["segment"], "channel": "phone", "starts_on": day,
            "ends_on": day, "response_window_days": "30", "control_share": "0.1", "cost": "0"}


def _order_body(book: Book, customer: Any) -> dict[str, Any]:
    return {
        "customer_id": customer, "channel": "web", "ordered_at": _iso(),
        "lines": [{"product_id": book.shared["product"], "quantity": "1"}],
    }


def _cost_body(book: Book, customer: Any) -> dict[str, Any]:
    return {"customer_id": customer, "kind": "ticket", "amount": "5.00", "occurred_at": _iso()}


def _interaction_body(book: Book, customer: Any) -> dict[str, Any]:
    return {"customer_id": customer, "channel": "call", "subject": "Matrix call", "occurred_at": _iso()}


def _csv(query: str = "") -> str:
    return "?format=csv" + (f"&{query}" if query else "")


def _opportunity_form(book: Book, lead: Any) -> dict[str, Any]:
    from patron.sales.models import Stage

    first = Stage.objects.get(pipeline__is_default=True, key="qualify")
    return {"name": "PMX-NEW deal", "lead": lead, "amount": "10", "currency": "CNY", "stage": first.pk}


# ---------------------------------------------------------------- web pages

WEB: dict[str, list[Check]] = {
    "home": [
        Check(),
        # A manager's drill-down into one rep's home: only reps owning customers the manager sees.
        Check(query="?rep={record}", record="owner", roles=frozenset({"admin", "manager"}), denied=404),
    ],
    "dashboards": [Check()],
    "login": [Check(access=PUBLIC)],
    "health": [Check(access=PUBLIC, note="for load balancers: says only whether the database answers")],
    "healthz": [
        Check(access=PUBLIC, ok=ok(200, 503), note="for monitors: ages of the worker heartbeat and scoring run, no data")
    ],
    "logout": [Check(access=PUBLIC, method="POST", ok=ok(302))],
    "set_language": [Check(access=PUBLIC, method="POST", ok=ok(302), data=lambda b, r: {"language": "zh-hans", "next": "/"})],
    "customer-list": [
        Check(lists=True),
        Check(query=_csv(), lists=True, note="the list's CSV export"),
        Check(query="?q=PMX", lists=True),
        Check(query="?owner={other_rep}"),
        Check(query="?branch={branch_s1}&sort=-profit"),
        Check(query="?profit_max=0&sort=profit", note="a dashboard bar's drill-down"),
        Check(query="?key_account=on&sort=-clv"),
        Check(query=_csv("owner={other_rep}")),
    ],
    "customer-bulk": [
        Check(
            method="POST", ok=ok(302), roles=EDITORS, record="customer", hidden=302,
            data=lambda b, r: {"action": "add_tag", "tag": "pmx-bulk", "ids": [r]},
            also=_bulk_tag_not_outside, note="ticked ids outside visibility are refused, not changed",
        ),
        Check(
            method="POST", ok=ok(302), roles=EDITORS,
            data=lambda b, r: {"action": "add_tag", "tag": "pmx-bulk", "all_matching": "on", "query": "q=PMX"},
            also=_bulk_tag_not_outside,
        ),
    ],
    "order-list": [
        Check(lists=True),
        Check(query=_csv(), lists=True),
        Check(query="?owner={other_rep}"),
        Check(query=_csv("branch={branch_s1}")),
    ],
    "response-list": [
        Check(lists=True),
        Check(query=_csv(), lists=True),
        Check(query="?with_comment=on&score_class=detractor", lists=True),
    ],
    "task-list": [Check(lists=True), Check(query=_csv(), lists=True), Check(query="?assignee={other_rep}")],
    "search": [
        Check(),
        Check(query="?q=PMX", lists=True),
        Check(query="?q=birch", note="a name's word, as typed"),
        Check(query="?q=%23{birch_order}", note="an order by its number"),
        Check(query="?q=birch.buyer", note="a contact by email"),
    ],
    "saved-view-create": [
        Check(method="POST", ok=ok(302), data=lambda b, r: {"name": "Mine", "list_name": "customers", "query_string": "q=PMX"}),
    ],
    "saved-view-delete": [Check(method="POST", ok=ok(302), record="saved_view", note="a saved view is its owner's alone")],
    "customer-detail": [
        Check(record="customer"),
        Check(record="customer", query="?fragment=timeline", headers=HTMX, note="the timeline's htmx fragment"),
        Check(record="customer", query="?channel=call&page=2"),
    ],
    "customer-log-interaction": [
        Check(method="POST", ok=ok(302), roles=EDITORS, record="customer", data=lambda b, r: {"channel": "call", "subject": "Called"}),
    ],
    "customer-add-task": [
        Check(method="POST", ok=ok(302), roles=EDITORS, record="customer", data=lambda b, r: {"title": "Call again"}),
    ],
    "task-status": [Check(method="POST", ok=ok(302), roles=EDITORS, record="task", data=lambda b, r: {"status": "done"})],
    "import-index": [Check(), Check(method="POST", ok=ok(302), roles=EDITORS, data=_upload, note="upload a file")],
    "import-job": [Check(record="import_job"), Check(record="import_job", headers=HTMX, note="the progress fragment")],
    "import-map": [Check(record="import_job")],
    "import-errors": [Check(record="import_job")],
    "import-rerun": [Check(method="POST", ok=ok(302), record="import_job")],
    "import-mapping-delete": [
        Check(method="POST", ok=ok(302), roles=EDITORS, params={"pk": "shared:mapping"}, note="mappings are shared; importers delete them"),
    ],
    "duplicates": [Check(lists=True, shows=("ALDER", "ASPEN", "KAURI", "KAPOK"))],
    "duplicate-merge": [
        Check(method="POST", ok=ok(302), roles=EDITORS, record="duplicate", data=lambda b, r: {"keep": b.pair_keep(r)}),
    ],
    "duplicate-dismiss": [Check(method="POST", ok=ok(302), roles=EDITORS, record="duplicate")],
    # Public: links in emails, on receipts and on the kiosk tablet.
    "feedback:answer": [
        Check(access=PUBLIC, params={"token": "token:answer"}),
        Check(access=PUBLIC, params={"token": "token:answer"}, query="?score=9"),
    ],
    "feedback:response-comment": [
        Check(access=PUBLIC, method="POST", params={"token": "token:comment"}, data=lambda b, r: {"comment": "Thanks"}),
    ],
    "feedback:unsubscribe": [
        Check(access=PUBLIC, params={"token": "token:unsubscribe"}),
        Check(access=PUBLIC, method="POST", params={"token": "token:unsubscribe"}, data=lambda b, r: {"all": "1"}),
    ],
    "feedback:public": [
        Check(access=PUBLIC, params={"key": "token:survey_key"}),
        Check(access=PUBLIC, method="POST", params={"key": "token:survey_key"}, data=lambda b, r: {"score": "9"}),
    ],
    "feedback:kiosk": [Check(access=PUBLIC, params={"key": "token:survey_key"})],
    # Staff pages of feedback.
    "feedback:feed": [Check(lists=True), Check(query="?class=detractor", lists=True)],
    "feedback:feed-rows": [Check(query="?after=0", headers=HTMX, lists=True, note="the live feed's htmx poll")],
    "feedback:nps": [Check(), Check(query="?period=month&weight=clv"), Check(query="?branch={branch_s1}")],
    "feedback:nps-responses": [
        Check(lists=True),
        Check(query="?score_class=detractor", lists=True, note="a figure's drill-down"),
        Check(query="?dim=branch&key={branch_s1}"),
    ],
    "feedback:themes": [Check(lists=True, some=True, note="up to three example comments per theme")],
    "feedback:surveys": [
        Check(),
        Check(
            method="POST", ok=ok(302), roles=SURVEY_MANAGERS,
            data=lambda b, r: {"name": "New NPS", "kind": "nps", "purpose": "relationship", "touchpoint": "relationship"},
        ),
    ],
    "feedback:survey": [Check(params={"pk": "shared:survey"})],
    "feedback:survey-qr": [
        Check(params={"pk": "shared:survey", "fmt": "png"}),
        Check(params={"pk": "shared:survey", "fmt": "svg"}, query="?branch=PMXN1&kiosk=1"),
    ],
    "feedback:follow-ups": [
        Check(),
        Check(query="?scope=all&status=all", lists=True),
        Check(query=_csv("scope=all&status=all"), lists=True),
    ],
    "feedback:follow-up": [Check(record="follow_up")],
    "feedback:follow-up-contact": [
        Check(method="POST", ok=ok(302), roles=EDITORS, record="follow_up", data=lambda b, r: {"channel": "call", "note": "Called"}),
    ],
    "feedback:follow-up-close": [
        Check(
            method="POST", ok=ok(302), roles=EDITORS, record="follow_up",
            data=lambda b, r: {"root_cause": "service", "action_taken": "Fixed", "outcome": "resolved"},
        ),
    ],
    "feedback:reviews": [Check(lists=True, shows=("ALDER", "CEDAR", "BIRCH", "KAURI"))],
    "feedback:review": [
        Check(record="review"),
        Check(method="POST", ok=ok(302), roles=EDITORS, record="review", data=lambda b, r: {"nps": "9", "notes": "Good quarter"}),
    ],
    "feedback:customer-send-survey": [
        Check(
            method="POST", ok=ok(302), roles=EDITORS, record="customer",
            data=lambda b, r: {"survey": b.shared["survey"]},
        ),
    ],
    "models": [Check(roles=MODEL_VIEWERS)],
    "audit-log": [
        Check(roles=ADMIN),
        Check(roles=ADMIN, query="?action=customer.&since=2020-01-01", note="filters"),
        Check(roles=ADMIN, query="?format=csv", note="the log's CSV download"),
    ],
    "models-run": [Check(roles=MODEL_VIEWERS, params={"run_id": "shared:scoring_run"})],
    # Segments: shared definitions, each evaluated within the reader's visibility.
    "segment-list": [Check()],
    "segment-new": [
        Check(roles=SEGMENT_EDITORS),
        Check(method="POST", ok=ok(302), roles=SEGMENT_EDITORS, data=lambda b, r: {"name": "PMX segment", "tags": "vip"}),
    ],
    "segment-preview": [
        Check(method="POST", roles=SEGMENT_EDITORS, headers=HTMX, data=lambda b, r: {"orders_min": "0"}, note="the builder's live count"),
    ],
    "segment-edit": [
        Check(roles=SEGMENT_EDITORS, params={"pk": "shared:segment"}),
        Check(method="POST", ok=ok(302), roles=SEGMENT_EDITORS, params={"pk": "shared:segment"}, data=lambda b, r: {"name": "Renamed"}),
    ],
    "segment-delete": [Check(method="POST", ok=ok(302), roles=SEGMENT_EDITORS, params={"pk": "shared:segment"})],
    "segment-customers": [Check(params={"pk": "shared:segment"}, lists=True)],
    # Who to target next: the segment's customers the reader sees, ranked (no history in the book).
    "segment-uplift": [Check(params={"pk": "shared:segment"})],
    # A campaign's report: aggregate figures over all its members.
    "campaign-report": [
        Check(roles=CAMPAIGN_REPORT_READERS, params={"pk": "shared:report_campaign"}),
        Check(method="POST", ok=ok(302), roles=CAMPAIGN_REPORT_READERS, params={"pk": "shared:report_campaign"}, note="recount"),
    ],
    # Campaign simulation: planning is for the roles that build segments; a read (GET form).
    "campaign-simulate": [
        Check(roles=SEGMENT_EDITORS),
        Check(roles=SEGMENT_EDITORS, query="?segment={segment}&channel=email&offer=x&control_share=0.1&response_window_days=30"),
    ],
    # Campaigns: shared definitions; members, calls and the mailing file within the reader's visibility.
    "campaign-list": [Check()],
    "campaign-new": [
        Check(roles=CAMPAIGN_MANAGERS),
        Check(method="POST", ok=ok(302), roles=CAMPAIGN_MANAGERS, data=lambda b, r: _campaign_form(b)),
    ],
    "campaign-detail": [
        Check(params={"pk": "shared:campaign"}),
        Check(params={"pk": "shared:phone_campaign"}, lists=True),
    ],
    "campaign-edit": [
        Check(roles=CAMPAIGN_MANAGERS, params={"pk": "shared:campaign"}),
        Check(method="POST", ok=ok(302), roles=CAMPAIGN_MANAGERS, params={"pk": "shared:campaign"}, data=lambda b, r: _campaign_form(b)),
    ],
    "campaign-delete": [Check(method="POST", ok=ok(302), roles=CAMPAIGN_MANAGERS, params={"pk": "shared:campaign"})],
    "campaign-launch": [
        Check(roles=CAMPAIGN_MANAGERS, params={"pk": "shared:campaign"}, note="the confirmation"),
        Check(method="POST", ok=ok(302), roles=CAMPAIGN_MANAGERS, params={"pk": "shared:campaign"}),
    ],
    "campaign-calls": [Check(params={"pk": "shared:phone_campaign"}, lists=True)],
    "campaign-called": [
        Check(method="POST", ok=ok(302), roles=EDITORS, params={"pk": "shared:phone_campaign"}, record="campaign_member"),
    ],
    "campaign-mailing": [Check(roles=CAMPAIGN_MANAGERS, params={"pk": "shared:mail_campaign"}, lists=True)],
    "campaign-members-csv": [Check(params={"pk": "shared:phone_campaign"}, lists=True)],
    # The sales pages: leads and opportunities by the customers' rule (sales.selectors).
    "sales-board": [Check(lists=True), Check(query="?owner=me")],
    "opportunity-list": [
        Check(lists=True),
        Check(query=_csv(), lists=True),
        Check(query="?owner={other_rep}"),
        Check(query="?stage=qualify&sort=-amount", lists=True),
    ],
    "lead-list": [Check(lists=True), Check(query=_csv(), lists=True), Check(query="?owner={other_rep}")],
    "opportunity-new": [
        Check(roles=EDITORS),
        Check(method="POST", ok=ok(302), roles=EDITORS, record="lead", hidden=200, data=_opportunity_form,
              note="a lead the role does not see is no choice of the form"),
    ],
    "opportunity-detail": [Check(record="opportunity")],
    "opportunity-edit": [
        Check(roles=EDITORS, record="opportunity", note="the form"),
        Check(method="POST", ok=ok(302), roles=EDITORS, record="opportunity",
              data=lambda b, r: {"name": "PMX renamed", "amount": "12", "currency": "CNY"}),
    ],
    "sales-move": [
        Check(method="POST", ok=ok(302), roles=EDITORS, record="opportunity", data=lambda b, r: {"stage": "meet"}),
        Check(roles=EDITORS, record="opportunity", query="?stage=won", note="the reason's form"),
    ],
    "lead-new": [
        Check(roles=EDITORS),
        Check(method="POST", ok=ok(302), roles=EDITORS, data=lambda b, r: {"name": "PMX-NEW lead", "source": "web"}),
    ],
    "lead-detail": [Check(record="lead")],
    "lead-edit": [
        Check(roles=EDITORS, record="lead", note="the form"),
        Check(method="POST", ok=ok(302), roles=EDITORS, record="lead",
              data=lambda b, r: {"name": "PMX renamed lead", "source": "web"}),
    ],
    "lead-convert": [Check(method="POST", ok=ok(302), roles=EDITORS, record="lead")],
    "lead-disqualify": [
        Check(method="POST", ok=ok(302), roles=EDITORS, record="lead", data=lambda b, r: {"reason": "No budget"}),
    ],
}

# The Django admin: every route under admin/ is its own login and staff check (administrators are
# staff); for everyone else it redirects to the admin's login page.
ADMIN_SITE = Check(access=STAFF, roles=ADMIN, denied=302)

# Routes of the API's URL configuration that are no operation of its OpenAPI document.
API_EXTRA: dict[str, list[Check]] = {
    "api:openapi-json": [Check(access=PUBLIC, note="the API's description: no data")],
    "api:openapi-view": [Check(access=PUBLIC, note="the API's documentation page")],
    "api:api-root": [Check(access=PUBLIC, ok=ok(404))],
    "api/v1/^.*$": [Check(access=PUBLIC, ok=ok(404), params={"": "nope"}, note="unknown API paths: 404 in the API's error shape")],
}

# ---------------------------------------------------------------- API operations

API: dict[str, list[Check]] = {
    "GET /api/v1/me": [Check()],
    "GET /api/v1/customers": [
        Check(lists=True),
        Check(query=_csv(), lists=True),
        Check(query="?q=PMX", lists=True),
        Check(query="?owner=m_other"),
        Check(query="?branch=PMXS1&sort=-profit_total"),
        Check(query="?external_id=PMX-BIRCH-X"),
    ],
    "POST /api/v1/customers": [
        Check(method="POST", ok=ok(201), roles=EDITORS, data=lambda b, r: {"name": "PMX-NEWCO"}),
        # Creating a customer for someone else's book: only who then sees it may.
        Check(method="POST", ok=ok(201), roles=frozenset({"admin", "cx"}), data=lambda b, r: {"name": "PMX-GIFT", "owner": "m_other", "branch": "PMXS1"}),
    ],
    "GET /api/v1/customers/{customer_id}": [Check(record="customer")],
    "PATCH /api/v1/customers/{customer_id}": [
        Check(method="PATCH", ok=ok(200), roles=EDITORS, record="customer", data=lambda b, r: {"city": "Hangzhou"}),
        # Moving a customer out of one's own visibility is refused.
        Check(method="PATCH", ok=ok(200), roles=frozenset({"admin", "cx", "manager"}), record="customer", data=lambda b, r: {"owner": "m_other"}),
    ],
    # Privacy requests: administrators only; an invisible customer is a 404 as everywhere.
    "GET /api/v1/customers/{customer_id}/privacy-export": [Check(roles=ADMIN, record="customer")],
    "POST /api/v1/customers/{customer_id}/privacy-erase": [Check(method="POST", roles=ADMIN, record="customer")],
    "GET /api/v1/audit": [Check(roles=ADMIN), Check(roles=ADMIN, query="?action=customer.update&limit=5")],
    "GET /api/v1/customers/{customer_id}/timeline": [Check(record="customer"), Check(record="customer", query="?channel=call")],
    "GET /api/v1/contacts": [Check(lists=True), Check(query=_csv(), lists=True), Check(query="?customer_id={birch}")],
    "POST /api/v1/contacts": [
        Check(method="POST", ok=ok(201), roles=EDITORS, record="customer", data=lambda b, r: {"customer_id": r, "name": "New contact"}),
        Check(
            method="POST", ok=ok(201), roles=EDITORS, record="customer_external_id",
            data=lambda b, r: {"customer_external_id": r, "name": "New contact"},
        ),
    ],
    "GET /api/v1/contacts/{contact_id}": [Check(record="contact")],
    "PATCH /api/v1/contacts/{contact_id}": [Check(method="PATCH", ok=ok(200), roles=EDITORS, record="contact", data=lambda b, r: {"title": "Owner"})],
    "GET /api/v1/products": [Check(), Check(query=_csv())],
    "POST /api/v1/products": [
        Check(method="POST", ok=ok(201), roles=ADMIN, data=lambda b, r: {"sku": "PMX-NEW", "name": "New tea", "list_price": "10", "unit_cost": "5"}),
    ],
    "GET /api/v1/products/{product_id}": [Check(params={"product_id": "shared:product"})],
    "PATCH /api/v1/products/{product_id}": [
        Check(method="PATCH", ok=ok(200), roles=ADMIN, params={"product_id": "shared:product"}, data=lambda b, r: {"name": "Renamed"}),
    ],
    # Exchange rates are not customer data: everyone signed in reads them, administrators write them.
    "GET /api/v1/rates": [Check(), Check(query=_csv())],
    "POST /api/v1/rates": [
        Check(method="POST", ok=ok(200), roles=ADMIN, data=lambda b, r: {"currency": "USD", "date": "2025-03-05", "rate": "7.1"}),
    ],
    "GET /api/v1/orders": [Check(lists=True), Check(query=_csv(), lists=True), Check(query="?customer_id={birch}")],
    "POST /api/v1/orders": [Check(method="POST", ok=ok(201), roles=EDITORS, record="customer", data=_order_body)],
    "GET /api/v1/orders/{order_id}": [Check(record="order")],
    "PATCH /api/v1/orders/{order_id}": [Check(method="PATCH", ok=ok(200), roles=EDITORS, record="order", data=lambda b, r: {"channel": "phone"})],
    "GET /api/v1/cost-events": [Check(lists=True), Check(query=_csv(), lists=True), Check(query="?customer_id={birch}")],
    "POST /api/v1/cost-events": [Check(method="POST", ok=ok(201), roles=EDITORS, record="customer", data=_cost_body)],
    "GET /api/v1/cost-events/{event_id}": [Check(record="cost_event")],
    "PATCH /api/v1/cost-events/{event_id}": [
        Check(method="PATCH", ok=ok(200), roles=EDITORS, record="cost_event", data=lambda b, r: {"note": "Refund"}),
    ],
    "GET /api/v1/interactions": [Check(lists=True), Check(query=_csv(), lists=True), Check(query="?handled_by=m_other")],
    "POST /api/v1/interactions": [Check(method="POST", ok=ok(201), roles=EDITORS, record="customer", data=_interaction_body)],
    "GET /api/v1/interactions/{interaction_id}": [Check(record="interaction")],
    "PATCH /api/v1/interactions/{interaction_id}": [
        Check(method="PATCH", ok=ok(200), roles=EDITORS, record="interaction", data=lambda b, r: {"subject": "Called back"}),
    ],
    "GET /api/v1/tasks": [Check(lists=True), Check(query=_csv(), lists=True), Check(query="?assignee=m_other")],
    "POST /api/v1/tasks": [Check(method="POST", ok=ok(201), roles=EDITORS, record="customer", data=lambda b, r: {"customer_id": r, "title": "Call"})],
    "GET /api/v1/tasks/{task_id}": [Check(record="task")],
    "PATCH /api/v1/tasks/{task_id}": [Check(method="PATCH", ok=ok(200), roles=EDITORS, record="task", data=lambda b, r: {"status": "done"})],
    "GET /api/v1/leads": [Check(lists=True), Check(query="?owner=m_other"), Check(query="?q=PMX&sort=name", lists=True)],
    "POST /api/v1/leads": [Check(method="POST", ok=ok(201), roles=EDITORS, data=lambda b, r: {"name": "PMX-NEW lead"})],
    "GET /api/v1/leads/{lead_id}": [Check(record="lead")],
    "PATCH /api/v1/leads/{lead_id}": [Check(method="PATCH", ok=ok(200), roles=EDITORS, record="lead", data=lambda b, r: {"company": "Renamed"})],
    "POST /api/v1/leads/{lead_id}/convert": [Check(method="POST", ok=ok(200), roles=EDITORS, record="lead")],
    "GET /api/v1/opportunities": [Check(lists=True), Check(query="?customer_id={birch}"), Check(query="?owner=m_other")],
    "POST /api/v1/opportunities": [
        Check(method="POST", ok=ok(201), roles=EDITORS, record="customer", data=lambda b, r: {"name": "PMX-NEW deal", "customer_id": r}),
    ],
    "GET /api/v1/opportunities/{opportunity_id}": [Check(record="opportunity")],
    "PATCH /api/v1/opportunities/{opportunity_id}": [
        Check(method="PATCH", ok=ok(200), roles=EDITORS, record="opportunity", data=lambda b, r: {"stage": "meet"}),
    ],
    "GET /api/v1/opportunities/{opportunity_id}/stages": [Check(record="opportunity")],
    "POST /api/v1/ingest/orders": [
        # A batch answers 200 with one result per item: an invisible customer's item is not_found.
        Check(
            method="POST", ok=ok(200), roles=EDITORS, record="customer", hidden=200,
            data=lambda b, r: {"items": [{**_order_body(b, r), "external_id": "PMX-BATCH-1"}]}, also=_item_not_found,
        ),
    ],
    "POST /api/v1/ingest/events": [
        Check(
            method="POST", ok=ok(200), roles=EDITORS, record="customer", hidden=200,
            data=lambda b, r: {"items": [{"type": "cost_event", **_cost_body(b, r)}, ]}, also=_item_not_found,
        ),
    ],
    "GET /api/v1/webhooks": [Check(roles=ADMIN)],
    "POST /api/v1/webhooks": [
        Check(method="POST", ok=ok(201), roles=ADMIN, data=lambda b, r: {"name": "New", "url": "https://example.com/hook", "events": ["order.created"]}),
    ],
    "GET /api/v1/webhooks/{webhook_id}": [Check(roles=ADMIN, params={"webhook_id": "shared:webhook"})],
    "PATCH /api/v1/webhooks/{webhook_id}": [
        Check(method="PATCH", roles=ADMIN, params={"webhook_id": "shared:webhook"}, data=lambda b, r: {"name": "Renamed"}),
    ],
    "DELETE /api/v1/webhooks/{webhook_id}": [Check(method="DELETE", ok=ok(204), roles=ADMIN, params={"webhook_id": "shared:webhook"})],
    "POST /api/v1/webhooks/{webhook_id}/rotate-secret": [Check(method="POST", roles=ADMIN, params={"webhook_id": "shared:webhook"})],
    "POST /api/v1/webhooks/{webhook_id}/ping": [Check(method="POST", ok=ok(202), roles=ADMIN, params={"webhook_id": "shared:webhook"})],
    "GET /api/v1/webhooks/{webhook_id}/deliveries": [Check(roles=ADMIN, params={"webhook_id": "shared:webhook"})],
    "POST /api/v1/webhook-deliveries/{delivery_id}/retry": [
        Check(method="POST", ok=ok(202), roles=ADMIN, params={"delivery_id": "shared:delivery"}),
    ],
    "POST /api/v1/surveys": [Check(method="POST", ok=ok(201), roles=SURVEY_MANAGERS, data=lambda b, r: {"name": "API NPS"})],
    "GET /api/v1/surveys": [Check()],
    "GET /api/v1/surveys/{survey_id}": [Check(params={"survey_id": "shared:survey"})],
    "POST /api/v1/surveys/{survey_id}/invitations": [
        # A batch: an invisible customer is skipped as not_visible, nothing is queued for it.
        Check(
            method="POST", ok=ok(202), roles=EVERYONE - {"analyst"}, record="customer", hidden=202,
            params={"survey_id": "shared:survey"}, data=lambda b, r: {"customers": [r], "channel": "link"},
            also=_no_invitation_for_hidden, note="marketers send surveys; analysts only read",
        ),
    ],
    "GET /api/v1/responses": [Check(lists=True), Check(query="?customer={birch}"), Check(query="?score_class=detractor", lists=True)],
    "POST /api/v1/responses": [
        Check(method="POST", ok=ok(201), roles=EDITORS, record="customer", data=lambda b, r: {"survey": b.shared["survey"], "score": 9, "customer": r}),
        Check(method="POST", ok=ok(201), roles=EVERYONE - {"analyst"}, data=lambda b, r: {"survey": b.shared["survey"], "score": 9}, note="an anonymous answer"),
    ],
    "GET /api/v1/segments": [Check()],
    "POST /api/v1/segments": [
        Check(method="POST", ok=ok(201), roles=SEGMENT_EDITORS, data=lambda b, r: {"name": "PMX", "filter": {"tags": ["vip"]}}),
    ],
    "GET /api/v1/segments/{segment_id}": [Check(params={"segment_id": "shared:segment"}, also=_segment_counts_visible)],
    "PATCH /api/v1/segments/{segment_id}": [
        Check(method="PATCH", ok=ok(200), roles=SEGMENT_EDITORS, params={"segment_id": "shared:segment"}, data=lambda b, r: {"name": "Renamed"}),
    ],
    "DELETE /api/v1/segments/{segment_id}": [
        Check(method="DELETE", ok=ok(204), roles=SEGMENT_EDITORS, params={"segment_id": "shared:segment"}),
    ],
    "GET /api/v1/segments/{segment_id}/uplift": [Check(params={"segment_id": "shared:segment"})],
    "GET /api/v1/segments/{segment_id}/customers": [
        Check(params={"segment_id": "shared:segment"}, lists=True),
        Check(params={"segment_id": "shared:segment"}, query=_csv(), lists=True),
    ],
    "GET /api/v1/campaigns/{campaign_id}/report": [Check(roles=CAMPAIGN_REPORT_READERS, params={"campaign_id": "shared:report_campaign"})],
    "POST /api/v1/campaigns/{campaign_id}/report/refresh": [
        Check(method="POST", roles=CAMPAIGN_REPORT_READERS, params={"campaign_id": "shared:report_campaign"}),
    ],
    "POST /api/v1/campaigns/{campaign_id}/responses": [
        Check(method="POST", ok=ok(201), roles=CAMPAIGN_RESPONSE_RECORDERS, record="customer",
              params={"campaign_id": "shared:report_campaign"}, data=lambda b, r: {"customer_id": r, "at": _iso(0)}),
    ],
    "POST /api/v1/campaigns/simulate": [
        Check(method="POST", roles=SEGMENT_EDITORS, also=_simulation_counts_visible,
              data=lambda b, r: {"segment_id": b.shared["segment"], "channel": "email", "offer": "10% off"}),
    ],
    "GET /api/v1/campaigns": [Check()],
    "POST /api/v1/campaigns": [
        Check(method="POST", ok=ok(201), roles=CAMPAIGN_MANAGERS, data=lambda b, r: _campaign_body(b)),
    ],
    "GET /api/v1/campaigns/{campaign_id}": [Check(params={"campaign_id": "shared:phone_campaign"})],
    "PATCH /api/v1/campaigns/{campaign_id}": [
        Check(method="PATCH", ok=ok(200), roles=CAMPAIGN_MANAGERS, params={"campaign_id": "shared:campaign"}, data=lambda b, r: {"offer": "Other"}),
    ],
    "DELETE /api/v1/campaigns/{campaign_id}": [
        Check(method="DELETE", ok=ok(204), roles=CAMPAIGN_MANAGERS, params={"campaign_id": "shared:campaign"}),
    ],
    "POST /api/v1/campaigns/{campaign_id}/launch": [
        Check(method="POST", ok=ok(200), roles=CAMPAIGN_MANAGERS, params={"campaign_id": "shared:campaign"}, data=lambda b, r: {"seed": 1}),
    ],
    "GET /api/v1/campaigns/{campaign_id}/members": [
        Check(params={"campaign_id": "shared:phone_campaign"}, query="?limit=100", lists=True),
        Check(params={"campaign_id": "shared:phone_campaign"}, query="?format=csv", lists=True, note="the members' CSV"),
    ],
    "GET /api/v1/campaigns/{campaign_id}/skipped": [Check(params={"campaign_id": "shared:phone_campaign"})],
    "GET /api/v1/campaigns/{campaign_id}/call-list": [
        Check(params={"campaign_id": "shared:phone_campaign"}, query="?limit=100", lists=True),
    ],
    "GET /api/v1/campaigns/{campaign_id}/mailing.csv": [
        Check(roles=CAMPAIGN_MANAGERS, params={"campaign_id": "shared:mail_campaign"}, lists=True),
    ],
    "GET /api/v1/follow-ups": [Check(lists=True), Check(query="?customer={birch}"), Check(query="?status=open", lists=True)],
}
