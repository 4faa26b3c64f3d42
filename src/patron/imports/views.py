"""Import pages: upload, map columns with a preview, follow progress, fix errors; possible
duplicates and merges. Each view parses input, authorizes, calls one service and renders."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patron.core.cells import unescape_text
from patron.core.models import User
from patron.imports.engine import (
    ImportInputError,
    ImportOptions,
    default_mapping,
    importer_class,
    read_header,
)
from patron.imports.forms import MappingForm, UploadForm
from patron.imports.jobs import import_job_run
from patron.imports.kinds.registry import IMPORTERS
from patron.imports.models import ImportJob, ImportMapping, Kind
from patron.imports.selectors import import_jobs_for, import_mappings, possible_duplicates_for
from patron.imports.services import (
    MergeNotAllowedError,
    customer_merge,
    import_job_create,
    import_job_should_run_inline,
    import_job_start,
    import_mapping_delete,
    possible_duplicate_dismiss,
)

PREVIEW_ROWS = 5
# A job whose progress has not moved for this long was stopped (worker killed) and may be re-run.
STALE_AFTER = timedelta(minutes=10)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _kinds_for(user: User) -> list[tuple[str, Any]]:
    labels = dict(Kind.choices)
    return [(kind, labels.get(kind, kind)) for kind, cls in IMPORTERS.items() if cls.permitted(user)]


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@login_required
def import_index(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    kinds = _kinds_for(user)
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds)
    if request.method == "POST" and not kinds:
        raise PermissionDenied(_("Your role does not change customers."))
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_create(user=user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"])
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            return redirect("import-map", pk=job.pk)
    return render(
        request,
        "imports/index.html",
        {
            "form": form,
            "kinds": kinds,
            "jobs": import_jobs_for(user)[:20],
            "mappings": import_mappings(),
            "duplicates": possible_duplicates_for(user).count(),
        },
    )


def _job(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(import_jobs_for(_user(request)), pk=pk)


def _field_choices(kind: str) -> list[tuple[str, str]]:
    return [(name, f"{name} — {spec.label}") for name, spec in importer_class(kind).fields().items()]


@login_required
def import_map(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    job = _job(request, pk)
    if job.is_active:
        return redirect(job)
    saved_name = request.GET.get("mapping", "")
    saved = import_mappings(job.kind).filter(name=saved_name).first() if saved_name else None
    if saved is not None:
        initial_map, date_order = dict(saved.columns), saved.date_order
    elif job.columns:
        initial_map, date_order = dict(job.columns), job.date_order
    else:
        initial_map, date_order = default_mapping(job.kind, job.header), ""
    form = MappingForm(
        request.POST or None,
        header=job.header,
        fields=_field_choices(job.kind),
        initial_map=initial_map,
        initial={"date_order": date_order, "save_as": saved.name if saved else ""},
    )
    if request.method == "POST" and form.is_valid():
        try:
            import_job_start(
                job=job,
                columns=form.columns(),
                date_order=form.cleaned_data["date_order"],
                dry_run=form.cleaned_data["dry_run"],
                save_as=form.cleaned_data["save_as"],
                user=user,
            )
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            job.refresh_from_db()
            if import_job_should_run_inline(job):
                import_job_run(job_id=job.pk)
            return redirect(job)
    try:
        _header, preview, _table = read_header(Path(job.file_path), ImportOptions(kind=job.kind), PREVIEW_ROWS)
    except ImportInputError as exc:
        messages.error(request, str(exc))
        preview = []
    width = len(job.header)
    preview = [[("" if c is None else c) for c in (row + [None] * width)[:width]] for row in preview]
    spec = importer_class(job.kind)
    return render(
        request,
        "imports/map.html",
        {
            "job": job,
            "form": form,
            "preview": preview,
            "mappings": import_mappings(job.kind),
            "saved": saved,
            "required": spec.required(),
            "one_of": [" / ".join(group) for group in spec.one_of],
        },
    )


def _can_rerun(job: ImportJob) -> bool:
    if job.status in {ImportJob.Status.DONE, ImportJob.Status.FAILED}:
        return True
    return job.status == ImportJob.Status.RUNNING and job.updated_at < timezone.now() - STALE_AFTER


@login_required
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if job.status == ImportJob.Status.MAPPING:
        return redirect("import-map", pk=job.pk)
    context = {"job": job, "can_rerun": _can_rerun(job), "errors": _error_preview(job)}
    if request.headers.get("HX-Request"):
        return render(request, "imports/_progress.html", context)
    return render(request, "imports/job.html", context)


def _error_preview(job: ImportJob, limit: int = 50) -> list[dict[str, str]]:
    if not job.error_file or job.is_active:
        return []
    path = Path(job.error_file)
    if not path.is_file():
        return []
    rows: list[dict[str, str]] = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)  # the header
        for cells in reader:
            if len(rows) >= limit:
                break
            rows.append({"line": cells[-2] if len(cells) >= 2 else "", "error": unescape_text(cells[-1]) if cells else ""})
    return rows


@login_required
def import_errors(request: HttpRequest, pk: int) -> FileResponse:
    job = _job(request, pk)
    path = Path(job.error_file) if job.error_file else None
    if path is None or not path.is_file():
        raise Http404(_("This import has no error file."))
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{job.original_name}.errors.csv")


@login_required
@require_POST
def import_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if not _can_rerun(job):
        messages.error(request, _("This import is still running."))
        return redirect(job)
    if job.status == ImportJob.Status.RUNNING:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
        job.status = ImportJob.Status.FAILED
    try:
        import_job_start(
            job=job, columns=dict(job.columns), date_order=job.date_order,
            dry_run=request.POST.get("dry_run") == "1", user=_user(request),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("import-map", pk=job.pk)
    job.refresh_from_db()
    if import_job_should_run_inline(job):
        import_job_run(job_id=job.pk)
    return redirect(job)


@login_required
@require_POST
def mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mapping = get_object_or_404(ImportMapping, pk=pk)
    if not importer_class(mapping.kind).permitted(_user(request)):
        raise PermissionDenied(_("%(user)s may not import %(kind)s.") % {"user": _user(request), "kind": mapping.kind})
    import_mapping_delete(mapping=mapping)
    messages.success(request, _("Mapping %(name)s deleted.") % {"name": mapping.name})
    return redirect("import-index")


@login_required
def duplicates(request: HttpRequest) -> HttpResponse:
    flags = possible_duplicates_for(_user(request))[:100]
    return render(request, "imports/duplicates.html", {"flags": flags})


@login_required
@require_POST
def duplicate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_object_or_404(possible_duplicates_for(_user(request)), pk=pk)
    keep_id = request.POST.get("keep", "")
    if keep_id not in {str(flag.customer_id), str(flag.other_id)}:
        messages.error(request, _("Choose which of the two customers to keep."))
        return redirect("duplicates")
    keep, merge = (flag.customer, flag.other) if keep_id == str(flag.customer_id) else (flag.other, flag.customer)
    try:
        log = customer_merge(keep=keep, merge=merge, by=_user(request))
    except MergeNotAllowedError as exc:
        raise PermissionDenied(_errors(exc)) from exc
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("duplicates")
    messages.success(
        request,
        _("%(merged)s was merged into %(kept)s: %(n)s records moved.")
        % {"merged": log.merged_name, "kept": log.kept_name, "n": sum(log.moved.values())},
    )
    return redirect("duplicates")


@login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_object_or_404(possible_duplicates_for(_user(request)), pk=pk)
    try:
        possible_duplicate_dismiss(flag=flag, by=_user(request))
    except MergeNotAllowedError as exc:
        raise PermissionDenied(_errors(exc)) from exc
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Marked as not a duplicate."))
    return redirect("duplicates")
