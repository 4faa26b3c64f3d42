"""The periodic recount of launched campaigns' responses (``core.scheduler``, every 10 minutes)."""

from __future__ import annotations

from django_tasks import task

from patron.campaigns.results import campaigns_refresh_due


@task()
def campaign_results_refresh(period: str) -> list[int]:
    """Refresh the report of each campaign whose window is open or closed within a day."""
    return campaigns_refresh_due()
