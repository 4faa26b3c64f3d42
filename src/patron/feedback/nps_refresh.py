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

from patron.feedback import nps_figures
from patron.feedback.models import NpsFigures, Response, SurveyKind
from patron.insights.models import ScoringRun

logger = logging.getLogger("patron.feedback")


def _nps_answers():
    return Response.objects.filter(survey__kind=SurveyKind.NPS)


def answers_frame() -> pd.DataFrame:
    """Every NPS answer with its customer's slice and current scores (``nps_figures.COLUMNS``).

    Three whole-table reads joined here, each read like the scoring run's extract
    (``insights.extract.fetch_frame``: Arrow columns through ADBC where another connection can see
    the data, else the cursor). At 1M customers on SQLite (458,185 answers) the joined query
    spent 7.9 s looking up customers and scores answer by answer, the ORM 13.7 s; these reads 3 s.
    """
    from patron.core.models import Branch
    from patron.customers.models import Customer
    from patron.feedback.models import Survey
    from patron.insights.extract import fetch_frame
    from patron.insights.models import CurrentScore

    q = connection.ops.quote_name
    real = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    surveys = [
        int(pk) for pk in Survey.objects.filter(kind=SurveyKind.NPS).values_list("pk", flat=True)
    ]
    answers = fetch_frame(
        f"SELECT id, {q('created_at')}, {q('score_class')}, {q('touchpoint')}, {q('channel')}, "  # noqa: S608 - names from the models
        f"{q('branch_id')}, {q('customer_id')}, CASE WHEN {q('comment')} <> '' THEN 1 ELSE 0 END, "
        f"CAST({q('sentiment')} AS {real}), {q('themes')} FROM {q(Response._meta.db_table)} "
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
    customers = fetch_frame(
        f"SELECT id, {q('owner_id')}, {q('branch_id')}, {q('region_id')} FROM {q(Customer._meta.db_table)}",  # noqa: S608
        ["customer_id", "owner_id", "branch_id", "region_id"],
    )
    scores = fetch_frame(
        f"SELECT {q('customer_id')}, {q('rfm_segment')}, {q('value_class')}, CAST({q('clv')} AS {real}), "  # noqa: S608
        f"CAST({q('profit_12m')} AS {real}), CAST({q('churn_risk')} AS {real}) FROM {q(CurrentScore._meta.db_table)}",
        ["customer_id", "segment", "value_class", "clv", "profit_12m", "churn_risk"],
    )
    # Anonymous answers (no customer) look up key -1, which no customer has: empty fields.
    key = pd.to_numeric(answers["customer_id"], errors="coerce").fillna(-1).astype("int64")
    by_customer = [
        frame.assign(customer_id=pd.to_numeric(frame["customer_id"]).astype("int64")).set_index(
            "customer_id"
        )
        for frame in (customers, scores)
    ]
    regions = dict(Branch.objects.values_list("pk", "region_id"))
    frame = answers.assign(
        answer_region_id=pd.to_numeric(answers["answer_branch_id"], errors="coerce").map(regions),
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
    answers = _nps_answers().aggregate(n=Count("pk"), last=Max("pk"), comment=Max("comment_at"))
    run = (
        ScoringRun.objects.filter(status=ScoringRun.Status.DONE, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("pk", "finished_at")
        .first()
    )
    run_part = f"{run[0]}@{run[1].isoformat()}" if run and run[1] else "-"
    comment = answers["comment"]
    comment_part = f"{int(comment.timestamp() * 1_000_000)}" if comment else "-"
    return f"{answers['n']}:{answers['last'] or 0}:{comment_part}:{run_part}"[:100]


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
    frame = answers_frame()
    figures = nps_figures.compute(frame, timezone.get_default_timezone_name())
    now = timezone.now()
    kind = NpsFigures.Kind
    rows = [NpsFigures(kind=kind.TOTAL, figures=figures.total, computed_at=now, source=signature)]
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
    logger.info("NPS figures: %d answers, %d slices", len(frame), len(figures.slices))
    return True


def _lock() -> None:
    """Two refreshes at once (a scoring run and the worker) must not both insert their rows.

    SQLite runs immediate transactions (one writer at a time); PostgreSQL gets a table lock that
    blocks other writers but not the pages reading the figures.
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(NpsFigures._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
