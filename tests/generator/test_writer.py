"""Writing a generated data set: what lands in the database, and what is refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Min, Sum

from patron.commerce.models import CostEvent, Order, OrderLine, Product
from patron.commerce.services import CENT
from patron.customers.models import Contact, Customer
from patron.customers.selectors import search_key
from patron.engagement.models import Interaction
from patron.generator import simulate, writer
from patron.generator.models import GeneratedDataset
from patron.generator.writer import GeneratorError, generate_dataset

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, settings):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 500 customers, so a few thousand customers make several chunks."""
    monkeypatch.setattr(simulate, "BLOCK_SIZE", 500)


def _signature(seed: int) -> pd.DataFrame:
    rows = Customer.objects.filter(external_id__startswith=f"gen-{seed}-c").values_list(
        "external_id", "name", "email", "stage", "revenue_total", "profit_total", "order_count", "last_order_at"
    )
    frame = pd.DataFrame(list(rows), columns=["external_id", "name", "email", "stage", "revenue", "profit", "orders", "last"])
    return frame.sort_values("external_id", ignore_index=True)


def test_writes_every_table_and_records_the_truth(small_blocks, data_dir) -> None:
    dataset = generate_dataset(1_500, 11, chunk_size=500)
    counts = dataset.truth["counts"]
    assert dataset.finished_at is not None and dataset.truth["status"] == "finished"
    assert Customer.objects.count() == counts["customers"] == 1_500
    assert Order.objects.count() == counts["orders"] > 4_000
    assert OrderLine.objects.count() == counts["order_lines"] > 10_000
    assert CostEvent.objects.count() == counts["cost_events"] > 0
    assert Interaction.objects.count() == counts["interactions"] > 0
    assert Contact.objects.count() == counts["contacts"] > 0
    assert Product.objects.count() == len(simulate.catalogue())
    connection.check_constraints()  # every foreign key points at a row (raises IntegrityError)
    # Same data as the pure layer, row for row.
    expected = simulate.simulate(1_500, 11)
    assert counts["order_lines"] == len(expected.lines)
    # The truth files sit under the data folder and point at the database ids.
    truth = pd.read_parquet(dataset.truth["files"]["truth"])
    assert Path(dataset.truth["files"]["truth"]).parent == data_dir / "generated"
    assert len(truth) == 1_500
    ids = dict(Customer.objects.values_list("external_id", "pk"))
    assert (truth["customer_id"] == truth["external_id"].map(ids)).all()
    responses = pd.read_parquet(dataset.truth["files"]["responses"])
    assert len(responses) == counts["responses"] > 100
    assert set(responses["customer_id"]) <= set(ids.values())
    assert {"answered_at", "score", "comment", "language", "theme"} <= set(responses.columns)
    stored = GeneratedDataset.objects.get(pk=dataset.pk)
    assert stored.truth["params"]["beta_sat"] == simulate.Population().beta_sat


def test_running_totals_equal_a_recomputation_from_the_records(small_blocks) -> None:
    generate_dataset(1_000, 12, chunk_size=500)
    money = DecimalField(max_digits=16, decimal_places=2)
    orders = {
        row["customer_id"]: row
        for row in Order.objects.values("customer_id").annotate(
            revenue=Sum("revenue"), cogs=Sum("cost_of_goods"), n=Count("id"), first=Min("ordered_at"), last=Max("ordered_at")
        )
    }
    costs = dict(CostEvent.objects.values("customer_id").annotate(total=Sum("amount")).values_list("customer_id", "total"))
    checked = 0
    for c in Customer.objects.all():
        o = orders.get(c.pk)
        revenue = (o["revenue"] if o else ZERO).quantize(CENT)
        cogs = (o["cogs"] if o else ZERO).quantize(CENT)
        cts = Decimal(costs.get(c.pk, ZERO)).quantize(CENT)
        assert c.revenue_total == revenue, c.external_id
        assert c.cogs_total == cogs, c.external_id
        assert c.cost_to_serve_total == cts, c.external_id
        assert c.profit_total == revenue - cogs - cts, c.external_id
        assert c.order_count == (o["n"] if o else 0)
        assert c.first_order_at == (o["first"] if o else None)
        assert c.last_order_at == (o["last"] if o else None)
        checked += 1
    assert checked == 1_000
    # Each order's stored sums are what order_create computes from its lines.
    per_order = OrderLine.objects.values("order_id").annotate(
        revenue=Sum("amount"),
        cogs=Sum(ExpressionWrapper(F("quantity") * F("unit_cost"), output_field=money)),
    )
    stored = dict(Order.objects.values_list("pk", "revenue"))
    stored_cogs = dict(Order.objects.values_list("pk", "cost_of_goods"))
    for row in per_order:
        assert row["revenue"].quantize(CENT) == stored[row["order_id"]]
        assert row["cogs"].quantize(CENT) == stored_cogs[row["order_id"]]
    lines = OrderLine.objects.all()[:500]
    assert all(line.amount == (line.quantity * line.unit_price).quantize(CENT) for line in lines)


def test_same_seed_gives_the_same_data_and_is_refused_twice(small_blocks) -> None:
    generate_dataset(600, 21, chunk_size=500)
    first = _signature(21)
    with pytest.raises(GeneratorError, match="already holds 600 customers generated with seed 21"):
        generate_dataset(600, 21)
    assert Customer.objects.count() == 600  # nothing more was written
    assert GeneratedDataset.objects.count() == 1
    generate_dataset(600, 21, chunk_size=1_000, replace=True)
    assert Customer.objects.count() == 600
    assert GeneratedDataset.objects.count() == 1
    pd.testing.assert_frame_equal(first, _signature(21))
    generate_dataset(600, 22, chunk_size=500)
    other = _signature(22)
    assert Customer.objects.count() == 1_200
    assert not first["name"].equals(other["name"])


@pytest.mark.parametrize("customers", [0, -5, "10", 2.5, None, True])
def test_bad_sizes_are_refused_and_nothing_is_written(customers) -> None:
    with pytest.raises(GeneratorError, match="number of customers"):
        generate_dataset(customers, 1)  # type: ignore[arg-type]
    assert not Customer.objects.exists()
    assert not GeneratedDataset.objects.exists()
    assert not Product.objects.exists()


def test_bad_seed_is_refused() -> None:
    with pytest.raises(GeneratorError, match="seed"):
        generate_dataset(10, -1)
    assert not GeneratedDataset.objects.exists()


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5", ""])
def test_command_refuses_bad_numbers(value, capsys) -> None:
    with pytest.raises(CommandError, match="--customers must be"):
        call_command("generate", "--customers", value)
    assert not Customer.objects.exists()
    assert not GeneratedDataset.objects.exists()


def test_command_generates_and_then_refuses_the_same_seed(small_blocks, capsys) -> None:
    call_command("generate", "--customers", "700", "--seed", "3", "--no-progress")
    out = capsys.readouterr().out
    assert "700 customers" in out and "Truth:" in out
    assert Customer.objects.count() == 700
    with pytest.raises(CommandError, match="--replace"):
        call_command("generate", "--customers", "700", "--seed", "3", "--no-progress")
    assert Customer.objects.count() == 700


def test_a_failure_midway_leaves_whole_chunks_and_no_finish(small_blocks, monkeypatch) -> None:
    original = writer.write_chunk
    calls = {"n": 0}

    def failing(chunk, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            original(chunk, *args, **kwargs)  # the rows go in, then the process "dies"
            raise KeyboardInterrupt
        return original(chunk, *args, **kwargs)

    monkeypatch.setattr(writer, "write_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(1_500, 31, chunk_size=500)
    assert Customer.objects.count() == 500  # the first chunk only; the second rolled back
    first_chunk = simulate.simulate(1_500, 31)
    first_ids = set(first_chunk.customers["external_id"][:500])
    assert set(Customer.objects.values_list("external_id", flat=True)) == first_ids
    assert Order.objects.count() == int((first_chunk.orders["customer_index"] < 500).sum())
    dataset = GeneratedDataset.objects.get()
    assert dataset.finished_at is None and dataset.truth["status"] == "running"


def test_owners_round_robin_over_reps_and_handle_interactions(small_blocks, alice, bob, nora) -> None:
    generate_dataset(500, 41)
    by_owner = dict(Customer.objects.values("owner").annotate(n=Count("id")).values_list("owner", "n"))
    assert set(by_owner) == {alice.pk, bob.pk}  # reps only, not the analyst
    assert abs(by_owner[alice.pk] - by_owner[bob.pk]) <= 1
    mismatched = Interaction.objects.exclude(handled_by_id=F("customer__owner_id")).count()
    assert mismatched == 0


def test_records_are_well_formed(small_blocks) -> None:
    generate_dataset(500, 51)
    customers = list(Customer.objects.all()[:200])
    for c in customers:
        assert c.name_search == search_key(c.name)
        assert c.branch is not None and c.region_id == c.branch.region_id
        assert str(c.external_id).startswith("gen-51-c")
        assert c.acquired_on is not None
        if c.stage == Customer.Stage.PROSPECT:
            assert c.order_count == 0 and c.first_order_at is None
        else:
            assert c.order_count >= 1 and c.first_order_at is not None
            # Acquired on the local (UTC+8) day of the first order.
            assert (c.first_order_at + timedelta(hours=8)).date() == c.acquired_on
    assert Customer.objects.filter(owner__isnull=True).count() == 500  # no reps exist
    # Store and agent orders carry the customer's branch; remote orders none.
    assert not Order.objects.filter(channel__in=["web", "app"], branch__isnull=False).exists()
    assert not Order.objects.filter(channel="store", branch__isnull=True).exists()
    assert Customer.objects.filter(is_key_account=True, kind=Customer.Kind.PERSON).count() == 0
    end = simulate.Population().end_utc
    assert Order.objects.aggregate(m=Max("ordered_at"))["m"] < end


def test_planted_associations_are_visible_in_written_lines(small_blocks) -> None:
    generate_dataset(3_000, 61, chunk_size=1_500)
    product_ids = dict(Product.objects.values_list("external_id", "pk"))
    catalogue = simulate.catalogue()
    lines = pd.DataFrame(list(OrderLine.objects.values_list("order_id", "product_id")), columns=["order", "product"])
    baskets = lines.groupby("order")["product"].agg(set)
    n = len(baskets)
    for pair in simulate.population_truth()["bundle_pair_lifts"][:6]:
        a = product_ids[catalogue.loc[pair["a"], "external_id"]]
        b = product_ids[catalogue.loc[pair["b"], "external_id"]]
        has_a = baskets.map(lambda s, a=a: a in s)
        has_b = baskets.map(lambda s, b=b: b in s)
        lift = (has_a & has_b).sum() * n / (has_a.sum() * has_b.sum())
        assert lift > 2, (pair["a_name"], pair["b_name"], lift)


def test_reference_data_is_created_once(small_blocks) -> None:
    generate_dataset(500, 71)
    generate_dataset(500, 72)
    assert Product.objects.count() == len(simulate.catalogue())
    assert Customer.objects.values("branch").distinct().count() == 12
