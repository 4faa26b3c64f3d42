"""Scoring runs: extract, run the analytics pipeline, write the scores back.

A run is keyed by its ``as_of`` day. Running a day again (after a crash, a kill, or on purpose)
recomputes everything from the data and rewrites the run's scores chunk by chunk, each chunk in
its own transaction (delete the chunk's rows, insert them again), so a killed run re-run ends
in exactly the state of an uninterrupted one. A chunk's current scores are copied inside the
database from the history rows just inserted, so each value crosses from Python once.
"""

from __future__ import annotations

import json
import logging
import math
import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.analytics.pipeline import ScoringConfig, ScoringResult, rescore, run_pipeline
from patron.core import bulk, sqlite, workers
from patron.insights import extract, figures, nps_refresh, score_ingest, sqlite_worker
from patron.insights.models import (
    CurrentScore,
    CustomerScore,
    DashboardFigures,
    DashboardSlice,
    ScoringRun,
)

logger = logging.getLogger(__name__)

WRITE_CHUNK = 20_000

# Pipeline column -> model field, for the columns stored under another name.
RENAMED = {"T": "tenure", "rfm_segment": "rfm_segment"}
SCORE_FIELDS = [
    "profit_12m", "value_class", "value_gap", "frequency", "recency", "tenure", "monetary", "p_alive",
    "expected_purchases", "clv", "r_score", "f_score", "m_score", "rfm_segment", "trend", "churn_risk",
    "churn_reasons", "move_down_prob", "recommendations",
]  # fmt: skip
JSON_FIELDS = {"churn_reasons", "recommendations"}
TEXT_FIELDS = {"value_class", "rfm_segment", "trend"}
INT_FIELDS = {"r_score", "f_score", "m_score"}

Progress = Callable[[str, int, int], None]


def _noop(_step: str, _done: int, _total: int) -> None:
    return None


class ScoringRunBusyError(Exception):
    """A run of the same day is under way in another process of this host."""

    def __init__(self, as_of: date, runner: str) -> None:
        super().__init__(
            _("A scoring run as of %(day)s is already running (process %(runner)s); wait for it to end.")
            % {"day": as_of.isoformat(), "runner": runner}
        )


ABANDONED = "Abandoned: the process running it ({runner}) stopped before the end."


def scoring_runs_abandon(*, except_as_of: date | None = None) -> int:
    """Mark failed the runs still "started" whose process has ended (killed, or the machine
    stopped); returns how many. The scores of a run are only current once it is done, so the
    pages kept serving the previous run's all along."""
    stale = [
        run
        for run in ScoringRun.objects.filter(status=ScoringRun.Status.STARTED).exclude(runner="").only("pk", "runner", "as_of")
        if run.as_of != except_as_of and workers.is_gone(run.runner)
    ]
    for run in stale:
        ScoringRun.objects.filter(pk=run.pk, status=ScoringRun.Status.STARTED).update(
            status=ScoringRun.Status.FAILED, error=ABANDONED.format(runner=run.runner), finished_at=timezone.now()
        )
    return len(stale)


def scoring_run_execute(
    *,
    as_of: date | None = None,
    progress: Progress | None = None,
    config: ScoringConfig | None = None,
) -> ScoringRun:
    """Score every customer as of ``as_of`` (default: today); idempotent per day."""
    try:
        return _scoring_run(as_of, progress, config)
    finally:
        sqlite_worker.close()  # no reader process lingers between runs


def _scoring_run(
    as_of: date | None, progress: Progress | None, config: ScoringConfig | None
) -> ScoringRun:
    progress = progress or _noop
    as_of = as_of or timezone.localdate()
    now = timezone.now()
    me = workers.worker_id()
    scoring_runs_abandon(except_as_of=as_of)
    run, created = ScoringRun.objects.get_or_create(as_of=as_of, defaults={"started_at": now, "runner": me})
    if not created:
        if run.status == ScoringRun.Status.STARTED and run.runner != me and workers.is_running(run.runner):
            raise ScoringRunBusyError(as_of, run.runner)
        # Done, failed, or abandoned by a process that was killed: run it again (rewrites its rows).
        run.status = ScoringRun.Status.STARTED
        run.started_at = now
        run.finished_at = None
        run.attempts += 1
        run.error = ""
        run.runner = me
        run.save(update_fields=["status", "started_at", "finished_at", "attempts", "error", "runner"])
    try:
        with bulk.fewer_gc_passes():
            progress("extract", 0, 1)
            inputs = extract.inputs()
            # The run's day rules: a configuration passed in is taken as of that day.
            config = replace(config or ScoringConfig(as_of=pd.Timestamp(as_of)), as_of=pd.Timestamp(as_of))
            result = run_pipeline(inputs, config, progress=lambda step: progress(step, 0, 1))
            latest = not ScoringRun.objects.filter(
                as_of__gt=run.as_of, status=ScoringRun.Status.DONE
            ).exists()
            with ThreadPoolExecutor(max_workers=1) as pool:
                later = _figures_meanwhile(pool, result, inputs.orders, pd.Timestamp(as_of), latest)
                _write(run, result, latest, progress)
                progress("dashboards", 0, 1)
                dashboards, nps_figures = later()
                _store_dashboards(run, *dashboards)
    except Exception as exc:
        run.status = ScoringRun.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"
        run.save(update_fields=["status", "error"])
        raise
    run.params = _jsonable(result.params)
    run.diagnostics = _jsonable(result.diagnostics)
    run.churn_model = pickle.dumps(result.fitted)
    run.purchase_model = result.params.get("purchase_model", "")
    run.model_comparison = run.diagnostics.get("holdout", {}).get("models", {})
    run.n_customers = len(result.scores)
    run.status = ScoringRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(
        update_fields=[
            "params",
            "diagnostics",
            "churn_model",
            "purchase_model",
            "model_comparison",
            "n_customers",
            "status",
            "finished_at",
        ]
    )
    progress("nps figures", 0, 1)
    # The NPS page's figures use the new segments, classes and weights.
    if nps_figures is None:
        nps_refresh.nps_figures_refresh()
    else:
        answers, computed = nps_figures
        nps_refresh.nps_figures_store(computed, f"{answers}:{nps_refresh.run_signature()}")
    return run


RunFigures = tuple[Any, tuple[str, Any] | None]  # dashboards: (total, slices); NPS: (source, figures)


def _figures_meanwhile(
    pool: ThreadPoolExecutor,
    result: ScoringResult,
    orders: pd.DataFrame,
    as_of: pd.Timestamp,
    latest: bool,
) -> Callable[[], RunFigures]:
    """The dashboards' and the NPS page's figures of this run, computed in ``pool`` while the
    caller writes the scores (which spends most of its time in SQLite, the driver or the
    database server, outside the GIL); returns the function that waits for them.

    They need only the run's frames, the customers' facts and the NPS answers. Those are read
    in the thread too when the reads go through other connections (ADBC), else here first:
    this thread's connection may hold data no other connection sees yet (a test's transaction).
    Not the latest run: no NPS figures (they stay with the later run's current scores).
    """
    def read() -> tuple[pd.DataFrame, tuple[str, Any] | None]:
        facts = extract.customer_facts_frame()
        if not latest:
            return facts, None
        # The answers' part of the figures' source, read before the answers.
        return facts, (nps_refresh.answers_signature(), nps_refresh.read_answers())

    def compute(facts: pd.DataFrame, answers: tuple[str, Any] | None) -> RunFigures:
        dashboards = figures.compute(facts, result.scores, orders, as_of)
        if answers is None:
            return dashboards, None
        frame = nps_refresh.joined(answers[1], facts, _as_stored(result.scores))
        return dashboards, (answers[0], nps_refresh.compute(frame))

    if extract.reads_elsewhere():
        return pool.submit(extract.in_thread, lambda: compute(*read())).result
    return pool.submit(compute, *read()).result


def _as_stored(scores: pd.DataFrame) -> pd.DataFrame:
    """The NPS figures' score columns (``nps_refresh.SCORE_COLUMNS``) as the current scores
    table holds them once written: the values :func:`_column` gives."""
    fields = {
        "segment": "rfm_segment",
        "value_class": "value_class",
        "clv": "clv",
        "profit_12m": "profit_12m",
        "churn_risk": "churn_risk",
    }
    return pd.DataFrame(
        {
            "customer_id": scores.index.to_numpy(dtype="int64"),
            **{name: _column(field, scores[field]) for name, field in fields.items()},
        }
    )


WRITE_CACHE_KIB = 1024 * 1024  # SQLite's page cache during the write-back (allocated as used)
# The ADBC writer's connection: every SQLite connection's settings (foreign keys, synchronous,
# the wait for a lock) and the bulk write's.
_WRITER_PRAGMAS = [
    *sqlite.SQLITE_PRAGMAS,
    f"busy_timeout = {sqlite.SQLITE_TIMEOUT * 1000}",
    *bulk.sqlite_write_pragmas(WRITE_CACHE_KIB),
]


def _write(run: ScoringRun, result: ScoringResult, latest: bool, progress: Progress) -> None:
    scores = result.scores.rename(columns=RENAMED)
    now = timezone.now()
    total = len(scores)
    progress("write", 0, total)  # the stage starts now, not after its first chunk
    # The score tables' indexes at 1M customers outgrow SQLite's usual 64 MB page cache.
    with bulk.sqlite_bulk_write(cache_kib=WRITE_CACHE_KIB):
        _write_chunks(run, scores, latest, now, progress)


def _write_chunks(
    run: ScoringRun, scores: pd.DataFrame, latest: bool, now: Any, progress: Progress
) -> None:
    total = len(scores)
    starts = range(0, total, WRITE_CHUNK)
    ranges = [
        (int(scores.index[start]), int(scores.index[min(start + WRITE_CHUNK, total) - 1]))
        for start in starts
    ]
    if not _ingest_history(run, scores, starts, progress):
        for start, (lo, hi) in zip(starts, ranges, strict=True):
            ids, columns = _columns(scores.iloc[start : start + WRITE_CHUNK])
            with transaction.atomic():
                CustomerScore.objects.filter(
                    run=run, customer_id__gte=lo, customer_id__lte=hi
                ).delete()
                _insert(
                    CustomerScore._meta.db_table,
                    ["run_id", "customer_id", *SCORE_FIELDS],
                    zip(repeat(run.pk), ids, *columns),
                )
            progress("write", min(start + WRITE_CHUNK, total), total)
    if latest:
        # The current scores in one transaction, after the history: their indexes (CLV, churn
        # risk, ...) take each chunk's rows all over the index, so a commit per chunk wrote
        # nearly every index page again (SQLite: ~40 s of the write at 1M customers). Pages
        # see the previous run's scores until this commits, then this run's, never a mix.
        with transaction.atomic(), _indexes_rebuilt(CurrentScore._meta.db_table):
            for lo, hi in ranges:
                CurrentScore.objects.filter(customer_id__gte=lo, customer_id__lte=hi).delete()
                _copy_current(run, now, lo, hi)


def _ingest_history(
    run: ScoringRun,
    scores: pd.DataFrame,
    starts: range,
    progress: Progress,
) -> bool:
    """The history rows through ADBC as Arrow columns (SQLite file, outside a transaction);
    False when that path does not apply and the caller writes through the cursor.

    Why a child process and what it saves: docs/analytics/scoring.md (a run at a million customers).
    """
    path = extract.sqlite_file()
    if path is None:
        return False
    total = len(scores)
    rows = pa.record_batch(
        {
            "run_id": pa.array(np.full(total, run.pk, dtype="int64")),
            "customer_id": pa.array(scores.index.to_numpy(dtype="int64")),
            **score_ingest.arrow_columns(
                scores, SCORE_FIELDS, text=TEXT_FIELDS, integer=INT_FIELDS, convert=_column
            ),
        }
    )
    written = 0

    def done(n: int) -> None:
        nonlocal written
        written += n
        progress("write", written, total)

    # One batch per chunk: the child deletes the run's rows of each batch's first..last
    # customer (the chunk's range, as the cursor path) and inserts the batch, in one transaction.
    chunks = [rows.slice(start, WRITE_CHUNK) for start in starts]
    try:
        sqlite_worker.ingest(
            path, CustomerScore._meta.db_table, run.pk, chunks, done, pragmas=_WRITER_PRAGMAS
        )
    except sqlite_worker.ConstraintError as exc:
        raise IntegrityError(str(exc)) from exc
    except OSError:
        logger.warning("the ADBC writer could not start; writing through the cursor", exc_info=True)
        return False
    return True


@contextmanager
def _indexes_rebuilt(table: str) -> Iterator[None]:
    """SQLite, inside the caller's transaction: drop the table's indexes (not its key), run the
    body, create them again from their stored definitions.

    Sorting a million keys into a new index costs a fraction of a million inserts at random
    places of each index (the current scores' write at 1M: see docs/analytics/scoring.md).
    Nothing else sees the gap: readers keep the snapshot they started with (WAL) until the
    commit, and on an error the transaction's rollback restores the indexes with the rows.
    PostgreSQL is left alone: there DROP INDEX would lock readers out until the commit.
    """
    if connection.vendor != "sqlite":
        yield
        return
    assert connection.in_atomic_block, "the indexes must come back in the same transaction"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for _name, sql in indexes:
            cursor.execute(sql)


def _copy_current(run: ScoringRun, now: Any, lo: int, hi: int) -> None:
    """The current scores of customers lo..hi: the run's rows just written, copied in the database.

    Cheaper than sending every value from Python a second time.
    """
    q = connection.ops.quote_name
    fields = ", ".join(q(f) for f in SCORE_FIELDS)
    sql = (
        f"INSERT INTO {q(CurrentScore._meta.db_table)} ({q('customer_id')}, {q('run_id')}, {q('updated_at')}, "  # noqa: S608
        f"{fields}) SELECT {q('customer_id')}, {q('run_id')}, %s, {fields} FROM {q(CustomerScore._meta.db_table)} "
        f"WHERE {q('run_id')} = %s AND {q('customer_id')} BETWEEN %s AND %s"
    )
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        if sqlite:
            # The rows copied passed the very same CHECKs (JSON_VALID, scores >= 0: both tables
            # share ScoreFields) when they went into the history table a moment ago; checking
            # them again cost SQLite about 0.2 s per 100,000 rows. Foreign keys are still checked.
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            cursor.execute(sql, [now, run.pk, lo, hi])
        finally:
            if sqlite:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")


def _store_dashboards(
    run: ScoringRun,
    total: dict[str, Any],
    slices: list[tuple[tuple[int | None, ...], dict[str, Any]]],
) -> None:
    """The dashboards' figures of this run: one row over everyone, one per (owner, branch, region)."""
    with transaction.atomic():
        DashboardFigures.objects.update_or_create(run=run, defaults={"figures": _jsonable(total)})
        DashboardSlice.objects.filter(run=run).delete()
        DashboardSlice.objects.bulk_create(
            [
                DashboardSlice(run=run, owner_id=o, branch_id=b, region_id=r, figures=_jsonable(f))
                for (o, b, r), f in slices
            ],
            batch_size=1000,
        )


def _rows(frame: pd.DataFrame) -> list[tuple[int, tuple[Any, ...]]]:
    ids, columns = _columns(frame)
    return list(zip(ids, zip(*columns, strict=True), strict=True))


def _columns(frame: pd.DataFrame) -> tuple[list[int], list[list[Any]]]:
    """The customer ids and the database values of each score column, in SCORE_FIELDS order."""
    # Column by column (one vectorised conversion each) rather than cell by cell: at a million
    # customers the per-cell calls cost more than the models.
    columns = [_column(name, frame[name]) for name in SCORE_FIELDS]
    return frame.index.to_numpy(dtype="int64").tolist(), columns


def _column(name: str, values: pd.Series) -> list[Any]:
    """The database values of one score column: what :func:`_cell` gives for each cell."""
    if name in JSON_FIELDS:
        return _json_column(name, values.tolist())
    if name in TEXT_FIELDS:
        # A str is its own value; only the rest (None, NaN, other types) needs _cell.
        return [v if type(v) is str else _cell(name, v) for v in values.tolist()]
    if values.dtype == object:
        return [_cell(name, v) for v in values.tolist()]
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(numbers)
    if name in INT_FIELDS:
        return [
            int(v) if ok else None for v, ok in zip(numbers.tolist(), finite.tolist(), strict=True)
        ]
    return [v if ok else None for v, ok in zip(numbers.tolist(), finite.tolist(), strict=True)]


def _json_column(name: str, values: list[Any]) -> list[str]:
    """JSON text of each cell; each distinct list (items and their types) is encoded once.

    Reason codes and recommendations repeat across customers (about 1,200 and 1,400 distinct
    lists among 100,000 generated customers), so most cells are a dictionary hit, not a json.dumps.
    """
    seen: dict[tuple[Any, ...], str] = {}
    out: list[str] = []
    empty = _cell(name, None)  # what every value that is not a list (None, NaN) becomes
    for value in values:
        if type(value) is list:
            # The items' types are part of the key: 1 and 1.0 are equal but encode differently.
            try:
                key = (tuple(value), tuple(map(type, value)))
                text = seen.get(key)
            except TypeError:  # an unhashable item
                out.append(_cell(name, value))
                continue
            if text is None:
                text = seen[key] = _cell(name, value)
            out.append(text)
        elif isinstance(value, (tuple, np.ndarray)):
            out.append(_cell(name, value))
        else:
            out.append(empty)
    return out


def _cell(name: str, value: Any) -> Any:
    """A database value; NaN and missing become NULL (or empty text / list), never NaN."""
    if name in JSON_FIELDS:
        return json.dumps(
            [int(v) if isinstance(v, (np.integer, int)) else str(v) for v in value]
            if isinstance(value, (list, tuple, np.ndarray))
            else []
        )
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "" if name in TEXT_FIELDS else None
    if name in TEXT_FIELDS:
        return str(value)
    if name in INT_FIELDS:
        return int(value)
    return float(value)


def _insert(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert the rows; on PostgreSQL with COPY, else with batched INSERT ... VALUES."""
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    name = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams the rows as one statement: no INSERT per batch to parse, plan and run,
            # and the server loads them on its fast path.
            # Django's wrapper turns the driver's errors into django.db's (IntegrityError, ...).
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        batch = list(rows)
        if batch:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks})", batch)  # noqa: S608


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (pd.Timestamp, date)):
        return value.isoformat()
    return value


def latest_run() -> ScoringRun | None:
    return ScoringRun.objects.filter(status=ScoringRun.Status.DONE).order_by("-as_of").first()


def _fitted(run: ScoringRun) -> dict[str, Any]:
    if not run.churn_model:
        return {}
    # Written by scoring_run_execute from this app's own fitted estimators; never user input.
    return pickle.loads(bytes(run.churn_model))  # noqa: S301


def scores_refresh(*, customer_ids: Sequence[int]) -> int:
    """Rescore these customers as of the latest run's day, with its models and settings;
    returns how many were written.

    Called inside the transaction that recorded their orders or cost events. Every current
    score is then what a full run as of that day with those models gives the customer, like
    every other customer's: an order or cost event dated up to the run's day (entered late)
    counts at once; one dated after it is not in any score until the next run (the 360° page
    says so, :func:`patron.insights.selectors.customer_insight`). Scoring one customer as of
    a later day than the rest would mix days: their P(alive) would fall with every week since
    the run and their 12-month profit lose the orders that left its window.
    """
    ids = sorted({int(i) for i in customer_ids})
    run = latest_run()
    if run is None or not ids:
        return 0
    inputs = extract.inputs(ids)
    orders = inputs.orders
    if len(orders):
        lines = extract.lines_for_orders(orders["order_id"].tolist())
        inputs.lines = lines
    previous = pd.DataFrame.from_records(
        CurrentScore.objects.filter(customer_id__in=ids).values(
            "customer_id", "move_down_prob", "recommendations"
        ),
        columns=["customer_id", "move_down_prob", "recommendations"],
    ).set_index("customer_id")
    config = ScoringConfig.from_params(pd.Timestamp(run.as_of), run.params)
    scores = rescore(inputs, _fitted(run), run.params, config, previous).rename(columns=RENAMED)
    rows = _rows(scores)
    now = timezone.now()
    CurrentScore.objects.filter(customer_id__in=ids).delete()
    _insert(
        CurrentScore._meta.db_table,
        ["customer_id", "run_id", "updated_at", *SCORE_FIELDS],
        [(cid, run.pk, now, *values) for cid, values in rows],
    )
    return len(rows)
