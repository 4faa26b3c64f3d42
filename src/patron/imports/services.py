"""Writes of the imports app: jobs, saved mappings, possible duplicates and customer merges."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from patron.commerce.bulk import customer_totals_refresh
from patron.commerce.signals import customers_changed
from patron.core.audit import actor_of, audit_record, current_actor
from patron.core.models import User
from patron.customers.duplicates import possible_duplicates_flag
from patron.customers.models import Customer, PossibleDuplicate
from patron.customers.selectors import can_edit_customer
from patron.imports.engine import (
    ImportInputError,
    ImportOptions,
    ImportResult,
    check_mapping,
    importer_class,
    read_header,
)
from patron.imports.models import CustomerMerge, ImportJob, ImportMapping, Kind
from patron.imports.tasks import import_job_task

# Files up to this size are imported in the web request; larger ones go to the worker.
INLINE_IMPORT_MAX_BYTES = settings.PATRON_IMPORT_INLINE_MAX_BYTES


class ImportNotAllowedError(ValidationError):
    def __init__(self, kind: str) -> None:
        super().__init__(_("You may not import %(kind)s.") % {"kind": kind}, code="import_not_allowed")


class MergeNotAllowedError(ValidationError):
    def __init__(self) -> None:
        super().__init__(_("Only someone who can edit both customers may merge them."), code="merge_not_allowed")


# ---------------------------------------------------------------------------------------------
# Saved mappings


def mapping_resolve(*, kind: str, name_or_path: str) -> tuple[dict[str, str], str | None]:
    """A saved mapping by name, else a JSON file: ``{"columns": {...}, "date_order": "dmy"}`` or
    a plain ``{"file column": "field"}``. Returns (columns, date order)."""
    saved = ImportMapping.objects.filter(kind=kind, name=name_or_path).first()
    if saved is not None:
        return dict(saved.columns), saved.date_order or None
    path = Path(name_or_path)
    if not path.is_file():
        names = list(ImportMapping.objects.filter(kind=kind).values_list("name", flat=True))
        raise ImportInputError(
            _("No saved mapping %(name)s for %(kind)s and no such JSON file. Saved mappings: %(names)s.")
            % {"name": name_or_path, "kind": kind, "names": ", ".join(names) or _("none")}
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ImportInputError(_("The mapping file %(path)s is not JSON: %(error)s") % {"path": path, "error": exc}) from exc
    date_order = None
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        date_order = data.get("date_order") or None
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str | type(None)) for k, v in data.items()):
        raise ImportInputError(
            _("The mapping file must map file columns to field names, e.g. {\"Kunden-Nr\": \"external_id\"}.")
        )
    return {k: v or "" for k, v in data.items()}, date_order


@transaction.atomic
def import_mapping_save(
    *, kind: str, name: str, columns: dict[str, str], date_order: str = "", user: User | None = None
) -> ImportMapping:
    """Save (or replace) the mapping ``name`` for ``kind``."""
    importer_class(kind)
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError(_("Give the mapping a name of at most 100 characters."), code="mapping_name")
    fields = importer_class(kind).fields()
    unknown = sorted({v for v in columns.values() if v and v not in fields})
    if unknown:
        raise ValidationError(
            _("Unknown fields for %(kind)s: %(fields)s.") % {"kind": kind, "fields": ", ".join(unknown)},
            code="mapping_fields",
        )
    mapping, _created = ImportMapping.objects.update_or_create(
        kind=kind,
        name=name,
        defaults={"columns": {k: v for k, v in columns.items() if v}, "date_order": date_order or "", "created_by": user},
    )
    return mapping


def import_mapping_delete(*, mapping: ImportMapping) -> None:
    mapping.delete()


# ---------------------------------------------------------------------------------------------
# Jobs (the web page's imports; the CLI records its runs too)


def _upload_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "imports" / timezone.now().strftime("%Y%m") / secrets.token_hex(8)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@transaction.atomic
def import_job_create(*, user: User, kind: str, upload: UploadedFile) -> ImportJob:
    """Store an uploaded file and read its header; the job then waits for its column mapping."""
    if kind not in Kind.values:
        raise ValidationError(_("Unknown kind %(kind)s.") % {"kind": kind}, code="kind")
    try:
        cls = importer_class(kind)
    except ImportInputError as exc:
        raise ValidationError(str(exc), code="kind") from exc
    if not cls.permitted(user):
        raise ImportNotAllowedError(kind)
    name = get_valid_filename(Path(upload.name or "upload.csv").name) or "upload.csv"
    path = _upload_dir() / name
    with open(path, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    try:
        header, _rows, table = read_header(path, ImportOptions(kind=kind), preview_rows=0)
    except ImportInputError as exc:
        path.unlink(missing_ok=True)
        raise ValidationError(str(exc), code="unreadable") from exc
    return ImportJob.objects.create(
        kind=kind,
        user=user,
        file_path=str(path),
        original_name=name,
        file_size=path.stat().st_size,
        encoding=table.encoding,
        header=header,
        total_rows=table.total,
    )


@transaction.atomic
def import_job_start(
    *,
    job: ImportJob,
    columns: dict[str, str],
    date_order: str = "",
    dry_run: bool = False,
    save_as: str = "",
    user: User | None = None,
) -> ImportJob:
    """Check the mapping and queue the job (or run it at once if the file is small)."""
    if job.status not in {ImportJob.Status.MAPPING, ImportJob.Status.DONE, ImportJob.Status.FAILED}:
        raise ValidationError(_("This import is already queued or running."), code="job_state")
    try:
        check_mapping(job.kind, job.header, columns)
    except ImportInputError as exc:
        raise ValidationError(str(exc), code="mapping") from exc
    if date_order not in ("", "dmy", "mdy"):
        raise ValidationError(_("The date order must be dmy or mdy."), code="date_order")
    if save_as:
        import_mapping_save(kind=job.kind, name=save_as, columns=columns, date_order=date_order, user=user)
    job.columns = {k: v for k, v in columns.items() if v}
    job.date_order = date_order
    job.dry_run = dry_run
    job.mapping_name = save_as
    job.status = ImportJob.Status.QUEUED
    job.message = ""
    job.processed_rows = job.created_count = job.updated_count = job.unchanged_count = job.rejected_count = 0
    job.save()
    if job.file_size > INLINE_IMPORT_MAX_BYTES:
        import_job_task.enqueue(job.pk)
    return job


def import_job_should_run_inline(job: ImportJob) -> bool:
    return job.status == ImportJob.Status.QUEUED and job.file_size <= INLINE_IMPORT_MAX_BYTES


def import_job_record(*, user: User | None, path: Path, result: ImportResult, mapping_name: str = "",
                      date_order: str = "") -> ImportJob:
    """The history row of an import run from the command line."""
    now = timezone.now()
    return ImportJob.objects.create(
        kind=result.kind,
        status=ImportJob.Status.DONE,
        user=user,
        source="cli",
        file_path=str(path.resolve()),
        original_name=path.name,
        file_size=path.stat().st_size if path.exists() else 0,
        encoding=result.encoding,
        columns=result.mapping,
        mapping_name=mapping_name,
        date_order=date_order,
        total_rows=result.processed,
        processed_rows=result.processed,
        created_count=result.created,
        updated_count=result.updated,
        unchanged_count=result.unchanged,
        rejected_count=result.rejected,
        duplicates_flagged=result.duplicates_flagged,
        error_file=str(result.error_file or ""),
        started_at=now,
        finished_at=now,
    )


# ---------------------------------------------------------------------------------------------
# Possible duplicates


def possible_duplicate_dismiss(*, flag: PossibleDuplicate, by: User) -> PossibleDuplicate:
    if not (can_edit_customer(by, flag.customer) and can_edit_customer(by, flag.other)):
        raise MergeNotAllowedError()
    flag.status = PossibleDuplicate.Status.DISMISSED
    flag.save(update_fields=["status"])
    return flag


# ---------------------------------------------------------------------------------------------
# Merging two customers

# Profile fields the kept customer takes from the merged one when its own are empty.
FILL_FIELDS = ("email", "phone", "city", "address", "owner", "branch", "region", "acquired_on", "acquisition_channel")


def _customer_relations() -> list[models.ForeignObjectRel]:
    """Every foreign key to Customer, from any app (including hidden ones and the tables behind
    many-to-many fields such as tags), so records of apps added later move too."""
    relations: list[models.ForeignObjectRel] = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not isinstance(rel, models.ForeignObjectRel) or rel.many_to_many:
            continue
        if rel.related_model is PossibleDuplicate:
            continue
        relations.append(rel)
    return relations


def _unique_sets(model: type[models.Model], fk: models.Field) -> list[tuple[tuple[str, ...], Q | None]]:
    """The other fields that, with ``fk``, must be unique on ``model`` (and the constraint's condition)."""
    sets: list[tuple[tuple[str, ...], Q | None]] = []
    if fk.unique:
        sets.append(((), None))
    for together in model._meta.unique_together:
        if fk.name in together:
            sets.append((tuple(n for n in together if n != fk.name), None))
    for constraint in model._meta.constraints:
        fields = getattr(constraint, "fields", ())
        if isinstance(constraint, models.UniqueConstraint) and fields and fk.name in fields:
            sets.append((tuple(n for n in fields if n != fk.name), constraint.condition))  # type: ignore[arg-type]
    return sets


def _move(rel: models.ForeignObjectRel, keep: Customer, merge: Customer) -> tuple[int, int]:
    model = rel.related_model
    fk = rel.field
    manager = model._base_manager  # type: ignore[union-attr]
    dropped = 0
    for others, condition in _unique_sets(model, fk):  # type: ignore[arg-type]
        kept_rows = manager.filter(**{fk.name: keep})
        merged_rows = manager.filter(**{fk.name: merge})
        if condition is not None:
            kept_rows, merged_rows = kept_rows.filter(condition), merged_rows.filter(condition)
        if not others:
            clash = list(merged_rows.values_list("pk", flat=True)) if kept_rows.exists() else []
        else:
            taken = set(kept_rows.values_list(*others))
            clash = [row[0] for row in merged_rows.values_list("pk", *others) if tuple(row[1:]) in taken]
        if clash:
            dropped += len(clash)
            manager.filter(pk__in=clash).delete()
    moved = manager.filter(**{fk.name: merge}).update(**{fk.name: keep})
    return moved, dropped


@transaction.atomic
def customer_merge(*, keep: Customer, merge: Customer, by: User) -> CustomerMerge:
    """Move every record of ``merge`` onto ``keep`` (orders, contacts, interactions, cost events,
    tasks, tags, feedback, scores: whatever has a foreign key to Customer), fill ``keep``'s empty
    profile fields from ``merge``, recompute ``keep``'s totals, delete ``merge`` and log it."""
    if keep.pk == merge.pk:
        raise ValidationError(_("A customer cannot be merged into itself."), code="merge_self")
    if not (can_edit_customer(by, keep) and can_edit_customer(by, merge)):
        raise MergeNotAllowedError()
    # Lock both rows (PostgreSQL; SQLite's write transaction already excludes other writers).
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[keep.pk, merge.pk])}
    if len(locked) != 2:
        raise ValidationError(_("One of the customers no longer exists."), code="merge_gone")
    keep, merge = locked[keep.pk], locked[merge.pk]
    PossibleDuplicate.objects.filter(Q(customer=merge) | Q(other=merge)).delete()
    moved: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for rel in _customer_relations():
        count, lost = _move(rel, keep, merge)
        label = rel.related_model._meta.label  # type: ignore[union-attr]
        if count:
            moved[label] = count
        if lost:
            dropped[label] = lost
    filled = [name for name in FILL_FIELDS if not getattr(keep, name) and getattr(merge, name)]
    for name in filled:
        setattr(keep, name, getattr(merge, name))
    if merge.is_key_account and not keep.is_key_account:
        keep.is_key_account = True
        filled.append("is_key_account")
    merged_external_id = merge.external_id
    merged_id = merge.pk
    log = CustomerMerge.objects.create(
        kept=keep,
        kept_customer_id=keep.pk,
        kept_name=keep.name,
        merged_customer_id=merge.pk,
        merged_name=merge.name,
        merged_external_id=merged_external_id or "",
        merged_by=by,
        moved=moved,
        dropped=dropped,
        filled=list(filled),
    )
    merge.delete()
    if not keep.external_id and merged_external_id:
        # The kept customer answers to the merged one's id, so later imports match it directly.
        keep.external_id = merged_external_id
        filled.append("external_id")
    keys = ["phone_digits"] if "phone" in filled else []  # the phone's search digits come with it
    if keys:
        keep.phone_digits = merge.phone_digits
    keep.save(update_fields=[*filled, *keys, "updated_at"])
    if "external_id" in filled:
        CustomerMerge.objects.filter(pk=log.pk).update(filled=filled)
    customer_totals_refresh([keep.pk])
    audit_record(
        "customer.merge", object_type="customer", object_id=merged_id, customer_id=keep.pk,
        actor=actor_of(by, source=current_actor().source),
        changes={"merged": [merged_id, keep.pk], "moved": moved, "dropped": dropped, "filled": filled},
    )
    customers_changed.send(sender=Customer, customer_ids=[keep.pk])
    possible_duplicates_flag(customer_ids=[keep.pk])
    return log
