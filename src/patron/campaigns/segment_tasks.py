"""The periodic count of every segment over the whole book (``core.scheduler``)."""

from __future__ import annotations

from django_tasks import task

from patron.campaigns.services import segments_figures_refresh_due


@task()
def segment_figures_refresh(period: str) -> list[int]:
    """Recount the segments whose stored figures are missing, older than their definition, or stale."""
    return segments_figures_refresh_due()
