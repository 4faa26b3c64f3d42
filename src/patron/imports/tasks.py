"""Background work of imports, run by ``patron worker``."""

from __future__ import annotations

from django_tasks import task

from patron.imports.jobs import import_job_run


@task()
def import_job_task(job_id: int) -> None:
    """Run one queued import job; the job row carries its progress and outcome."""
    import_job_run(job_id=job_id)
