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
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q
from django.utils import timezone

from patron.feedback import nps_figures
from patron.feedback.models import NpsFigures, Response, SurveyKind
from patron.insights.models import ScoringRun

logger = logging.getLogger("patron.feedback")

# Frame column -> Response path or expression: one query, tuples only, no model instances.
_FIELDS = {
    "response_id": "pk",
    "created_at": "created_at",
    "score_class": "score_class",
    "touchpoint": "touchpoint",
    "channel": "channel",
    "answer_branch_id": "branch_id",
    "answer_region_id": "branch__region_id",
    "customer_id": "customer_id",
    "owner_id": "customer__owner_id",
    "branch_id": "customer__branch_id",
    "region_id": "customer__region_id",
    "segment": "customer__score__rfm_segment",
    "value_class": "customer__score__value_class",
    "clv": "customer__score__clv",
    "profit_12m": "customer__score__profit_12m",
    "churn_risk": "customer__score__churn_risk",
    "commented": ExpressionWrapper(~Q(comment=""), output_field=BooleanField()),
    "sentiment": "sentiment",
    "themes": "themes",
}


def _nps_answers():
    return Response.objects.filter(survey__kind=SurveyKind.NPS)


def answers_frame() -> pd.DataFrame:
    """Every NPS answer with its customer's slice and current scores, in one query."""
    rows = _nps_answers().order_by().values_list(*_FIELDS.values())
    return pd.DataFrame.from_records(list(rows.iterator(chunk_size=20_000)), columns=list(_FIELDS))


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
