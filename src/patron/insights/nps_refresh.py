"""Precompute the default figures of the NPS and themes pages (``NpsFigures``), so neither page
aggregates every answer per request.

Run at the end of every scoring run (segments, value classes and weights changed) and every ten
minutes by the worker, which skips the work while no NPS answer was added or removed, no comment
was added or changed and no scoring run finished since the last computation.
"""

from __future__ import annotations

import logging

import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from patron.core.models import Branch
from patron.customers.models import Customer
from patron.feedback.models import NpsFigures, Response, Survey, SurveyKind
from patron.insights import nps_figures
from patron.insights.extract import fetch_frame
from patron.insights.models import CurrentScore, ScoringRun

logger = logging.getLogger("patron.feedback")


def _nps_answers():
    return Response.objects.filter(survey__kind=SurveyKind.NPS)


SCORE_COLUMNS = ["customer_id", "segment", "value_class", "clv", "profit_12m", "churn_risk"]
CUSTOMER_COLUMNS = ["customer_id", "owner_id", "branch_id", "region_id"]


def answers_frame() -> pd.DataFrame:
    """Every NPS answer with its customer's slice and current scores (``nps_figures.COLUMNS``).

    Three whole-table reads joined here, each read like the scoring run's extract
    (``insights.extract.fetch_frame``: Arrow columns through ADBC where another connection can see
    the data, else the cursor). At 1M customers on SQLite (458,185 answers) the joined query
    spent 7.9 s looking up customers and scores answer by answer, the ORM 13.7 s; these reads 3 s.
    """

    q = connection.ops.quote_name
    real = _real()
    customers = fetch_frame(
        f"SELECT id, {q('owner_id')}, {q('branch_id')}, {q('region_id')} FROM {q(Customer._meta.db_table)}",  # noqa: S608
        CUSTOMER_COLUMNS,
    )
    scores = fetch_frame(
        f"SELECT {q('customer_id')}, {q('rfm_segment')}, {q('value_class')}, CAST({q('clv')} AS {real}), "  # noqa: S608
        f"CAST({q('profit_12m')} AS {real}), CAST({q('churn_risk')} AS {real}) FROM {q(CurrentScore._meta.db_table)}",
        SCORE_COLUMNS,
    )
    return joined(read_answers(), customers, scores)


def _real() -> str:
    return "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"


def read_answers() -> tuple[pd.DataFrame, dict[int, int | None]]:
    """The NPS answers (one whole-table read) and each branch's region."""

    q = connection.ops.quote_name
    surveys = [
        int(pk) for pk in Survey.objects.filter(kind=SurveyKind.NPS).values_list("pk", flat=True)
    ]
    answers = fetch_frame(
        f"SELECT id, {q('created_at')}, {q('score_class')}, {q('touchpoint')}, {q('channel')}, "  # noqa: S608 - names from the models
        f"{q('branch_id')}, {q('customer_id')}, CASE WHEN {q('comment')} <> '' THEN 1 ELSE 0 END, "
        f"CAST({q('sentiment')} AS {_real()}), {q('themes')} FROM {q(Response._meta.db_table)} "
        f"WHERE {q('survey_id')} IN ({', '.join(map(str, surveys or [0]))})",
        [
            "response_id",
            "created_at",
            "score_class",
            "touchpoint",
            "channel",
            "answer_branch_id",
            "customer_id",
            "commented",
            "sentiment",
            "themes",
        ],
    )
    return answers, dict(Branch.objects.values_list("pk", "region_id"))


def joined(
    answers: tuple[pd.DataFrame, dict[int, int | None]],
    customers: pd.DataFrame,
    scores: pd.DataFrame,
) -> pd.DataFrame:
    """The answers (:func:`read_answers`) with their customers' slices (``CUSTOMER_COLUMNS``)
    and current scores (``SCORE_COLUMNS``, as stored: '' for missing text). No database: a
    scoring run joins the customers and scores it holds in memory, in a thread."""
    frame, regions = answers
    # Anonymous answers (no customer) look up key -1, which no customer has: empty fields.
    key = pd.to_numeric(frame["customer_id"], errors="coerce").fillna(-1).astype("int64")
    by_customer = [
        part.assign(customer_id=pd.to_numeric(part["customer_id"]).astype("int64")).set_index(
            "customer_id"
        )
        for part in (customers[CUSTOMER_COLUMNS], scores[SCORE_COLUMNS])
    ]
    frame = frame.assign(
        answer_region_id=pd.to_numeric(frame["answer_branch_id"], errors="coerce").map(regions),
        **{
            name: part[name].reindex(key).to_numpy()
            for part in by_customer
            for name in part.columns
        },
    )
    # SQLite answers timestamps as text (naive UTC), PostgreSQL as aware datetimes.
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
    return frame


def source_signature() -> str:
    """What the figures depend on that changes often: answers added or removed, comments added
    or changed (the thank-you page), runs finished.

    Two cheap queries. Not covered (the next run or answer picks them up): reassigned customers,
    scores refreshed between runs by a purchase, comments re-analysed by ``analyse_comments``.
    """
    return f"{answers_signature()}:{run_signature()}"[:100]


def answers_signature() -> str:
    """The answers' part of :func:`source_signature`; read before the answers themselves, so an
    answer arriving in between makes the next check see a change."""
    answers = _nps_answers().aggregate(n=Count("pk"), last=Max("pk"), comment=Max("comment_at"))
    comment = answers["comment"]
    comment_part = f"{int(comment.timestamp() * 1_000_000)}" if comment else "-"
    return f"{answers['n']}:{answers['last'] or 0}:{comment_part}"


def run_signature() -> str:
    """The last finished scoring run's part of :func:`source_signature`."""
    run = (
        ScoringRun.objects.filter(status=ScoringRun.Status.DONE, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("pk", "finished_at")
        .first()
    )
    return f"{run[0]}@{run[1].isoformat()}" if run and run[1] else "-"


def nps_figures_refresh(*, only_if_changed: bool = False) -> bool:
    """Recompute every ``NpsFigures`` row; returns False when skipped (nothing changed)."""
    signature = source_signature()
    if only_if_changed:
        stored = (
            NpsFigures.objects.filter(kind=NpsFigures.Kind.TOTAL)
            .values_list("source", flat=True)
            .first()
        )
        if stored == signature:
            return False
    nps_figures_store(compute(answers_frame()), signature)
    return True


def compute(frame: pd.DataFrame) -> nps_figures.Figures:
    """The figures of an answer frame; touches no database (a scoring run calls it in a thread)."""
    return nps_figures.compute(frame, timezone.get_default_timezone_name())


def nps_figures_store(figures: nps_figures.Figures, signature: str) -> None:
    """Replace every ``NpsFigures`` row with these figures, computed from data as of ``signature``."""
    now = timezone.now()
    kind = NpsFigures.Kind
    rows = [
        NpsFigures(kind=kind.TOTAL, figures=figures.total, computed_at=now, source=signature[:100])
    ]
    for key, part in figures.slices:
        if key is None:
            rows.append(NpsFigures(kind=kind.ANONYMOUS, figures=part, computed_at=now))
            continue
        owner, branch, region = key
        rows.append(
            NpsFigures(
                kind=kind.SLICE,
                owner_id=owner,
                branch_id=branch,
                region_id=region,
                figures=part,
                computed_at=now,
            )
        )
    for (branch, region), part in figures.pairs:
        rows.append(
            NpsFigures(
                kind=kind.PAIR, branch_id=branch, region_id=region, figures=part, computed_at=now
            )
        )
    with transaction.atomic():
        _lock()
        NpsFigures.objects.all().delete()
        NpsFigures.objects.bulk_create(rows, batch_size=500)
    logger.info("NPS figures: %d slices", len(figures.slices))


def _lock() -> None:
    """Two refreshes at once (a scoring run and the worker) must not both insert their rows.

    SQLite runs immediate transactions (one writer at a time); PostgreSQL gets a table lock that
    blocks other writers but not the pages reading the figures.
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(NpsFigures._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
