"""The fixture book of the permission matrix: one user per role, customers of several owners,
branches and regions, and every kind of record a route can name, for customers each role sees
and for customers it must not see.

Who sees which customer is stated here on its own (``VISIBLE``), not asked of
``visible_customers``: the matrix checks the application against this statement.

    region N: branch N1            region S: branch S1
    ALDER, ASPEN   rep  (N1)       BIRCH, BEECH   other rep (S1)
    CEDAR          other rep, region N, no branch
                                   KAURI, KAPOK   account manager (S1), key accounts

The manager manages region N: ALDER, ASPEN (branch in the region) and CEDAR (the region itself).
Every customer's name is its marker (``PMX-ALDER``); its records carry the marker in a text
field, so a page or export that shows a record of a customer the user must not see contains the
marker.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone

ROLES = ("admin", "manager", "rep", "account_manager", "cx", "marketer", "analyst")
# Roles that read every customer but change none.
READ_ONLY = frozenset({"analyst", "marketer"})
EDITORS = frozenset(ROLES) - READ_ONLY
SCOPED = frozenset({"manager", "rep", "account_manager"})

CUSTOMERS = ("ALDER", "ASPEN", "CEDAR", "BIRCH", "BEECH", "KAURI", "KAPOK")
# Customers with a full set of records (orders, contacts, tasks, answers, ...).
WITH_RECORDS = ("ALDER", "CEDAR", "BIRCH", "KAURI")
VISIBLE: dict[str, frozenset[str]] = {
    "rep": frozenset({"ALDER", "ASPEN"}),
    "manager": frozenset({"ALDER", "ASPEN", "CEDAR"}),
    "account_manager": frozenset({"KAURI", "KAPOK"}),
    **{role: frozenset(CUSTOMERS) for role in ROLES if role not in SCOPED},
}
# The customer whose records a role acts on, and the one it must not reach.
HOME = {"rep": "ALDER", "manager": "CEDAR", "account_manager": "KAURI"}
HIDDEN = "BIRCH"
# Possible-duplicate pairs: (customer, other).
PAIRS = {"ALDER": "ASPEN", "BIRCH": "BEECH", "KAURI": "KAPOK"}


def marker(name: str) -> str:
    return f"PMX-{name}"


@dataclass
class Book:
    users: dict[str, Any]  # role -> User; plus "other_rep"
    customers: dict[str, Any]  # name -> Customer
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> customer name -> id
    own: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> username -> id
    shared: dict[str, int] = field(default_factory=dict)  # kind -> id (records everyone reaches)
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # named ids: users, branches
    api_tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token

    def home(self, role: str) -> str:
        return HOME.get(role, "ALDER")

    def visible(self, kind: str, role: str) -> Any:
        """The id of a record of ``kind`` that ``role`` reaches, or None if it has none."""
        if kind == "owner":  # a rep whose customers the role may see (a manager's drill-down)
            return self.users["rep"].pk
        if kind in self.own:
            return self.own[kind].get(self.users[role].username)
        if kind == "duplicate":
            return self.records[kind]["KAURI" if role == "account_manager" else "ALDER"]
        return self.records[kind][self.home(role)]

    def hidden(self, kind: str, role: str) -> Any:
        """The id of a record of ``kind`` that ``role`` must not reach (a 404), or None."""
        if kind == "owner":  # owns only customers the role does not see
            return self.users["account_manager"].pk if role in SCOPED else None
        if kind in self.own:
            if role == "admin" and kind == "import_job":  # administrators see every import
                return None
            return self.own[kind][self.users["other_rep"].username]
        if role not in SCOPED:
            return None
        return self.records[kind][HIDDEN]

    def pair_keep(self, duplicate_id: int) -> int:
        from patron.customers.models import PossibleDuplicate

        return PossibleDuplicate.objects.get(pk=duplicate_id).customer_id

    def placeholders(self) -> dict[str, Any]:
        return {
            "other_rep": self.users["other_rep"].pk,
            "branch_s1": self.ids["branch_s1"],
            "birch": self.customers["BIRCH"].pk,
            "birch_order": self.records["order"]["BIRCH"],
            "segment": self.shared["segment"],
        }

    def hidden_markers(self, role: str) -> list[str]:
        return [marker(name) for name in CUSTOMERS if name not in VISIBLE[role]]

    def visible_markers(self, role: str) -> list[str]:
        return [marker(name) for name in WITH_RECORDS if name in VISIBLE[role]]

    def hidden_customer_ids(self, role: str) -> set[int]:
        return {self.customers[name].pk for name in CUSTOMERS if name not in VISIBLE[role]}


def _launched_campaign(book: Book) -> Any:
    """A campaign launched yesterday whose members are every customer of the book."""
    from patron.campaigns.models import Campaign, CampaignMember

    launched = timezone.now() - timedelta(days=1)
    campaign = Campaign.objects.create(
        name="Matrix campaign", channel="email", starts_on=launched.date(), ends_on=launched.date(),
        status=Campaign.Status.LAUNCHED, launched_at=launched,
    )
    for i, name in enumerate(CUSTOMERS):
        group = "treatment" if i % 2 else "control"
        CampaignMember.objects.create(campaign=campaign, customer=book.customers[name], group=group, channel="email",
                                      contacted=group == "treatment")
    return campaign


def build_book(files: Path) -> Book:
    """Write the book through the services (the way the app writes); ``files`` holds import files."""
    from patron.campaigns.models import Segment
    from patron.commerce.services import LineInput, cost_event_create, order_create, product_create
    from patron.core.models import Branch, Region
    from patron.core.services import user_create
    from patron.core.tokens import token_create
    from patron.customers.models import PossibleDuplicate
    from patron.customers.services import contact_create, customer_create
    from patron.engagement.services import interaction_create, task_create
    from patron.feedback import links
    from patron.feedback.models import FollowUp, Response, Review
    from patron.feedback.services.answers import response_create
    from patron.feedback.services.invitations import invitations_create
    from patron.feedback.services.surveys import survey_create
    from patron.imports.models import ImportJob, ImportMapping
    from patron.ingest.webhooks import webhook_create, webhook_ping
    from patron.insights.models import ScoringRun
    from patron.sales.services import lead_create, opportunity_create
    from patron.web.models import SavedView

    north = Region.objects.create(code="PMXN", name="North")
    south = Region.objects.create(code="PMXS", name="South")
    n1 = Branch.objects.create(code="PMXN1", name="North One", region=north)
    s1 = Branch.objects.create(code="PMXS1", name="South One", region=south)

    def user(username: str, role: str, **kwargs: Any) -> Any:
        return user_create(username=username, role=role, password="correct-horse-battery", email=f"{username}@example.com", **kwargs)[0]

    manager = user("m_manager", "manager", regions=[north])
    users = {
        "admin": user("m_admin", "admin"),
        "manager": manager,
        "rep": user("m_rep", "rep", reports_to=manager),
        "account_manager": user("m_am", "account_manager"),
        "cx": user("m_cx", "cx"),
        "marketer": user("m_marketer", "marketer"),
        "analyst": user("m_analyst", "analyst"),
        "other_rep": user("m_other", "rep"),
    }
    place = {
        "ALDER": (users["rep"], n1, None),
        "ASPEN": (users["rep"], n1, None),
        "CEDAR": (users["other_rep"], None, north),
        "BIRCH": (users["other_rep"], s1, None),
        "BEECH": (users["other_rep"], s1, None),
        "KAURI": (users["account_manager"], s1, None),
        "KAPOK": (users["account_manager"], s1, None),
    }
    customers = {}
    for name, (owner, branch, region) in place.items():
        customers[name] = customer_create(
            name=marker(name),
            owner=owner,
            branch=branch,
            region=region,
            external_id=f"{marker(name)}-X",
            # A pair shares an email: what the duplicate finder flags.
            email=f"{PAIRS.get(name, name).lower()}@example.com" if name in PAIRS else f"{name.lower()}-2@example.com",
            is_key_account=name in {"KAURI", "KAPOK"},
            consent_email=True,
            consent_survey=True,
        )
    product = product_create(sku="PMX-SKU", name="Matrix tea", list_price=Decimal(100), unit_cost=Decimal(60))
    survey = survey_create(name="Matrix NPS", kind="nps")
    book = Book(users=users, customers=customers)
    records: dict[str, dict[str, Any]] = {
        k: {}
        for k in ("customer", "contact", "order", "cost_event", "interaction", "task", "response", "follow_up", "review", "invitation", "duplicate")
    }
    now = timezone.now()
    records["customer_external_id"] = {}
    for name in CUSTOMERS:
        records["customer"][name] = customers[name].pk
        records["customer_external_id"][name] = customers[name].external_id
    for name in WITH_RECORDS:
        c = customers[name]
        m = marker(name)
        records["contact"][name] = contact_create(customer=c, name=f"{m} contact", title="Buyer", email=f"{name.lower()}.buyer@example.com").pk
        order = order_create(
            customer=c, channel="web", ordered_at=now - timedelta(days=3),
            lines=[LineInput(product=product, quantity=Decimal(2))], external_id=f"{m}-O1",
        )
        records["order"][name] = order.pk
        records["cost_event"][name] = cost_event_create(
            customer=c, kind="ticket", amount=Decimal(5), occurred_at=now - timedelta(days=2), note=f"{m} ticket"
        ).pk
        records["interaction"][name] = interaction_create(
            customer=c, channel="call", subject=f"{m} call", occurred_at=now - timedelta(days=2), handled_by=c.owner
        ).pk
        records["task"][name] = task_create(customer=c, title=f"{m} call back", due_at=now + timedelta(days=1)).pk
        # A detractor's answer opens a follow-up for the owner.
        response = response_create(survey=survey, score=3, channel="api", customer=c, comment=f"{m} slow delivery")
        records["response"][name] = response.pk
        records["follow_up"][name] = FollowUp.objects.get(response=response).pk
        records["review"][name] = Review.objects.create(
            customer=c, owner=c.owner, quarter="2099Q1", due_at=now + timedelta(days=30)
        ).pk
    # Sales: a lead placed as the customer is (owner, branch, region) and an opportunity of the customer.
    records["lead"], records["opportunity"] = {}, {}
    for name in WITH_RECORDS:
        owner, branch, region = place[name]
        records["lead"][name] = lead_create(name=f"{marker(name)} lead", owner=owner, branch=branch, region=region).pk
        records["opportunity"][name] = opportunity_create(
            name=f"{marker(name)} deal", customer=customers[name], amount=Decimal(100)
        ).pk
    for name, other in PAIRS.items():
        records["duplicate"][name] = PossibleDuplicate.objects.create(
            customer=customers[name], other=customers[other], reasons=["email"]
        ).pk
    # An unanswered email invitation of ALDER's, for the public answer link.
    invitation = invitations_create(survey=survey, customers=[customers["ALDER"]], channel="link").queued[0]
    records["invitation"]["ALDER"] = invitation.pk
    book.records = records
    book.tokens = {
        "answer": links.answer_token(invitation),
        "comment": links.comment_token(
            records["response"]["ALDER"], Response.objects.get(pk=records["response"]["ALDER"]).comment_at
        ),
        "unsubscribe": links.unsubscribe_token(customers["ALDER"].pk),
        "survey_key": survey.public_key,
    }

    # Personal records: saved views and imports, reached only by their owner (imports: and admins).
    header = ["external_id", "name"]
    book.own = {"saved_view": {}, "import_job": {}}
    for key, u in users.items():
        book.own["saved_view"][u.username] = SavedView.objects.create(user=u, list_name="customers", name=f"{key} view").pk
        if key in {"analyst", "marketer"}:
            continue  # they import nothing
        source = files / f"{u.username}.csv"
        with open(source, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, [f"PMX-IMP-{u.username}", f"Imported for {u.username}"]])
        errors = files / f"{u.username}.csv.errors.csv"
        errors.write_text("external_id,name,line,error\r\n,,2,name is required\r\n", encoding="utf-8")
        book.own["import_job"][u.username] = ImportJob.objects.create(
            kind="customers", status=ImportJob.Status.DONE, user=u, file_path=str(source),
            original_name=source.name, file_size=source.stat().st_size, header=header,
            columns={c: c for c in header}, error_file=str(errors),
        ).pk
    webhook = webhook_create(name="Matrix hook", url="http://127.0.0.1:9/hook", events=["order.created"])
    book.shared = {
        "product": product.pk,
        "survey": survey.pk,
        "scoring_run": ScoringRun.objects.create(as_of=now.date(), started_at=now, status=ScoringRun.Status.FAILED).pk,
        "mapping": ImportMapping.objects.create(kind="customers", name="Matrix mapping", columns={"external_id": "external_id"}).pk,
        "webhook": webhook.pk,
        "delivery": webhook_ping(webhook=webhook).pk,
        "segment": Segment.objects.create(name="Matrix segment", filter={}).pk,
        "report_campaign": _launched_campaign(book).pk,
    }
    book.shared.update(_campaigns(book, book.shared["segment"]))
    # The NPS and themes pages' default views read figures precomputed per (owner, branch, region).
    from patron.insights.nps_refresh import nps_figures_refresh

    nps_figures_refresh()
    book.ids = {
        "rep": users["rep"].pk,
        "other_rep": users["other_rep"].pk,
        "branch_n1": n1.pk,
        "branch_s1": s1.pk,
    }
    book.api_tokens = {role: token_create(user=u)[1] for role, u in users.items()}
    return book


def _campaigns(book: Book, segment_id: int) -> dict[str, int]:
    """A draft campaign, and a launched phone and mail campaign with every customer in treatment
    (contacted), so lists, the call list and the mailing file show each role its customers."""
    from patron.campaigns.models import Campaign, CampaignMember

    def campaign(name: str, channel: str, status: str) -> Campaign:
        return Campaign.objects.create(
            name=name, segment_id=segment_id, channel=channel, status=status, offer="PMX offer",
            starts_on=timezone.now().date(), ends_on=timezone.now().date(), seed=1 if status == "launched" else None,
        )

    shared = {"campaign": campaign("Matrix draft", "email", "draft").pk}
    book.records["campaign_member"] = {}
    for channel in ("phone", "mail"):
        launched = campaign(f"Matrix {channel}", channel, "launched")
        shared[f"{channel}_campaign"] = launched.pk
        for name, customer in book.customers.items():
            member = CampaignMember.objects.create(
                campaign=launched, customer=customer, group="treatment", channel=channel, contacted=True, value_class="other",
            )
            if channel == "phone":
                book.records["campaign_member"][name] = member.pk
    return shared
