"""Import jobs, saved column mappings and the log of customer merges (possible duplicates are
the customers app's: customers.models.PossibleDuplicate)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from patron.core.models import TimeStampedModel
from patron.customers.models import Customer


class Kind(models.TextChoices):
    """What a file holds; the names are the ``patron import KIND`` argument."""

    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    PRODUCTS = "products", _("Products")
    ORDERS = "orders", _("Orders (one row per line)")
    INTERACTIONS = "interactions", _("Interactions")
    COST_EVENTS = "cost_events", _("Cost-to-serve events")
    RATES = "rates", _("Exchange rates")


class DateOrder(models.TextChoices):
    DMY = "dmy", _("Day before month (05/03/2024 is 5 March)")
    MDY = "mdy", _("Month before day (05/03/2024 is 3 May)")


class ImportMapping(TimeStampedModel):
    """A named column mapping (file column -> field) for one kind, reusable by name."""

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    columns = models.JSONField(_("columns"), default=dict)
    date_order = models.CharField(_("date order"), max_length=3, choices=DateOrder.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="importmapping_unique_name")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class ImportJob(TimeStampedModel):
    """One import of one file: what was asked, how far it got and what happened to the rows."""

    class Status(models.TextChoices):
        MAPPING = "mapping", _("Waiting for column mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.MAPPING)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
        verbose_name=_("imported by"),
    )
    source = models.CharField(_("source"), max_length=10, default="web")
    file_path = models.CharField(_("file"), max_length=500)
    original_name = models.CharField(_("file name"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    header = models.JSONField(_("columns in the file"), default=list)
    columns = models.JSONField(_("column mapping"), default=dict)
    mapping_name = models.CharField(_("mapping"), max_length=100, blank=True)
    date_order = models.CharField(_("date order"), max_length=3, choices=DateOrder.choices, blank=True)
    dry_run = models.BooleanField(_("check only"), default=False)
    total_rows = models.PositiveIntegerField(_("rows (estimate)"), null=True, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    duplicates_flagged = models.PositiveIntegerField(_("possible duplicates flagged"), default=0)
    error_file = models.CharField(_("error file"), max_length=520, blank=True)
    message = models.TextField(_("message"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.original_name}"

    def get_absolute_url(self) -> str:
        return reverse("import-job", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(100 * self.processed_rows / self.total_rows))


class CustomerMerge(models.Model):
    """The log of one merge: who merged which customer into which, when, and what moved.

    ``kept`` follows the surviving customer (if it is merged again later, the log moves with
    its records); ``merged_external_id`` lets later imports that still name the merged
    customer find the one it became.
    """

    kept = models.ForeignKey(
        Customer, null=True, on_delete=models.SET_NULL, related_name="merge_log", verbose_name=_("kept customer")
    )
    kept_customer_id = models.PositiveBigIntegerField(_("kept customer id"))
    kept_name = models.CharField(_("kept customer"), max_length=200)
    merged_customer_id = models.PositiveBigIntegerField(_("merged customer id"))
    merged_name = models.CharField(_("merged customer"), max_length=200)
    merged_external_id = models.CharField(_("merged external id"), max_length=100, blank=True, db_index=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("merged by"),
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    moved = models.JSONField(_("records moved"), default=dict)
    # Records of the merged customer that the kept one already had (a second score for the
    # same run, the same tag): deleted rather than duplicated.
    dropped = models.JSONField(_("records dropped as duplicates"), default=dict)
    filled = models.JSONField(_("fields filled in"), default=list)

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self) -> str:
        return f"{self.merged_customer_id} -> {self.kept_customer_id}"
