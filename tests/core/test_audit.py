"""The audit log: append-only in Python and in the database, an entry for each audited change
(one per batch for bulk writers), readable by administrators only (page, CSV, API)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from patron.core.audit import MASK, acting, audit_record, ids_in, sqlite_allow_purge
from patron.core.models import AuditAppendOnlyError, AuditEntry
from patron.customers.models import Customer
from patron.customers.services import (
    contact_create,
    customer_assign_owner,
    customer_update,
    customers_bulk_add_tag,
    customers_bulk_assign_owner,
)
from patron.imports.services import customer_merge
from tests.api.conftest import client_for
from tests.factories import make_customer, make_product, make_user
from tests.imports.helpers import run, write_csv

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


# ---------------------------------------------------------------- append-only


def test_entries_cannot_be_changed_or_deleted_through_django():
    entry = audit_record("test.event", object_type="thing", object_id=1)
    entry.action = "other"
    with pytest.raises(AuditAppendOnlyError):
        entry.save()
    with pytest.raises(AuditAppendOnlyError):
        entry.delete()
    with pytest.raises(AuditAppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="other")
    with pytest.raises(AuditAppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.event"


def test_the_database_refuses_update_and_delete():
    entry = audit_record("test.event", object_type="thing", object_id=1)
    sqlite_allow_purge(False)  # what a product database has: no purge allowed
    table = AuditEntry._meta.db_table
    statements = (f"UPDATE {table} SET action = 'forged' WHERE id = %s", f"DELETE FROM {table} WHERE id = %s")  # noqa: S608 - the model's own table name
    for sql in statements:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.event"
    sqlite_allow_purge(True)


@pytest.mark.django_db(transaction=True)
def test_a_database_with_entries_can_still_be_emptied_between_tests(root):
    # A transactional test ends with Django's flush: TRUNCATE on PostgreSQL (no row trigger
    # fires), DELETE on SQLite (allowed by the test database's purge flag). This test leaves
    # entries behind; the next transactional test starts without them.
    make_customer("Left behind")
    assert AuditEntry.objects.filter(action="customer.create").exists()


@pytest.mark.django_db(transaction=True)
def test_and_the_next_transactional_test_starts_empty():
    assert not AuditEntry.objects.filter(action="customer.create").exists()


# ---------------------------------------------------------------- audited changes


def test_customer_create_and_update_record_who_what_and_mask_personal_values(alice, root):
    with acting(root, source="web"):
        customer = make_customer("Zhang Wei", owner=alice, email="zw@example.com", stage="prospect")
        customer_update(customer=customer, changes={"stage": "active", "email": "new@example.com", "city": ""}, tags=["vip"])
    [created] = _entries("customer.create")
    assert (created.actor_id, created.actor_label, created.source) == (root.pk, "root", "web")
    assert created.customer_id == customer.pk and created.object_id == customer.pk
    assert created.changes["owner"] == [None, alice.pk]
    assert created.changes["name"] == [None, MASK] and created.changes["email"] == [None, MASK]
    [updated] = _entries("customer.update")
    assert updated.changes == {"stage": ["prospect", "active"], "email": [MASK, MASK], "tags": [[], ["vip"]]}
    assert "zw@example.com" not in str(updated.changes) and "Zhang" not in str(created.changes)


def test_owner_change_contact_and_unchanged_update(alice, bob):
    customer = make_customer("Owned", owner=alice)
    customer_assign_owner(customer=customer, owner=bob)
    [entry] = _entries("customer.owner")
    assert entry.changes == {"owner": [alice.pk, bob.pk]} and entry.source == "system"
    customer_update(customer=customer, changes={"stage": customer.stage})
    assert _entries("customer.update") == []  # nothing changed, nothing logged
    contact = contact_create(customer=customer, name="Buyer", email="b@example.com")
    [entry] = _entries("contact.create")
    assert (entry.customer_id, entry.object_id) == (customer.pk, contact.pk)


def test_bulk_actions_write_one_entry_per_batch(root, alice, bob):
    customers = [make_customer(f"Bulk {i}", owner=alice) for i in range(5)]
    moved = customers_bulk_assign_owner(actor=root, customers=Customer.objects.filter(name__startswith="Bulk"), owner=bob)
    assert moved == 5
    [entry] = _entries("customers.bulk_owner")
    assert entry.changes["count"] == 5 and entry.changes["owner"] == [[alice.pk], bob.pk]
    assert ids_in(entry.changes["ids"]) == sorted(c.pk for c in customers)
    customers_bulk_add_tag(actor=root, customers=Customer.objects.filter(name__startswith="Bulk"), tag_name="gold")
    [entry] = _entries("customers.bulk_tag")
    assert entry.changes["count"] == 5 and entry.changes["tag"] == "gold"


def test_merge_is_logged_with_both_ids(root):
    keep, merge = make_customer("Keep"), make_customer("Merge")
    merged_id = merge.pk
    customer_merge(keep=keep, merge=merge, by=root)
    [entry] = _entries("customer.merge")
    assert (entry.customer_id, entry.object_id, entry.actor_id) == (keep.pk, merged_id, root.pk)
    assert entry.changes["merged"] == [merged_id, keep.pk]


def test_user_creation_and_role_change_in_the_admin(root):
    carol = make_user("carol", "rep")
    [created] = [e for e in _entries("user.create") if e.object_id == carol.pk]
    assert created.changes["role"] == [None, "rep"]
    client = Client()
    client.force_login(root)
    page = client.get(f"/admin/core/user/{carol.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update({
        "username": "carol", "role": "manager", "is_active": "on", "date_joined_0": "2025-01-01", "date_joined_1": "10:00:00",
        "branches": [], "regions": [], "groups": [], "user_permissions": [],
    })
    data = {k: v for k, v in data.items() if k not in ("password", "last_login", "date_joined", "is_staff", "is_superuser")}
    response = client.post(f"/admin/core/user/{carol.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    [entry] = _entries("user.update")
    assert entry.object_id == carol.pk and entry.actor_id == root.pk and entry.source == "web"
    assert entry.changes["role"] == ["rep", "manager"]


def test_import_writes_one_entry_per_batch(tmp_path, root):
    rows = [[f"C-{i}", f"Imported {i}"] for i in range(25)]
    path = write_csv(tmp_path / "c.csv", ["external_id", "name"], rows)
    with acting(root, source="import", label="import #7"):
        result = run(path, "customers", batch_size=10)
    assert result.created == 25 and result.batches == 3
    entries = _entries("import.customers")
    assert len(entries) == 3
    assert [e.changes["created"] for e in entries] == [10, 10, 5]
    assert {e.actor_label for e in entries} == {"root (import #7)"} and {e.source for e in entries} == {"import"}
    imported = set(Customer.objects.filter(external_id__startswith="C-").values_list("pk", flat=True))
    assert {pk for e in entries for pk in ids_in(e.changes["customer_ids"])} == imported
    assert [e.changes["lines"] for e in entries] == [[2, 11], [12, 21], [22, 26]]


def test_dry_run_import_writes_no_entry(tmp_path):
    path = write_csv(tmp_path / "c.csv", ["external_id", "name"], [["C-1", "One"]])
    run(path, "customers", dry_run=True)
    assert _entries("import.customers") == []


def test_api_changes_and_batch_ingest_are_logged_as_the_tokens_user(alice):
    customer = make_customer("Api", owner=alice, external_id="API-1")
    make_product(sku="A", price=Decimal("10"), cost=Decimal("4"))
    api = client_for(alice)
    assert api.patch(f"/customers/{customer.pk}", {"city": "Hangzhou", "stage": "at_risk"}).status_code == 200
    [entry] = _entries("customer.update")
    assert (entry.actor_id, entry.source, entry.actor_label) == (alice.pk, "api", "alice (API token)")
    assert entry.changes["stage"] == ["active", "at_risk"] and entry.changes["city"] == [None, MASK]
    at = timezone.now().isoformat()
    items = [
        {"external_id": f"O-{i}", "customer_external_id": "API-1", "ordered_at": at, "channel": "web",
         "lines": [{"product_sku": "A", "quantity": 1}]}
        for i in range(4)
    ]
    assert api.post("/ingest/orders", {"items": items}).json()["created"] == 4
    [batch] = _entries("ingest.orders")
    assert batch.changes["count"] == 4 and ids_in(batch.changes["customer_ids"]) == [customer.pk]
    assert batch.actor_id == alice.pk


def test_exports_are_logged(client, alice, root):
    make_customer("Listed", owner=alice)
    client.force_login(alice)
    assert client.get("/customers/?format=csv&q=Listed").status_code == 200
    [entry] = _entries("export.list")
    assert (entry.object_type, entry.actor_id, entry.changes["query"]) == ("customers", alice.pk, "q=Listed")
    assert client_for(alice).get("/customers", format="csv").status_code == 200
    [entry] = _entries("export.api")
    assert entry.object_type == "customers" and entry.source == "api"


# ---------------------------------------------------------------- reading the log


def test_audit_page_is_for_administrators_with_filters_and_a_safe_csv(client, alice, root):
    with acting(root, source="web"):
        formula = make_customer("=HYPERLINK(1)", owner=alice)
        customer_update(customer=formula, changes={"stage": "lost"})
    with acting(alice, source="web"):
        make_customer("Alice's", owner=alice)
    client.force_login(alice)
    assert client.get("/audit/").status_code == 403
    client.force_login(root)
    page = client.get("/audit/", {"actor": "root", "action": "customer."})
    assert page.status_code == 200
    assert [e.action for e in page.context["entries"]] == ["customer.update", "customer.create"]
    by_customer = client.get("/audit/", {"customer": formula.pk, "since": timezone.localdate().isoformat()})
    assert {e.customer_id for e in by_customer.context["entries"]} == {formula.pk}
    for bad in ("not a date", "9999-12-31", "0001-01-01"):  # shown as a form error, not a 500
        assert client.get("/audit/", {"since": bad, "until": bad}).status_code == 200
    download = client.get("/audit/", {"action": "customer.update", "format": "csv"})
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["action"] for r in rows] == ["customer.update"]
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    assert _entries("export.audit")[0].actor_id == root.pk


def test_audit_api_for_administrators_paginated(alice, root):
    for i in range(3):
        make_customer(f"Paged {i}", owner=alice)
    assert client_for(alice).get("/audit").status_code == 403
    api = client_for(root)
    first = api.get("/audit", action="customer.create", limit=2).json()
    assert first["count"] == 3 and len(first["items"]) == 2 and first["next"]
    assert api.get("/audit", action="customer.create", limit=2, offset=2).json()["items"][0]["action"] == "customer.create"
    assert api.get("/audit", since=(timezone.localdate() + timedelta(days=2)).isoformat()).json()["count"] == 0
    assert api.get("/audit", since="nope").status_code == 422


def test_the_customer_page_shows_its_history_to_administrators(client, alice, root):
    customer = make_customer("Historic", owner=alice)
    customer_update(customer=customer, changes={"stage": "lost"})
    client.force_login(root)
    page = client.get(f"/customers/{customer.pk}/")
    assert [e.action for e in page.context["history"]] == ["customer.update", "customer.create"]
    assert 'data-testid="customer-history"' in page.content.decode()
    client.force_login(alice)
    page = client.get(f"/customers/{customer.pk}/")
    assert page.context["history"] is None and 'data-testid="customer-history"' not in page.content.decode()


def test_a_file_export_is_logged(tmp_path, alice):
    from patron.ingest.export import export_to_file

    make_customer("Exported", owner=alice)
    with acting(None, source="cli"):
        rows = export_to_file("customers", "csv", tmp_path / "customers.csv", user=alice)
    [entry] = _entries("export.file")
    assert entry.changes == {"format": "csv", "rows": rows, "file": "customers.csv", "as_user": "alice"}
    assert entry.source == "cli" and entry.object_type == "customers"


def test_group_permission_changes_in_the_admin_are_logged(root):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="Viewers")
    perm = Permission.objects.get(codename="view_customer")
    client = Client()
    client.force_login(root)
    response = client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Viewers", "permissions": [perm.pk]})
    assert response.status_code == 302
    [entry] = _entries("group.update")
    assert entry.object_id == group.pk and entry.actor_id == root.pk
    assert entry.changes["permissions"] == [[], [perm.pk]]


def test_api_tokens_created_and_revoked_are_logged(alice, root):
    from patron.core.tokens import token_create, token_revoke

    with acting(root, source="cli"):
        token, _raw = token_create(user=alice, name="shop")
        token_revoke(token_id=token.pk)
        token_revoke(token_id=token.pk)  # already revoked: nothing changes, nothing logged
    [created] = _entries("token.create")
    assert created.object_id == token.pk and created.changes["user"] == [None, "alice"]
    assert len(_entries("token.revoke")) == 1


def test_a_password_set_in_the_admin_is_logged_without_the_password(root):
    carol = make_user("carol", "rep")
    client = Client()
    client.force_login(root)
    secret = "a-new-Passw0rd-for-carol"
    response = client.post(f"/admin/core/user/{carol.pk}/password/", {"password1": secret, "password2": secret})
    assert response.status_code == 302
    [entry] = _entries("user.password")
    assert entry.object_id == carol.pk and entry.actor_id == root.pk and secret not in str(entry.changes)


def test_single_orders_cost_events_interactions_and_tasks_are_logged(alice):
    customer = make_customer("One", owner=alice)
    product = make_product(sku="B", price=Decimal("10"), cost=Decimal("4"))
    api = client_for(alice)
    at = timezone.now().isoformat()
    order = api.post("/orders", {"customer_id": customer.pk, "channel": "web", "ordered_at": at,
                                 "lines": [{"product_id": product.pk, "quantity": "2"}]}).json()
    [created] = _entries("order.create")
    assert (created.object_id, created.customer_id, created.actor_id) == (order["id"], customer.pk, alice.pk)
    assert created.changes["lines"] == [None, 1]
    assert api.patch(f"/orders/{order['id']}", {"channel": "store"}).status_code == 200
    [updated] = _entries("order.update")
    assert updated.changes["channel"] == ["web", "store"]
    event = api.post("/cost-events", {"customer_id": customer.pk, "kind": "ticket", "amount": "3.00",
                                      "occurred_at": at}).json()
    assert [e.object_id for e in _entries("costevent.create")] == [event["id"]]
    api.post("/interactions", {"customer_id": customer.pk, "channel": "call", "subject": "Called Mr Wu",
                               "occurred_at": at})
    [talk] = _entries("interaction.create")
    assert "Wu" not in str(talk.changes)
    task = api.post("/tasks", {"customer_id": customer.pk, "title": "Call back", "due_at": at}).json()
    assert api.patch(f"/tasks/{task['id']}", {"notes": "Mr Wu prefers mornings"}).status_code == 200
    [changed] = _entries("task.update")
    assert changed.changes["notes"] == [None, MASK] or changed.changes["notes"] == ["", MASK]
