"""What must never be is refused by the database itself: through the ORM and through the bulk
paths that bypass it (executemany on SQLite, COPY on PostgreSQL, the answer link's prepared
inserts, the scoring run's writers), on whichever database the suite runs on.

Foreign keys are checked when a transaction commits (Django declares them DEFERRABLE
INITIALLY DEFERRED), so the orphan tests commit for real (``transaction=True``).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from patron.commerce.models import CostEvent, Order, OrderLine, Product
from patron.core import bulk, rows
from patron.customers.models import Customer, PossibleDuplicate
from patron.feedback.models import FollowUp, FollowUpRule, Invitation, Response, Review, Trigger
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.insights import extract, services, sqlite_worker
from patron.insights.models import CurrentScore, CustomerScore, ScoringRun
from tests.factories import make_customer, make_order, make_product

NOW = timezone.now()


@dataclass
class World:
    customer: Customer
    other: Customer
    product: Product
    order: Order
    run: ScoringRun
    invitation: Invitation
    response: Response  # answered an invitation, no follow-up yet


@pytest.fixture
def world(db) -> World:
    customer, other = make_customer("Integrity Co"), make_customer("Other Co")
    product = make_product()
    survey = survey_create(name="Relationship NPS")
    invitation = Invitation.objects.create(
        survey=survey, customer=customer, channel="link", touchpoint="relationship", expires_at=NOW + timedelta(days=7)
    )
    response = Response.objects.create(
        survey=survey, customer=customer, invitation=invitation, score=9, score_class="promoter",
        touchpoint="relationship", channel="link",
    )  # fmt: skip
    return World(
        customer=customer,
        other=other,
        product=product,
        order=make_order(customer, product=product),
        run=ScoringRun.objects.create(as_of=date(2025, 12, 31), started_at=NOW, status=ScoringRun.Status.DONE),
        invitation=invitation,
        response=response,
    )


# Each rule: a valid new row (field values by attname), and values that break the rule.
def _product(w: World) -> dict[str, Any]:
    return {"sku": "INT-1", "name": "Tea", "list_price": Decimal("10"), "unit_cost": Decimal("4"), "currency": "CNY",
            "created_at": NOW, "updated_at": NOW}  # fmt: skip


def _order(w: World) -> dict[str, Any]:
    return {"customer_id": w.customer.pk, "channel": "web", "ordered_at": NOW, "currency": "CNY",
            "revenue": Decimal("10"), "cost_of_goods": Decimal("4"), "created_at": NOW, "updated_at": NOW}  # fmt: skip


def _line(w: World) -> dict[str, Any]:
    return {"order_id": w.order.pk, "line_no": 2, "product_id": w.product.pk, "quantity": Decimal("1"),
            "unit_price": Decimal("10"), "unit_cost": Decimal("4"), "amount": Decimal("10")}  # fmt: skip


def _cost(w: World) -> dict[str, Any]:
    return {"customer_id": w.customer.pk, "kind": "return", "amount": Decimal("5"), "currency": "CNY",
            "occurred_at": NOW, "note": "", "created_at": NOW, "updated_at": NOW}  # fmt: skip


def _customer(w: World) -> dict[str, Any]:
    return {"name": "New Co", "acquisition_cost": Decimal("0"), "first_order_at": NOW - timedelta(days=9),
            "last_order_at": NOW, "created_at": NOW, "updated_at": NOW}  # fmt: skip


def _trigger(w: World) -> dict[str, Any]:
    return {"survey_id": w.response.survey_id, "event": "order", "touchpoint": "purchase",
            "sampling_rate": Decimal("0.5"), "created_at": NOW, "updated_at": NOW}  # fmt: skip


def _response(w: World) -> dict[str, Any]:
    return {"survey_id": w.response.survey_id, "customer_id": w.customer.pk, "score": 7, "score_class": "passive",
            "touchpoint": "web", "channel": "api", "answers": "{}", "created_at": NOW}  # fmt: skip


def _rule(w: World) -> dict[str, Any]:
    return {"name": "Angry", "max_score": 4, "sentiment_below": -0.5, "created_at": NOW, "updated_at": NOW}


def _follow_up(w: World) -> dict[str, Any]:
    return {"response_id": w.response.pk, "customer_id": w.customer.pk, "reason": "Detractor", "opened_at": NOW,
            "due_at": NOW + timedelta(hours=48)}  # fmt: skip


def _review(w: World) -> dict[str, Any]:
    return {"customer_id": w.customer.pk, "quarter": "2026Q4", "due_at": NOW, "created_at": NOW, "at": NOW, "nps": 8}


def _score(w: World) -> dict[str, Any]:
    return {"run_id": w.run.pk, "customer_id": w.customer.pk, "p_alive": 0.5, "churn_risk": 0.2,
            "move_down_prob": 0.1, "r_score": 3, "f_score": 1, "m_score": 5, "churn_reasons": "[]",
            "recommendations": "[]"}  # fmt: skip


def _current(w: World) -> dict[str, Any]:
    return {**_score(w), "updated_at": NOW}


def _pair(w: World) -> dict[str, Any]:
    low, high = sorted([w.customer.pk, w.other.pk])
    return {"customer_id": low, "other_id": high, "reasons": '["name"]', "status": "open", "created_at": NOW}


def _reversed(w: World) -> dict[str, Any]:
    low, high = sorted([w.customer.pk, w.other.pk])
    return {"customer_id": high, "other_id": low}


RULES = [
    ("product_prices_not_negative", Product, _product, {"list_price": Decimal("-0.01")}),
    ("product_prices_not_negative", Product, _product, {"unit_cost": Decimal("-1")}),
    ("order_money_not_negative", Order, _order, {"revenue": Decimal("-10")}),
    ("order_money_not_negative", Order, _order, {"cost_of_goods": Decimal("-4")}),
    ("orderline_quantity_positive", OrderLine, _line, {"quantity": Decimal("-1")}),
    ("orderline_quantity_positive", OrderLine, _line, {"quantity": Decimal("0")}),
    ("orderline_money_not_negative", OrderLine, _line, {"unit_price": Decimal("-10"), "amount": Decimal("-10")}),
    ("orderline_money_not_negative", OrderLine, _line, {"unit_cost": Decimal("-4")}),
    ("costevent_amount_not_negative", CostEvent, _cost, {"amount": Decimal("-5")}),
    ("customer_acquisition_cost_not_negative", Customer, _customer, {"acquisition_cost": Decimal("-1")}),
    ("customer_totals_not_negative", Customer, _customer, {"revenue_total": Decimal("-1")}),
    ("customer_totals_not_negative", Customer, _customer, {"cost_to_serve_total": Decimal("-1")}),
    ("customer_first_order_not_after_last", Customer, _customer, {"first_order_at": NOW + timedelta(seconds=1)}),
    ("trigger_sampling_rate_0_to_1", Trigger, _trigger, {"sampling_rate": Decimal("1.5")}),
    ("response_score_0_to_10", Response, _response, {"score": 11}),
    ("response_score_0_to_10", Response, _response, {"score": -1}),
    ("response_sentiment_range", Response, _response, {"sentiment": 1.5}),
    ("followuprule_max_score_0_to_10", FollowUpRule, _rule, {"max_score": 11}),
    ("followuprule_sentiment_range", FollowUpRule, _rule, {"sentiment_below": -1.5}),
    ("followup_due_not_before_opened", FollowUp, _follow_up, {"due_at": NOW - timedelta(seconds=1)}),
    ("review_nps_0_to_10", Review, _review, {"nps": 11}),
    ("customerscore_probabilities_0_to_1", CustomerScore, _score, {"p_alive": 1.01}),
    ("customerscore_probabilities_0_to_1", CustomerScore, _score, {"churn_risk": -0.1}),
    ("customerscore_rfm_1_to_5", CustomerScore, _score, {"r_score": 6}),
    ("currentscore_probabilities_0_to_1", CurrentScore, _current, {"move_down_prob": 2.0}),
    ("currentscore_rfm_1_to_5", CurrentScore, _current, {"m_score": 0}),
    ("possibleduplicate_ordered_pair", PossibleDuplicate, _pair, "reversed"),
]
IDS = [f"{rule}-{'-'.join(bad) if isinstance(bad, dict) else bad}" for rule, _m, _v, bad in RULES]


def _values(world: World, valid, bad) -> dict[str, Any]:
    values = valid(world)
    return {**values, **(_reversed(world) if bad == "reversed" else bad)}


def _orm_object(model: type[models.Model], values: dict[str, Any]) -> models.Model:
    # JSON columns are given as text for the raw bulk paths; the ORM takes the decoded value.
    json_fields = {f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)}
    decoded = {k: (json.loads(v) if k in json_fields else v) for k, v in values.items()}
    return model(**decoded)


def _refused(rule: str, action) -> None:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        action()
    assert rule in str(caught.value)


@pytest.mark.django_db
@pytest.mark.parametrize(("rule", "model", "valid", "bad"), RULES, ids=IDS)
def test_a_valid_row_goes_in_and_a_bad_one_is_refused_through_the_orm(world, rule, model, valid, bad):
    with transaction.atomic():
        _orm_object(model, valid(world)).save(force_insert=True)  # the rule lets good rows in
        transaction.set_rollback(True)
    _refused(rule, lambda: _orm_object(model, _values(world, valid, bad)).save(force_insert=True))


@pytest.mark.django_db
@pytest.mark.parametrize(("rule", "model", "valid", "bad"), RULES, ids=IDS)
def test_a_bad_row_is_refused_through_the_bulk_writer(world, rule, model, valid, bad):
    """patron.core.bulk.insert: executemany on SQLite, COPY on PostgreSQL, no ORM."""
    values = _values(world, valid, bad)
    _refused(rule, lambda: bulk.insert(model, list(values), [list(values.values())]))


@pytest.mark.django_db
def test_the_columnar_writer_refuses_a_negative_quantity(world):
    """patron.core.bulk.insert_columns, the generator's path."""
    line = {**_line(world), "quantity": -1.0, "unit_price": 10.0, "unit_cost": 4.0, "amount": 10.0}
    _refused("orderline_quantity_positive", lambda: bulk.insert_columns(OrderLine, {k: [v] for k, v in line.items()}, 1))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the import fast path's COPY of CSV (PostgreSQL)")
@pytest.mark.django_db
def test_the_arrow_copy_refuses_a_negative_quantity(world):
    """patron.core.bulk.copy_table, the columnar import's path for order lines."""
    line = {**_line(world), "quantity": "-1.000"}
    table = pa.table({k: [str(v)] for k, v in line.items()})
    _refused("orderline_quantity_positive", lambda: bulk.copy_table(OrderLine, list(line), table))


@pytest.mark.django_db
def test_model_validation_says_what_is_wrong_before_the_database_refuses(world):
    """Forms and services validate with the constraints' messages (no database error shown)."""
    with pytest.raises(ValidationError, match="cannot be negative"):
        Product(**{**_product(world), "list_price": Decimal("-1")}).full_clean()
    answer = Response(**{**_response(world), "score": 12, "answers": {}})
    with pytest.raises(ValidationError, match="whole number from 0 to 10"):
        answer.full_clean(exclude=["survey", "customer", "invitation", "branch"])


@pytest.mark.django_db
def test_two_responses_to_one_invitation_are_refused(world):
    """One answer per invitation, whatever the path: the ORM and the answer link's insert."""
    second = {**_response(world), "invitation_id": world.invitation.pk, "answers": {}}
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(**second)
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.insert(Response(**second))
    assert Response.objects.filter(invitation=world.invitation).count() == 1
    # Anonymous answers (no invitation) are many.
    for _ in range(2):
        response_create(survey=world.response.survey, score=3, channel="link")


@pytest.mark.django_db
def test_the_answer_links_insert_refuses_a_score_out_of_range(world):
    bad = Response(**{**_response(world), "score": 12, "answers": {}})
    _refused("response_score_0_to_10", lambda: rows.insert(bad))


@pytest.mark.django_db
def test_the_scoring_runs_writer_refuses_a_score_out_of_range(world):
    """insights.services._insert: COPY on PostgreSQL, executemany on SQLite."""
    frame = pd.DataFrame({name: [None] for name in services.SCORE_FIELDS}, index=pd.Index([world.customer.pk]))
    frame["p_alive"] = [1.5]
    ids, columns = services._columns(frame)
    table = CustomerScore._meta.db_table
    _refused(
        "customerscore_probabilities_0_to_1",
        lambda: services._insert(table, ["run_id", "customer_id", *services.SCORE_FIELDS],
                                 [(world.run.pk, ids[0], *(c[0] for c in columns))]),
    )  # fmt: skip


# --- foreign keys: refused when the transaction commits -----------------------------------------


def _missing(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1000


@pytest.mark.django_db(transaction=True)
def test_an_order_line_without_its_order_is_refused(world):
    orphan = {**_line(world), "order_id": _missing(Order)}
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.create(**orphan)
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert(OrderLine, list(orphan), [list(orphan.values())])
    assert not OrderLine.objects.filter(order_id=orphan["order_id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_scores_for_a_missing_customer_are_refused(world):
    nobody = _missing(Customer)
    row = {**_score(world), "customer_id": nobody}
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerScore.objects.create(**{**row, "churn_reasons": [], "recommendations": []})
    with pytest.raises(IntegrityError), transaction.atomic():
        CurrentScore.objects.create(**{**row, "churn_reasons": [], "recommendations": [], "updated_at": NOW})
    for model, values in ((CustomerScore, row), (CurrentScore, {**row, "updated_at": NOW})):
        with pytest.raises(IntegrityError), transaction.atomic():
            bulk.insert(model, list(values), [list(values.values())])
    assert not CustomerScore.objects.filter(customer_id=nobody).exists()
    assert not CurrentScore.objects.filter(customer_id=nobody).exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's per-connection foreign key switch")
@pytest.mark.django_db
def test_every_sqlite_connection_of_the_app_enforces_foreign_keys():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone() == (1,)


@pytest.fixture
def book_file(transactional_db, tmp_path):
    """The test database (one customer, one run) committed and copied to a file, as a scoring
    run's ADBC writer sees the real one."""
    customer = make_customer("Filed Co")
    run = ScoringRun.objects.create(as_of=date(2025, 12, 31), started_at=NOW, status=ScoringRun.Status.DONE)
    path = tmp_path / "book.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(path) as target:
        connection.connection.backup(target)
    yield str(path), customer.pk, run
    call_command("flush", interactive=False, verbosity=0)


def _score_batch(customer_ids: list[int], run_id: int, p_alive: float = 0.5) -> pa.RecordBatch:
    frame = pd.DataFrame({name: [None] * len(customer_ids) for name in services.SCORE_FIELDS},
                         index=pd.Index(customer_ids))  # fmt: skip
    frame["p_alive"] = p_alive
    from patron.insights import score_ingest

    return pa.record_batch({
        "run_id": pa.array(np.full(len(customer_ids), run_id, dtype="int64")),
        "customer_id": pa.array(customer_ids, type=pa.int64()),
        **score_ingest.arrow_columns(frame, services.SCORE_FIELDS, text=services.TEXT_FIELDS,
                                     integer=services.INT_FIELDS, convert=services._column),
    })  # fmt: skip


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite ADBC writer")
def test_the_adbc_writer_child_refuses_scores_for_a_missing_customer_whatever_its_pragmas(book_file):
    """The child process links its own SQLite, whose foreign key checks are off by default: with
    no pragma from the parent it stored a score for a customer that does not exist."""
    path, customer_id, run = book_file
    table = CustomerScore._meta.db_table
    with pytest.raises(sqlite_worker.ConstraintError, match="FOREIGN KEY"):
        sqlite_worker.ingest(path, table, run.pk, [_score_batch([customer_id, customer_id + 1000], run.pk)],
                             lambda _n: None)  # fmt: skip
    with pytest.raises(sqlite_worker.ConstraintError, match="CHECK"):
        sqlite_worker.ingest(path, table, run.pk, [_score_batch([customer_id], run.pk, p_alive=2.0)], lambda _n: None)
    with sqlite3.connect(path) as file:
        assert file.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)  # noqa: S608
    sqlite_worker.ingest(path, table, run.pk, [_score_batch([customer_id], run.pk)], lambda _n: None)
    with sqlite3.connect(path) as file:
        assert file.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)  # noqa: S608


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite ADBC writer")
def test_a_scoring_run_writing_a_score_for_a_missing_customer_fails_with_an_integrity_error(book_file, monkeypatch):
    path, customer_id, run = book_file
    monkeypatch.setattr(extract, "sqlite_file", lambda: path)
    frame = pd.DataFrame({name: [None, None] for name in services.SCORE_FIELDS},
                         index=pd.Index([customer_id, customer_id + 1000], name="customer_id"))  # fmt: skip
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        services._ingest_history(run, frame, range(0, 2, services.WRITE_CHUNK), lambda *_a: None)


@contextmanager
def _rule_not_enforced(model: type[models.Model], rule: str):
    """A database from before the rule (inside the test's transaction, rolled back after it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                yield
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check may be pending
            cursor.execute(f'ALTER TABLE {model._meta.db_table} DROP CONSTRAINT "{rule}"')
            yield


@pytest.mark.django_db
def test_patron_integrity_lists_the_rows_that_break_a_rule(world, capsys):
    """The check behind the upgrade procedure (docs/upgrade.md): it finds the rows a database
    without the rule let in, and says nothing when there are none."""
    call_command("integrity")
    assert "No row breaks a rule" in capsys.readouterr().err
    line = world.order.lines.get()
    with _rule_not_enforced(OrderLine, "orderline_quantity_positive"):
        OrderLine.objects.filter(pk=line.pk).update(quantity=Decimal("-2"))
    with pytest.raises(CommandError, match="1 row breaks") as caught:
        call_command("integrity")
    assert caught.value.returncode == 1
    assert f"commerce.OrderLine orderline_quantity_positive: 1 row (id {line.pk})" in capsys.readouterr().out
