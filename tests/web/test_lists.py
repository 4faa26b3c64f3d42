"""The lists: filters, sorting, paging, CSV, saved views and bulk actions, within visibility."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patron.customers.models import Customer
from patron.engagement.models import Task
from patron.engagement.services import task_create
from patron.feedback.models import FollowUp
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.web.models import SavedView
from tests.factories import make_customer, make_order, make_product

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def _names(response, key: str = "rows") -> list[str]:
    return [getattr(r, "name", None) or str(r) for r in response.context[key]]


# ---------------------------------------------------------------- customers


def test_customer_list_filters_by_owner_branch_and_tag_and_sorts_by_header(
    client, root, alice, bob, north
):
    a = make_customer("Anna", owner=alice, branch=north, tags=["vip"])
    b = make_customer("Bert", owner=alice)
    c = make_customer("Carl", owner=bob, tags=["vip"])
    make_order(a, product=make_product(price=300, cost=100))
    make_order(b, product=make_product(price=100, cost=90))
    make_order(c, product=make_product(price=500, cost=100))
    client.force_login(root)
    url = reverse("customer-list")
    assert _names(client.get(url, {"owner": alice.pk})) == ["Anna", "Bert"]
    assert _names(client.get(url, {"branch": north.pk})) == ["Anna"]
    assert _names(client.get(url, {"tag": "vip"})) == ["Anna", "Carl"]
    assert _names(client.get(url, {"sort": "-profit"})) == ["Carl", "Anna", "Bert"]
    assert _names(client.get(url, {"sort": "profit"})) == ["Bert", "Anna", "Carl"]
    # The profit header links to the other direction of the current sort.
    page = client.get(url, {"sort": "-profit", "tag": "vip"})
    profit = next(c for c in page.context["columns"] if str(c["label"]) == "Profit to date")
    assert (
        profit["aria_sort"] == "descending"
        and "sort=profit" in profit["url"]
        and "tag=vip" in profit["url"]
    )


def test_rep_sees_only_own_customers_and_csv_follows_filter_and_visibility(client, alice, bob):
    make_customer("Mine A", owner=alice, email="a@example.com")
    make_customer("Mine B", owner=alice, stage="lapsed")
    make_customer("Not mine", owner=bob)
    client.force_login(alice)
    assert _names(client.get(reverse("customer-list"))) == ["Mine A", "Mine B"]
    rows = _csv(client.get(reverse("customer-list"), {"format": "csv"}))
    assert [r["name"] for r in rows] == ["Mine A", "Mine B"]
    assert rows[0]["email"] == "a@example.com" and "profit_total" in rows[0]
    rows = _csv(client.get(reverse("customer-list"), {"format": "csv", "stage": "lapsed"}))
    assert [r["name"] for r in rows] == ["Mine B"]


def test_pages_use_limit_plus_one(client, alice, settings):
    settings.PATRON_PAGE_SIZE = 2
    for name in ("C1", "C2", "C3"):
        make_customer(name, owner=alice)
    client.force_login(alice)
    first = client.get(reverse("customer-list"))
    assert _names(first) == ["C1", "C2"] and first.context["has_next"]
    second = client.get(reverse("customer-list"), {"page": "2"})
    assert _names(second) == ["C3"] and not second.context["has_next"]
    assert 'rel="prev"' in second.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "abc"}, "“abc” is not a page number"),
        ({"page": "0"}, "“0” is not a page number"),
        ({"sort": "drop table"}, "Unknown sort “drop table”"),
        ({"churn_min": "lots"}, "Churn risk at least (%): Enter a whole number."),
        ({"owner": "999999"}, "Owner: Select a valid choice."),
        ({"cohort": "2025-3"}, "Write a quarter as 2025Q3."),
    ],
)
def test_bad_parameters_are_named_not_a_500(client, alice, params, message):
    make_customer("Still listed", owner=alice)
    client.force_login(alice)
    response = client.get(reverse("customer-list"), params)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and "Still listed" in page


def test_bad_parameters_on_every_list(client, root):
    client.force_login(root)
    for name in ("order-list", "response-list", "task-list", "feedback:follow-ups"):
        response = client.get(reverse(name), {"page": "x", "sort": "nope", "status": "weird"})
        assert response.status_code == 200, name
        assert "is not a page number" in response.content.decode(), name
        assert "Unknown sort" in response.content.decode(), name
    response = client.get(reverse("order-list"), {"ordered_from": "31/31/2024"})
    assert response.status_code == 200 and "Enter a valid date." in response.content.decode()


def test_list_query_count_does_not_grow_with_rows(client, root, alice):
    client.force_login(root)
    customer = make_customer("Counted", owner=alice)
    make_order(customer)
    task_create(customer=customer, assignee=alice, title="Call")

    def count(name: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(name)).status_code == 200
        return len(ctx)

    names = ("customer-list", "order-list", "task-list", "response-list", "feedback:follow-ups")
    before = {name: count(name) for name in names}
    product = make_product()
    for i in range(12):
        other = make_customer(f"More {i}", owner=alice, tags=["t"])
        make_order(other, product=product)
        task_create(customer=other, assignee=alice, title=f"Task {i}")
    after = {name: count(name) for name in names}
    assert after == before
    assert max(after.values()) <= 16


# ---------------------------------------------------------------- orders


def test_order_list_filters_sorts_and_exports_visible_orders(client, alice, bob, north):
    mine = make_customer("Mine", owner=alice)
    theirs = make_customer("Theirs", owner=bob)
    now = timezone.now()
    old = make_order(
        mine,
        channel="store",
        at=now - timedelta(days=40),
        external_id="O-OLD",
        product=make_product(price=50, cost=10),
    )
    new = make_order(
        mine,
        channel="web",
        at=now - timedelta(days=2),
        external_id="O-NEW",
        product=make_product(price=80, cost=10),
        branch=north,
    )
    make_order(theirs, channel="web", external_id="O-BOB")
    client.force_login(alice)
    url = reverse("order-list")
    assert [o.pk for o in client.get(url).context["rows"]] == [new.pk, old.pk]
    assert [o.pk for o in client.get(url, {"channel": "store"}).context["rows"]] == [old.pk]
    start = (now - timedelta(days=10)).date().isoformat()
    assert [o.pk for o in client.get(url, {"ordered_from": start}).context["rows"]] == [new.pk]
    assert [o.pk for o in client.get(url, {"ordered_to": start}).context["rows"]] == [old.pk]
    assert [o.pk for o in client.get(url, {"branch": north.pk}).context["rows"]] == [new.pk]
    assert [o.pk for o in client.get(url, {"sort": "revenue"}).context["rows"]] == [old.pk, new.pk]
    assert [o.pk for o in client.get(url, {"sort": "-revenue"}).context["rows"]] == [new.pk, old.pk]
    rows = _csv(client.get(url, {"format": "csv", "channel": "web"}))
    assert [r["external_id"] for r in rows] == ["O-NEW"]
    assert rows[0]["line_amount"] == "80.00"
    assert "O-BOB" not in client.get(url).content.decode()


# ---------------------------------------------------------------- tasks


def test_task_list_filters_overdue_assignee_and_sorts(client, mia, alice, bob, north):
    mine = make_customer("Mine", owner=alice, branch=north)
    theirs = make_customer("Theirs", owner=bob)
    now = timezone.now()
    late = task_create(customer=mine, assignee=alice, title="Late", due_at=now - timedelta(days=1))
    soon = task_create(customer=mine, assignee=mia, title="Soon", due_at=now + timedelta(days=1))
    done = task_create(customer=mine, assignee=alice, title="Done", due_at=now - timedelta(days=3))
    Task.objects.filter(pk=done.pk).update(status=Task.Status.DONE)
    task_create(customer=theirs, assignee=bob, title="Bob's")
    client.force_login(mia)  # sees the North region's customers
    url = reverse("task-list")
    assert [t.title for t in client.get(url).context["rows"]] == ["Done", "Late", "Soon"]
    assert [t.title for t in client.get(url, {"overdue": "on"}).context["rows"]] == ["Late"]
    assert [t.title for t in client.get(url, {"assignee": alice.pk}).context["rows"]] == [
        "Done",
        "Late",
    ]
    assert [
        t.title for t in client.get(url, {"status": "open", "sort": "-due_at"}).context["rows"]
    ] == [
        "Soon",
        "Late",
    ]
    rows = _csv(client.get(url, {"format": "csv", "status": "open"}))
    assert sorted(r["title"] for r in rows) == ["Late", "Soon"]
    assert {r["id"] for r in rows} == {str(late.pk), str(soon.pk)}


# ---------------------------------------------------------------- responses and follow-ups


@pytest.fixture
def survey(db):
    return survey_create(name="Relationship NPS", kind="nps")


def test_response_list_filters_by_class_and_comment_and_exports(client, alice, bob, survey):
    mine = make_customer("Mine", owner=alice)
    theirs = make_customer("Theirs", owner=bob)
    response_create(survey=survey, customer=mine, score=2, channel="api", comment="Too slow")
    response_create(survey=survey, customer=mine, score=10, channel="api")
    response_create(
        survey=survey, customer=theirs, score=0, channel="api", comment="Bob's angry customer"
    )
    client.force_login(alice)
    url = reverse("response-list")
    assert sorted(r.score for r in client.get(url).context["rows"]) == [2, 10]
    assert [r.score for r in client.get(url, {"score_class": "detractor"}).context["rows"]] == [2]
    assert [r.score for r in client.get(url, {"with_comment": "on"}).context["rows"]] == [2]
    assert [r.score for r in client.get(url, {"sort": "-score"}).context["rows"]] == [10, 2]
    rows = _csv(client.get(url, {"format": "csv"}))
    assert sorted(r["score"] for r in rows) == ["10", "2"]
    assert "Bob's angry customer" not in str(rows)


def test_follow_up_list_keeps_report_and_filters(client, alice, survey):
    customer = make_customer("Unhappy", owner=alice)
    response_create(survey=survey, customer=customer, score=1, channel="api", comment="Broken")
    follow_up = FollowUp.objects.get()
    client.force_login(alice)
    url = reverse("feedback:follow-ups")
    page = client.get(url)
    assert [f.pk for f in page.context["rows"]] == [follow_up.pk]
    assert 'data-testid="loop-report"' in page.content.decode()
    assert client.get(url, {"status": "closed"}).context["rows"] == []
    rows = _csv(client.get(url, {"format": "csv", "status": "all"}))
    assert [r["customer_name"] for r in rows] == ["Unhappy"] and rows[0]["score"] == "1"


# ---------------------------------------------------------------- saved views


def test_saved_view_round_trip_and_validation(client, alice, bob):
    make_customer("Lapsed one", owner=alice, stage="lapsed")
    make_customer("Active one", owner=alice)
    client.force_login(alice)
    save = reverse("saved-view-create")
    response = client.post(
        save,
        {
            "list_name": "customers",
            "name": "Lapsed",
            "query_string": "stage=lapsed&sort=-profit&page=3",
        },
    )
    view = SavedView.objects.get(user=alice)
    assert view.query_string == "stage=lapsed&sort=-profit"  # the page is not part of a view
    assert response.url == reverse("customer-list") + "?stage=lapsed&sort=-profit"
    page = client.get(reverse("customer-list")).content.decode()
    assert 'href="?stage=lapsed&amp;sort=-profit"' in page and ">Lapsed</a>" in page
    assert _names(client.get(response.url)) == ["Lapsed one"]
    # Saved views are per list and per user.
    assert ">Lapsed</a>" not in client.get(reverse("order-list")).content.decode()

    for name, message in (
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("Lapsed", "You already have a view named “Lapsed” on this list."),
    ):
        response = client.post(
            save, {"list_name": "customers", "name": name, "query_string": ""}, follow=True
        )
        assert message in response.content.decode(), name
    response = client.post(save, {"list_name": "nothing", "name": "X"}, follow=True)
    assert "There is no list “nothing”." in response.content.decode()
    assert SavedView.objects.count() == 1

    client.force_login(bob)
    assert client.post(reverse("saved-view-delete", args=[view.pk])).status_code == 404
    client.force_login(alice)
    response = client.post(reverse("saved-view-delete", args=[view.pk]), follow=True)
    assert "View “Lapsed” deleted." in response.content.decode()
    assert not SavedView.objects.exists()


# ---------------------------------------------------------------- bulk actions


def _bulk(client, **data):
    return client.post(reverse("customer-bulk"), data, follow=True)


def test_admin_assigns_exactly_the_ticked_customers(client, root, alice, bob):
    a, b, _c = (make_customer(n, owner=bob) for n in ("A", "B", "C"))
    client.force_login(root)
    response = _bulk(client, action="assign_owner", owner=alice.pk, ids=[a.pk, b.pk])
    assert "2 customers now belong to alice." in response.content.decode()
    assert dict(Customer.objects.values_list("name", "owner__username")) == {
        "A": "alice",
        "B": "alice",
        "C": "bob",
    }
    # Already theirs: nothing changes, and the message says so.
    assert (
        "0 customers now belong to alice."
        in _bulk(client, action="assign_owner", owner=alice.pk, ids=[a.pk]).content.decode()
    )


def test_manager_assigns_only_to_own_reports(client, mia, alice, bob, north):
    customer = make_customer("North customer", branch=north)
    client.force_login(mia)
    page = client.get(reverse("customer-list")).content.decode()
    owners = page.split('id="bulk-owner"')[1].split("</select>")[0]
    assert (
        f'<option value="{alice.pk}">alice</option>' in owners
        and f'value="{bob.pk}">bob<' not in owners
    )
    response = _bulk(client, action="assign_owner", owner=bob.pk, ids=[customer.pk])
    assert "Nothing was changed: You cannot assign customers to bob." in response.content.decode()
    assert Customer.objects.get().owner is None
    _bulk(client, action="assign_owner", owner=alice.pk, ids=[customer.pk])
    assert Customer.objects.get().owner == alice


def test_rep_tags_own_customers_and_is_refused_the_rest(client, alice, bob):
    mine = make_customer("Mine", owner=alice)
    theirs = make_customer("Theirs", owner=bob)
    client.force_login(alice)
    response = _bulk(client, action="assign_owner", owner=alice.pk, ids=[theirs.pk])
    assert "Your role does not assign customers to other people." in response.content.decode()
    assert Customer.objects.get(pk=theirs.pk).owner == bob
    response = _bulk(
        client, action="add_tag", tag=" callback ", ids=[mine.pk, theirs.pk]
    ).content.decode()
    assert "Tag “callback” added to 1 customers." in response
    assert "1 of the ticked customers are not yours to change" in response
    assert list(Customer.objects.filter(tags__name="callback").values_list("name", flat=True)) == [
        "Mine"
    ]
    assert (
        "Give the tag a name."
        in _bulk(client, action="add_tag", tag="  ", ids=[mine.pk]).content.decode()
    )


def test_add_tag_to_all_matching_the_filter(client, root, alice, bob):
    for i in range(3):
        make_customer(f"Lapsed {i}", owner=alice, stage="lapsed")
    make_customer("Active", owner=bob)
    make_customer("Lapsed, tagged already", owner=bob, stage="lapsed", tags=["winback"])
    client.force_login(root)
    response = _bulk(
        client, action="add_tag", tag="winback", all_matching="1", query="stage=lapsed&sort=name"
    )
    assert "added to 3 customers" in response.content.decode()
    assert sorted(Customer.objects.filter(tags__name="winback").values_list("name", flat=True)) == [
        "Lapsed 0",
        "Lapsed 1",
        "Lapsed 2",
        "Lapsed, tagged already",
    ]
    assert response.redirect_chain[-1][0] == reverse("customer-list") + "?stage=lapsed&sort=name"


def test_analyst_has_no_bulk_actions(client, nora, alice):
    customer = make_customer("Read only", owner=alice)
    client.force_login(nora)
    assert 'id="bulk"' not in client.get(reverse("customer-list")).content.decode()
    response = _bulk(client, action="add_tag", tag="x", ids=[customer.pk])
    assert response.status_code == 403  # refused as a whole, like every write of a read-only role
    assert not Customer.objects.filter(tags__name="x").exists()


def test_bulk_rejects_bad_selection(client, root):
    client.force_login(root)
    assert (
        "tick the customers to change first"
        in _bulk(client, action="add_tag", tag="x").content.decode()
    )
    assert (
        "not a list of customers"
        in _bulk(client, action="add_tag", tag="x", ids=["abc"]).content.decode()
    )
    assert "Action:" in _bulk(client, action="explode", ids=["1"]).content.decode()


def test_bulk_assign_is_one_update(root, alice, bob, django_assert_max_num_queries):
    from patron.customers.services import customers_bulk_assign_owner

    for i in range(30):
        make_customer(f"Many {i}", owner=bob, acquisition_cost=Decimal(0))
    # Permission check, the ids and former owners for the audit entry, UPDATE, the entry, savepoint pair.
    with django_assert_max_num_queries(6):
        changed = customers_bulk_assign_owner(
            actor=root, customers=Customer.objects.all(), owner=alice
        )
    assert changed == 30


def test_header_and_nav_link_the_lists(client, alice):
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    for name in ("order-list", "task-list", "response-list", "feedback:follow-ups"):
        assert f'href="{reverse(name)}"' in page, name
    assert f'action="{reverse("search")}"' in page


def test_sort_menu_offers_orders_without_a_column_and_keeps_header_sorts(client, alice):
    make_customer("Zed", owner=alice)
    make_customer("Amy", owner=alice)
    client.force_login(alice)
    page = client.get(reverse("customer-list"), {"sort": "-move_down"}).content.decode()
    assert '<option value="-move_down" selected>Likely to move down first</option>' in page
    response = client.get(reverse("customer-list"), {"sort": "-name"})
    assert _names(response) == ["Zed", "Amy"]
    assert (
        '<option value="-name" selected>As chosen in the column headers</option>'
        in response.content.decode()
    )
