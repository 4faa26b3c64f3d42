"""Running a queued import job, from the worker or inline for small files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from patron.core.audit import acting
from patron.core.models import AuditSource
from patron.imports.engine import ImportInputError, ImportOptions, ImportResult, run_import
from patron.imports.models import ImportJob


def _job_progress(job_id: int) -> Any:
    def update(result: ImportResult, _batch: list[Any]) -> None:
        ImportJob.objects.filter(pk=job_id).update(
            processed_rows=result.processed,
            created_count=result.created,
            updated_count=result.updated,
            unchanged_count=result.unchanged,
            rejected_count=result.rejected,
            updated_at=timezone.now(),
        )

    return update


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job (from the worker, or inline for small files); safe to run again."""
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now(), finished_at=None, message=""
    )
    options = ImportOptions(
        kind=job.kind,
        columns=dict(job.columns),
        date_order=job.date_order or None,
        dry_run=job.dry_run,
        user=job.user,
    )
    try:
        with acting(job.user, source=AuditSource.IMPORT, label=f"import #{job.pk}"):
            result = run_import(Path(job.file_path), options, on_batch=_job_progress(job.pk))
    except ImportInputError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, message=str(exc), finished_at=timezone.now()
        )
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            message=_("The import stopped: %(error)s. Rows already imported stay; run it again to complete it.")
            % {"error": exc},
            finished_at=timezone.now(),
        )
        raise
    else:
        _job_finish(job.pk, result)
    job.refresh_from_db()
    return job


def _job_finish(job_id: int, result: ImportResult) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE,
        processed_rows=result.processed,
        total_rows=result.processed,
        created_count=result.created,
        updated_count=result.updated,
        unchanged_count=result.unchanged,
        rejected_count=result.rejected,
        duplicates_flagged=result.duplicates_flagged,
        error_file=str(result.error_file or ""),
        finished_at=timezone.now(),
    )
