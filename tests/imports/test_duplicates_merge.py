"""Possible duplicates after an import, and merging two customers with everything they own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from patron.commerce.models import CostEvent, Order
from patron.commerce.services import cost_event_create
from patron.customers.duplicates import possible_duplicates_flag
from patron.customers.models import Contact, Customer, PossibleDuplicate
from patron.customers.services import contact_create
from patron.engagement.models import Interaction, Task
from patron.engagement.services import interaction_create, task_create
from patron.imports.models import CustomerMerge
from patron.imports.services import MergeNotAllowedError, customer_merge
from tests.factories import make_customer, make_order, make_product
from tests.imports.helpers import counts, run, write_csv

pytestmark = pytest.mark.django_db


def pairs():
    return {
        (frozenset({d.customer.name, d.other.name}), tuple(d.reasons))
        for d in PossibleDuplicate.objects.select_related("customer", "other")
    }


def test_customers_import_flags_possible_duplicates(tmp_path):
    make_customer("Zhang Wei", email="ZW@Example.com")
    make_customer("Existing Phone", phone="+86 138-0013-8000")
    make_customer("王芳")
    make_customer("Unrelated", email="other@example.com")
    path = write_csv(
        tmp_path / "c.csv",
        ["external_id", "name", "email", "phone"],
        [
            ["C-1", "zhang  wei.", "zw@example.com", ""],  # same email (case) and same name after normalising
            ["C-2", "Phone Twin", "", "8613800138000"],  # same digits
            ["C-3", "王芳", "", ""],  # same Chinese name
            ["C-4", "王 芳", "", ""],  # Chinese names compare as written: not the same
            ["C-5", "Nobody Alike", "", "12345"],  # no phone number: the row is refused
        ],
    )
    result = run(path, "customers")
    assert counts(result) == (4, 0, 0, 1)
    assert "“12345” is not a valid phone number" in result.errors[0][1]
    assert result.duplicates_flagged == 3
    assert pairs() == {
        (frozenset({"Zhang Wei", "zhang  wei."}), ("email", "name")),
        (frozenset({"Existing Phone", "Phone Twin"}), ("phone",)),
        (frozenset({"王芳"}), ("name",)),
    }
    # Importing again flags nothing new; a dismissed pair stays dismissed.
    PossibleDuplicate.objects.filter(reasons=["phone"]).update(status=PossibleDuplicate.Status.DISMISSED)
    assert run(path, "customers").duplicates_flagged == 0
    assert possible_duplicates_flag() == 0
    assert PossibleDuplicate.objects.filter(status="dismissed").count() == 1


def test_very_common_values_are_not_used(tmp_path):
    for i in range(30):
        make_customer(f"Shop {i}", phone="400-800-8000")
    assert possible_duplicates_flag() == 0


def test_dry_run_flags_nothing(tmp_path):
    make_customer("Zhang Wei")
    path = write_csv(tmp_path / "c.csv", ["external_id", "name"], [["C-1", "Zhang Wei"]])
    assert run(path, "customers", dry_run=True).duplicates_flagged == 0
    assert not PossibleDuplicate.objects.exists()


@pytest.fixture
def two_records(alice):
    product = make_product(price=Decimal("50.00"), cost=Decimal("20.00"))
    keep = make_customer("Zhang Wei", owner=alice, email="", tags=["vip", "north"], external_id="K-1")
    merge = make_customer("Zhang W.", owner=alice, email="zw@example.com", phone="139 0013 9000", tags=["vip", "web"],
                          external_id="M-1", is_key_account=True)
    make_order(keep, product=product)
    make_order(merge, product=product, quantity=2, external_id="ORD-M")
    cost_event_create(customer=merge, kind="ticket", amount=Decimal("8.00"), occurred_at=timezone.now())
    contact_create(customer=merge, name="Assistant")
    interaction_create(customer=merge, channel="call", subject="Asked for a discount")
    task_create(customer=merge, title="Call back")
    PossibleDuplicate.objects.create(customer=keep, other=merge, reasons=["name"])
    return keep, merge


def test_merge_moves_every_record_recomputes_totals_and_logs(two_records, alice):
    keep, merge = two_records
    merge_pk = merge.pk
    log = customer_merge(keep=keep, merge=merge, by=alice)
    assert not Customer.objects.filter(pk=merge_pk).exists()
    assert Order.objects.filter(customer=keep).count() == 2
    assert CostEvent.objects.filter(customer=keep).count() == 1
    assert Contact.objects.filter(customer=keep).count() == 1
    assert Interaction.objects.filter(customer=keep).count() == 1
    assert Task.objects.filter(customer=keep).count() == 1
    keep.refresh_from_db()
    assert sorted(keep.tags.values_list("name", flat=True)) == ["north", "vip", "web"]
    assert (keep.revenue_total, keep.cogs_total, keep.cost_to_serve_total, keep.profit_total, keep.order_count) == (
        Decimal("150.00"), Decimal("60.00"), Decimal("8.00"), Decimal("82.00"), 2)
    # Empty profile fields are filled from the merged customer; its own stay.
    assert (keep.name, keep.email, keep.phone, keep.is_key_account, keep.external_id) == (
        "Zhang Wei", "zw@example.com", "+8613900139000", True, "K-1")
    assert keep.phone_digits == "8613900139000"  # the search finds the kept customer by it
    assert not PossibleDuplicate.objects.exists()
    assert log.merged_by == alice and log.kept == keep and log.merged_customer_id == merge_pk
    assert log.merged_external_id == "M-1"
    assert log.moved == {
        "commerce.Order": 1, "commerce.CostEvent": 1, "customers.Contact": 1, "engagement.Interaction": 1,
        "engagement.Task": 1, "customers.Customer_tags": 1,
    } | {k: v for k, v in log.moved.items() if not k.startswith(("commerce", "customers", "engagement"))}
    assert log.dropped == {"customers.Customer_tags": 1}  # "vip" was on both
    assert set(log.filled) == {"email", "phone", "is_key_account"}
    assert CustomerMerge.objects.count() == 1


def test_imports_naming_the_merged_customer_reach_the_kept_one(two_records, alice, tmp_path):
    keep, merge = two_records
    customer_merge(keep=keep, merge=merge, by=alice)
    path = write_csv(
        tmp_path / "e.csv",
        ["external_id", "customer_external_id", "kind", "amount", "occurred_at"],
        [["E-9", "M-1", "visit", "2", "2024-03-05"]],
    )
    assert counts(run(path, "cost_events")) == (1, 0, 0, 0)
    assert CostEvent.objects.get(external_id="E-9").customer == keep
    again = run(write_csv(tmp_path / "c.csv", ["external_id", "name"], [["M-1", "Zhang W."]]), "customers")
    assert counts(again) == (0, 0, 0, 1)
    assert "was merged into customer" in again.errors[0][1]


def test_merge_takes_the_external_id_when_the_kept_customer_has_none(alice):
    keep = make_customer("Kept", owner=alice)
    merge = make_customer("Merged", owner=alice, external_id="LEGACY-7")
    customer_merge(keep=keep, merge=merge, by=alice)
    keep.refresh_from_db()
    assert keep.external_id == "LEGACY-7"


def test_only_someone_who_can_edit_both_may_merge(alice, bob, nora, mia, north):
    mine = make_customer("Mine", owner=alice)
    bobs = make_customer("Bob's", owner=bob)
    with pytest.raises(MergeNotAllowedError):
        customer_merge(keep=mine, merge=bobs, by=alice)
    other_mine = make_customer("Also mine", owner=alice)
    with pytest.raises(MergeNotAllowedError):
        customer_merge(keep=mine, merge=other_mine, by=nora)  # analysts read only
    assert Customer.objects.count() == 3
    # Mia manages the North region: she may merge two customers of its branch.
    a = make_customer("North A", branch=north)
    b = make_customer("North B", branch=north)
    customer_merge(keep=a, merge=b, by=mia)
    assert not Customer.objects.filter(pk=b.pk).exists()
