"""Write a simulated data set into the database, chunk by chunk.

``generate_dataset`` is the one entry point (``patron generate`` and ``patron demo`` call it).
Each chunk of customers is written in one transaction with ``executemany`` on the raw tables —
the ORM's per-object work would take hours at ten million order lines — so a kill leaves whole
chunks only. Ids come from ``core.bulk.allocate_ids`` like every bulk writer's; rows go column by
column (``core.bulk.insert_columns``: numpy arrays, constant defaults repeated) as the simulation
hands over columns. Orders, their lines and cost events are written through ``commerce.bulk``,
which then recomputes the chunk's customer totals from them (``customer_totals_refresh``), as
it does for every bulk path; they equal the simulation's own (exact integer cents; customers billed
in a foreign currency, ``Population.foreign_share``, from the converted amounts,
``generator.currencies``).

The truth (per-customer latent values) and the survey answers go to Parquet files under
``DATA_DIR/generated/``; their paths are in ``GeneratedDataset.truth["files"]``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from patron.commerce.bulk import (
    cost_events_insert_columns,
    customer_totals_refresh,
    orders_insert_columns,
)
from patron.commerce.currency import check_base_currency
from patron.commerce.models import Order, OrderLine, Product
from patron.core import bulk
from patron.core.models import Branch, Region, Role, User
from patron.customers.duplicates import name_key
from patron.customers.models import Contact, Customer
from patron.customers.phones import digits
from patron.customers.selectors import search_key
from patron.engagement.models import Interaction
from patron.feedback.comments import analyse_texts
from patron.feedback.models import Channel as FeedbackChannel
from patron.feedback.models import FollowUp, Purpose, Response, Survey, SurveyKind, Touchpoint
from patron.feedback.models import score_class as feedback_score_class
from patron.feedback.reasons import detractor_reason
from patron.generator import currencies, prospects, simulate, vocab
from patron.generator.campaign_history import delete_generated_campaigns
from patron.generator.models import GeneratedDataset
from patron.sales.models import Lead, Opportunity, Pipeline, StageChange
from patron.sales.services import pipeline_default_ensure

DEFAULT_CHUNK_SIZE = 20_000
FOLLOW_UP_SLA_HOURS = 48  # the feedback app's default first-contact SLA
# The survey generated NPS answers are filed under (created once, shared by every seed).
GENERATED_SURVEY = "Post-purchase NPS (generated)"


class GeneratorError(Exception):
    """A request the generator refuses, with a message meant for the person who asked."""


@dataclass(frozen=True)
class ReferenceIds:
    """Database ids of the shared reference rows, indexed like the simulation's lists."""

    regions: list[int]
    branches: list[int]
    products: list[int]
    owners: list[int]
    survey: int  # the post-purchase NPS survey the generated answers belong to
    pipeline: int | None = None  # the default sales pipeline (none: no leads or deals written)
    stages: dict[str, int] = field(default_factory=dict)  # its stages' ids by key


def external_prefix(seed: int) -> str:
    return f"gen-{seed}-c"


def _check_arguments(customers: Any, seed: Any, chunk_size: Any) -> None:
    checks = (
        ("The number of customers", customers, 1),
        ("The seed", seed, 0),
        ("The chunk size", chunk_size, 1),
    )
    for label, value, minimum in checks:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise GeneratorError(f"{label} must be a whole number, not {value!r}.")
        if value < minimum:
            raise GeneratorError(f"{label} must be {'positive' if minimum else 'zero or positive'}, not {value}.")
    if seed >= 2**63:
        raise GeneratorError("The seed must be below 2**63.")


def existing_customers(seed: int) -> int:
    """How many customers of a generated data set with this seed the database holds."""
    return Customer.objects.filter(external_id__startswith=external_prefix(seed)).count()


def delete_generated(seed: int, *, batch: int = 2_000) -> int:
    """Remove the customers generated with ``seed`` (with everything that cascades) and the
    data set records; returns the number of customers removed."""
    removed = 0
    while True:
        ids = list(
            Customer.objects.filter(external_id__startswith=external_prefix(seed)).values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        with transaction.atomic():
            OrderLine.objects.filter(order__customer_id__in=ids).delete()
            Customer.objects.filter(pk__in=ids).delete()
        removed += len(ids)
    # The seed's leads (their deals cascade); converted ones lost their customer above.
    leads = Lead.objects.filter(external_id__startswith=f"gen-{seed}-l")
    while ids := list(leads.values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            Lead.objects.filter(pk__in=ids).delete()
    delete_generated_campaigns(seed)
    for dataset in GeneratedDataset.objects.filter(seed=seed):
        for path in (dataset.truth or {}).get("files", {}).values():
            Path(path).unlink(missing_ok=True)
        dataset.delete()
    return removed


# --------------------------------------------------------------------------- reference data


def ensure_reference_data() -> ReferenceIds:
    """Regions, branches and the product catalogue, created once and shared by every seed."""
    regions = []
    for code, zh, en in vocab.REGIONS:
        region, _ = Region.objects.get_or_create(code=code, defaults={"name": f"{zh} {en}"})
        regions.append(region.pk)
    branches = []
    for code, region_index, city_zh, city_en, _districts in vocab.BRANCHES:
        branch, _ = Branch.objects.get_or_create(
            code=code, defaults={"name": f"{city_zh}分公司 {city_en} branch", "region_id": regions[region_index]}
        )
        branches.append(branch.pk)
    catalogue = simulate.catalogue()
    existing = dict(Product.objects.filter(external_id__in=list(catalogue["external_id"])).values_list("external_id", "pk"))
    missing = [
        Product(
            external_id=str(row["external_id"]),
            sku=str(row["sku"]),
            name=str(row["name"]),
            category=str(row["category"]),
            list_price=Decimal(int(row["list_price_cents"])) / 100,
            unit_cost=Decimal(int(row["unit_cost_cents"])) / 100,
            currency=check_base_currency(),
        )
        for row in catalogue.to_dict("records")
        if row["external_id"] not in existing
    ]
    if missing:
        Product.objects.bulk_create(missing)
        existing = dict(
            Product.objects.filter(external_id__in=list(catalogue["external_id"])).values_list("external_id", "pk")
        )
    products = [existing[e] for e in catalogue["external_id"]]
    owners = list(User.objects.filter(role=Role.REP, is_active=True).order_by("pk").values_list("pk", flat=True))
    survey, _ = Survey.objects.get_or_create(
        name=GENERATED_SURVEY,
        defaults={
            "kind": SurveyKind.NPS,
            "purpose": Purpose.TRANSACTIONAL,
            "touchpoint": Touchpoint.PURCHASE,
            "title_en": "How likely are you to recommend us?",
            "title_zh_hans": "您向朋友推荐我们的可能性有多大？",
            "title_zh_hant": "您向朋友推薦我們的可能性有多大？",
        },
    )
    # The migrations create it; a database emptied since (a flush between tests) gets it back.
    pipeline: Pipeline | None = pipeline_default_ensure()
    stages = dict(pipeline.stages.values_list("key", "pk")) if pipeline else {}
    if pipeline is None or not {*prospects.OPEN_STAGES, "won", "lost"} <= set(stages):
        pipeline, stages = None, {}
    return ReferenceIds(regions, branches, products, owners, survey.pk, pipeline.pk if pipeline else None, stages)


# --------------------------------------------------------------------------- raw inserts


def _times(values: Any, *, aware: bool) -> list[str | None]:
    """Datetime64 UTC → the text the backend stores (naive UTC on SQLite, as Django writes it)."""
    arr = np.asarray(values, dtype="datetime64[s]")
    text = pd.Series(arr).astype(str).tolist()
    nat = np.isnat(arr)
    suffix = "+00:00" if aware else ""
    return [None if missing else t + suffix for t, missing in zip(text, nat, strict=True)]


def _money(cents: Any) -> list[float]:
    # Exact cents → the nearest double; both backends round it back to 2 places.
    return (np.asarray(cents, dtype=np.int64) / 100).tolist()


def _ids(values: Any, mapping: Sequence[int]) -> list[int | None]:
    lookup = np.asarray([*mapping, 0], dtype=np.int64)  # index −1 (no branch) reads the 0
    arr = np.asarray(values, dtype=np.int64)
    return [None if v < 0 else int(x) for v, x in zip(arr.tolist(), lookup[arr].tolist(), strict=True)]


def _reserve_ids(model: type[models.Model], n: int) -> np.ndarray:
    """``n`` fresh primary keys for rows we insert with explicit ids (children refer to them)."""
    return np.array(bulk.allocate_ids(model, n), dtype=np.int64)


@functools.lru_cache(maxsize=200_000)
def _search_key(name: str) -> str:
    return search_key(name)


def _phones(formatted: list[str]) -> tuple[list[str], list[str]]:
    """The simulation's numbers ("+86 138 0013 8000": a country code, then spaces) in E.164 as
    every write path stores them, and their digits for the search (customers/phones.py); no
    parsing needed for numbers made in this one form."""
    numbers = [digits(p) for p in formatted]
    return [f"+{d}" if d else "" for d in numbers], numbers


def write_chunk(chunk: simulate.Chunk, ref: ReferenceIds) -> np.ndarray:
    """Write one chunk in the current transaction; returns the customers' database ids.

    The chunk carries its currencies and converted amounts (``currencies.convert_chunk``)."""
    aware = connection.vendor == "postgresql"
    cust = chunk.customers
    n = len(cust)
    customer_ids = _reserve_ids(Customer, n)
    index_to_id = pd.Series(customer_ids, index=cust["customer_index"].to_numpy())
    cidx = cust["customer_index"].to_numpy()
    owners = [ref.owners[i % len(ref.owners)] for i in cidx.tolist()] if ref.owners else [None] * n
    owner_of = pd.Series(owners, index=cidx, dtype=object)
    acquired = _times(cust["acquired_at"], aware=aware)
    last = _times(cust["last_order_at"], aware=aware)
    phones, phone_digits = _phones(cust["phone"].tolist())
    bulk.insert_columns(
        Customer,
        {
            "id": customer_ids.tolist(),
            "created_at": acquired,
            "updated_at": [lo or ac for lo, ac in zip(last, acquired, strict=True)],
            "external_id": cust["external_id"].tolist(),
            "kind": cust["kind"].tolist(),
            "name": cust["name"].tolist(),
            "name_search": [_search_key(x) for x in cust["name"].tolist()],
            "name_key": [name_key(x) for x in cust["name"].tolist()],
            "email": cust["email"].tolist(),
            "phone": phones,
            "phone_digits": phone_digits,
            "city": cust["city"].tolist(),
            "address": cust["address"].tolist(),
            "owner_id": owners,
            "branch_id": _ids(cust["branch_index"], ref.branches),
            "region_id": _ids(cust["region_index"], ref.regions),
            "stage": cust["stage"].tolist(),
            "acquired_on": np.datetime_as_string(cust["acquired_on"].to_numpy(dtype="datetime64[D]")).tolist(),
            "acquisition_channel": cust["acquisition_channel"].tolist(),
            "acquisition_cost": _money(cust["acquisition_cost_cents"]),
            "is_key_account": cust["is_key_account"].astype(bool).tolist(),
            "consent_email": cust["consent_email"].astype(bool).tolist(),
            "consent_survey": cust["consent_survey"].astype(bool).tolist(),
            "currency": cust["currency"].tolist(),
        },
        n,
    )

    contacts = chunk.contacts
    m = len(contacts)
    created = _times(cust.set_index("customer_index").loc[contacts["customer_index"], "acquired_at"], aware=aware)
    contact_phones, contact_digits = _phones(contacts["phone"].tolist())
    bulk.insert_columns(
        Contact,
        {
            "created_at": created,
            "updated_at": created,
            "customer_id": index_to_id.loc[contacts["customer_index"]].tolist(),
            "name": contacts["name"].tolist(),
            "name_search": [_search_key(x) for x in contacts["name"].tolist()],
            "title": contacts["title"].tolist(),
            "email": contacts["email"].tolist(),
            "phone": contact_phones,
            "phone_digits": contact_digits,
            "is_primary": contacts["is_primary"].astype(bool).tolist(),
            "consent_email": contacts["consent_email"].astype(bool).tolist(),
            "consent_survey": contacts["consent_survey"].astype(bool).tolist(),
        },
        m,
    )

    orders = chunk.orders
    k = len(orders)
    order_ids = _reserve_ids(Order, k)
    ordered = _times(orders["ordered_at"], aware=aware)
    lines = chunk.lines
    product_ids = np.asarray(ref.products, dtype=np.int64)
    orders_insert_columns(
        {
            "id": order_ids.tolist(),
            "created_at": ordered,
            "updated_at": ordered,
            "customer_id": index_to_id.loc[orders["customer_index"]].tolist(),
            "channel": orders["channel"].tolist(),
            "branch_id": _ids(orders["branch_index"], ref.branches),
            "ordered_at": ordered,
            "currency": orders["currency"].tolist(),
            "revenue": _money(orders["revenue_cents"]),
            "cost_of_goods": _money(orders["cogs_cents"]),
            "exchange_rate": currencies.rate_values(orders["rate"]),
            "base_revenue": _money(orders["base_revenue_cents"]),
            "base_cost_of_goods": _money(orders["base_cogs_cents"]),
        },
        {
            "order_id": order_ids[lines["order_index"].to_numpy()].tolist(),
            "line_no": lines["line_no"].astype(np.int64).tolist(),
            "product_id": product_ids[lines["product_index"].to_numpy()].tolist(),
            "quantity": lines["quantity"].astype(np.int64).tolist(),
            "unit_price": _money(lines["unit_price_cents"]),
            "unit_cost": _money(lines["unit_cost_cents"]),
            "amount": _money(lines["amount_cents"]),
        },
    )

    events = chunk.cost_events
    occurred = _times(events["occurred_at"], aware=aware)
    cost_events_insert_columns(
        {
            "created_at": occurred,
            "updated_at": occurred,
            "customer_id": index_to_id.loc[events["customer_index"]].tolist(),
            "kind": events["kind"].tolist(),
            "amount": _money(events["amount_cents"]),
            "currency": events["currency"].tolist(),
            "exchange_rate": currencies.rate_values(events["rate"]),
            "base_amount": _money(events["base_amount_cents"]),
            "occurred_at": occurred,
        },
    )
    # The totals from what was just written, as every bulk path keeps them. No
    # ``customers_changed``: a new book has no scores to refresh, its first scoring run makes them.
    customer_totals_refresh(customer_ids.tolist())

    inter = chunk.interactions
    ni = len(inter)
    occurred = _times(inter["occurred_at"], aware=aware)
    bulk.insert_columns(
        Interaction,
        {
            "created_at": occurred,
            "updated_at": occurred,
            "customer_id": index_to_id.loc[inter["customer_index"]].tolist(),
            "channel": inter["channel"].tolist(),
            "direction": inter["direction"].tolist(),
            "subject": inter["subject"].tolist(),
            "occurred_at": occurred,
            "handled_by_id": owner_of.loc[inter["customer_index"]].tolist(),
        },
        ni,
    )

    # NPS answers go into the feedback store like real ones, so the churn model, the NPS
    # pages and the 360° page see them.
    resp = chunk.responses
    nr = len(resp)
    answered = _times(resp["answered_at"], aware=aware)
    scores = resp["score"].astype(np.int64).tolist()
    empty_answers = Jsonb({}) if aware else "{}"
    comments = resp["comment"].tolist()
    analysed = analyse_texts(comments)  # templated comments: each distinct text once
    response_ids = _reserve_ids(Response, nr)
    bulk.insert_columns(
        Response,
        {
            "id": response_ids.tolist(),
            "survey_id": [ref.survey] * nr,
            "customer_id": index_to_id.loc[resp["customer_index"]].tolist(),
            "score": scores,
            "score_class": [feedback_score_class(SurveyKind.NPS, s) for s in scores],
            "answers": [empty_answers] * nr,
            "comment": comments,
            "sentiment": [a[0] for a in analysed],
            "themes": [a[1] for a in analysed],
            "language": ["zh-hans" if lang == "zh" else "en" for lang in resp["language"].tolist()],
            "touchpoint": [Touchpoint.PURCHASE] * nr,
            "channel": [FeedbackChannel.EMAIL] * nr,
            "created_at": answered,
        },
        nr,
    )

    # Follow-ups of detractor answers, as the feedback app's default rule opens them.
    fu = chunk.follow_ups
    nf = len(fu)
    opened = pd.to_datetime(fu["opened_at"])
    closed = pd.to_datetime(fu["closed_at"])
    is_closed = closed.notna().to_numpy()
    reached = fu["reached"].to_numpy() if "reached" in fu else np.ones(nf, dtype=bool)
    contacted = closed.where(reached)
    bulk.insert_columns(
        FollowUp,
        {
            "response_id": response_ids[fu["response_index"].to_numpy()].tolist(),
            "customer_id": index_to_id.loc[fu["customer_index"]].tolist(),
            "owner_id": owner_of.loc[fu["customer_index"]].tolist(),
            "reason": [detractor_reason(int(x)) for x in fu["score"].tolist()],
            "opened_at": _times(opened, aware=aware),
            "due_at": _times(opened + pd.Timedelta(hours=FOLLOW_UP_SLA_HOURS), aware=aware),
            "first_contact_at": _times(contacted, aware=aware),
            "alerted_at": _times(opened, aware=aware),  # history: the owner was told then
            "closed_at": _times(closed, aware=aware),
            "closed_by_id": [o if c else None for o, c in zip(owner_of.loc[fu["customer_index"]].tolist(), is_closed, strict=True)],
            "outcome": np.where(is_closed, np.where(reached, FollowUp.Outcome.RESOLVED, FollowUp.Outcome.NO_REACH), "").tolist(),
        },
        nf,
    )
    _write_prospects(chunk, ref, index_to_id, owner_of, aware=aware)
    return customer_ids


def _write_prospects(
    chunk: simulate.Chunk, ref: ReferenceIds, index_to_id: pd.Series, owner_of: pd.Series, *, aware: bool
) -> None:
    """Leads, opportunities and their stage changes (generator/prospects.py), in the base currency.

    Owners are the customers' (a converted lead keeps its customer's owner, as a conversion does);
    other leads are dealt round-robin over the reps, and their deals follow them."""
    leads, opps, changes = chunk.leads, chunk.opportunities, chunk.stage_changes
    if ref.pipeline is None or not len(leads.columns):
        return
    nl, no = len(leads), len(opps)
    lead_ids = _reserve_ids(Lead, nl)
    cidx = leads["customer_index"].to_numpy()
    converted = cidx >= 0
    keys = leads["owner_key"].to_numpy()
    if ref.owners:
        dealt = np.asarray(ref.owners, dtype=object)[keys % len(ref.owners)]
        lead_owner = np.where(converted, owner_of.reindex(cidx).to_numpy(), dealt).tolist()
    else:
        lead_owner = [None] * nl
    created = _times(leads["created_at"], aware=aware)
    phones, phone_digits = _phones(leads["phone"].tolist())
    bulk.insert_columns(
        Lead,
        {
            "id": lead_ids.tolist(),
            "created_at": created,
            "updated_at": [c or a for c, a in zip(_times(leads["converted_at"], aware=aware), created, strict=True)],
            "external_id": leads["external_id"].tolist(),
            "name": leads["name"].tolist(),
            "company": leads["company"].tolist(),
            "email": leads["email"].tolist(),
            "phone": phones,
            "phone_digits": phone_digits,
            "source": leads["source"].tolist(),
            "channel": leads["channel"].tolist(),
            "owner_id": lead_owner,
            "branch_id": _ids(leads["branch_index"], ref.branches),
            "region_id": _ids(leads["region_index"], ref.regions),
            "status": leads["status"].tolist(),
            "disqualify_reason": leads["disqualify_reason"].tolist(),
            "converted_customer_id": [int(x) if c else None for x, c in zip(index_to_id.reindex(cidx).fillna(0).astype(np.int64).tolist(), converted, strict=True)],
            "converted_at": _times(leads["converted_at"], aware=aware),
        },
        nl,
    )
    opp_ids = _reserve_ids(Opportunity, no)
    ocust = opps["customer_index"].to_numpy()
    olead = opps["lead_index"].to_numpy()
    on_customer = ocust >= 0
    customer_ids = index_to_id.reindex(np.where(on_customer, ocust, index_to_id.index[0])).to_numpy(dtype=np.int64)
    owners = np.where(on_customer, owner_of.reindex(ocust).to_numpy(), np.asarray([*lead_owner, None], dtype=object)[olead])
    flags = on_customer.tolist()
    lead_of = lead_ids[np.maximum(olead, 0)].tolist() if nl else [0] * no
    stage_id = np.vectorize(ref.stages.__getitem__, otypes=[np.int64])
    changed = _times(changes["changed_at"], aware=aware)
    last_change = pd.Series(changed).groupby(changes["opportunity_index"].to_numpy()).last().reindex(np.arange(no)).tolist()
    bulk.insert_columns(
        Opportunity,
        {
            "id": opp_ids.tolist(),
            "created_at": _times(opps["created_at"], aware=aware),
            "updated_at": last_change,
            "external_id": opps["external_id"].tolist(),
            "customer_id": [c if on else None for c, on in zip(customer_ids.tolist(), flags, strict=True)],
            "lead_id": [None if on else x for x, on in zip(lead_of, flags, strict=True)],
            "name": opps["name"].tolist(),
            "amount": _money(opps["amount_cents"]),
            "currency": [check_base_currency()] * no,
            "expected_close": np.datetime_as_string(opps["expected_close"].to_numpy(dtype="datetime64[D]")).tolist(),
            "pipeline_id": [ref.pipeline] * no,
            "stage_id": stage_id(opps["stage"].to_numpy()).tolist(),
            "owner_id": owners.tolist(),
            "won_reason": opps["won_reason"].tolist(),
            "lost_reason": opps["lost_reason"].tolist(),
            "closed_at": _times(opps["closed_at"], aware=aware),
        },
        no,
    )
    from_key = changes["from_stage"].to_numpy()
    change_opp = changes["opportunity_index"].to_numpy()
    bulk.insert_columns(
        StageChange,
        {
            "opportunity_id": opp_ids[change_opp].tolist(),
            "from_stage_id": [ref.stages[k] if k else None for k in from_key.tolist()],
            "to_stage_id": stage_id(changes["to_stage"].to_numpy()).tolist(),
            "changed_by_id": owners[change_opp].tolist(),
            "changed_at": changed,
        },
        len(changes),
    )


class _ParquetAppender:
    """Appends one row group per chunk, so the files never need all customers in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None

    def append(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        if self.writer is None:
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@contextmanager
def _bulk_load_settings():
    """Larger page cache while loading on SQLite (index inserts into big tables)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size={int(previous)}")


def generate_dataset(
    customers: int,
    seed: int = 1,
    *,
    progress: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    params: simulate.Population | None = None,
    replace: bool = False,
) -> GeneratedDataset:
    """Simulate ``customers`` customers with ``seed`` and write them; returns the data set row.

    Refuses (GeneratorError) when the database already holds customers generated with this
    seed, unless ``replace`` is true, which first deletes them. ``finished_at`` is set only
    once every chunk is written.
    """
    _check_arguments(customers, seed, chunk_size)
    params = params or simulate.Population()
    found = existing_customers(seed)
    if found and not replace:
        raise GeneratorError(
            f"The database already holds {found} customers generated with seed {seed}. "
            "Use another seed, or --replace to delete them and generate again."
        )
    if found:
        delete_generated(seed)

    base = check_base_currency()
    if params.foreign_share > 0 and params.foreign_currency == base:
        raise GeneratorError(f"The foreign currency must differ from the base currency {base}.")
    ref = ensure_reference_data()
    truth = simulate.population_truth(params)
    truth.update({"chunk_size": chunk_size, "owners": len(ref.owners), "status": "running"})
    dataset = GeneratedDataset.objects.create(seed=seed, customers=customers, truth=truth)
    folder = Path(settings.DATA_DIR) / "generated"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "truth": str(folder / f"truth_{dataset.pk}.parquet"),
        "responses": str(folder / f"responses_{dataset.pk}.parquet"),
    }
    truth["files"] = files
    dataset.truth = truth
    dataset.save(update_fields=["truth"])

    counts = dict.fromkeys(
        ["customers", "contacts", "orders", "order_lines", "cost_events", "interactions", "responses", "follow_ups",
         "leads", "opportunities", "stage_changes"], 0,
    )
    truth_out = _ParquetAppender(Path(files["truth"]))
    responses_out = _ParquetAppender(Path(files["responses"]))
    started = time.perf_counter()
    bar = _progress_bar(customers) if progress else None
    try:
        with _bulk_load_settings():
            if bar is not None:
                bar.__enter__()
                task = bar.add_task("Generating customers", total=customers)
            for chunk in simulate.iter_chunks(customers, seed, chunk_size=chunk_size, params=params):
                with transaction.atomic():
                    currencies.convert_chunk(chunk, params, seed, base)
                    ids = write_chunk(chunk, ref)
                id_of = pd.Series(ids, index=chunk.customers["customer_index"].to_numpy())
                truth_out.append(chunk.truth.assign(customer_id=ids))
                responses_out.append(
                    chunk.responses.assign(customer_id=id_of.loc[chunk.responses["customer_index"]].to_numpy())
                )
                for key, frame in (
                    ("customers", chunk.customers),
                    ("contacts", chunk.contacts),
                    ("orders", chunk.orders),
                    ("order_lines", chunk.lines),
                    ("cost_events", chunk.cost_events),
                    ("interactions", chunk.interactions),
                    ("responses", chunk.responses),
                    ("follow_ups", chunk.follow_ups),
                    ("leads", chunk.leads),
                    ("opportunities", chunk.opportunities),
                    ("stage_changes", chunk.stage_changes),
                ):
                    counts[key] += len(frame)
                if bar is not None:
                    bar.update(task, advance=len(chunk.customers))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        truth_out.close()
        responses_out.close()
    truth.update({"status": "finished", "counts": counts, "seconds": round(time.perf_counter() - started, 1)})
    dataset.truth = truth
    dataset.finished_at = timezone.now()
    dataset.save(update_fields=["truth", "finished_at"])
    return dataset


def _progress_bar(total: int):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
