"""Scoring runs and the per-customer scores they produce.

``CustomerScore`` keeps one snapshot per run and customer (history: trends on the 360° page,
migration between runs). ``CurrentScore`` holds each customer's latest figures, written by the
run and, when the customer buys between runs, rescored at once as of the run's day with its
models (``services.scores_refresh``); pages and lists read it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from patron.core.workers import is_gone
from patron.customers.models import Customer


class ValueClass(models.TextChoices):
    MOST_VALUABLE = "most_valuable", _("Most valuable")
    MOST_GROWABLE = "most_growable", _("Most growable")
    OTHER = "other", _("Core")
    BELOW_ZERO = "below_zero", _("Below zero")


class PurchaseModel(models.TextChoices):
    BGNBD = "bgnbd", _("BG/NBD")
    PARETONBD = "paretonbd", _("Pareto/NBD")


class ScoringRun(models.Model):
    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    # One run per day of data: re-running a day rewrites that run's scores (idempotent).
    as_of = models.DateField(_("as of"), unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.STARTED
    )
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    n_customers = models.PositiveIntegerField(_("customers"), default=0)
    params = models.JSONField(_("model parameters"), default=dict)
    diagnostics = models.JSONField(_("diagnostics"), default=dict)
    # The purchase model the run's holdout back-test chose (analytics.purchase_models.PURCHASE_MODELS)
    # and the comparison it was chosen by: per model, its errors on the holdout period.
    purchase_model = models.CharField(
        _("purchase model"), max_length=16, choices=PurchaseModel.choices, blank=True
    )
    model_comparison = models.JSONField(_("purchase model comparison"), default=dict, blank=True)
    # The fitted churn model (a scikit-learn pipeline written by this app), used to rescore a
    # customer between runs.
    churn_model = models.BinaryField(_("churn model"), null=True, blank=True, editable=False)
    error = models.TextField(_("error"), blank=True)
    # The process running it (core.workers.worker_id): a run whose process is gone was abandoned.
    runner = models.CharField(_("run by"), max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-as_of"]
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")

    def __str__(self) -> str:
        return f"{self.as_of} ({self.get_status_display()})"

    @property
    def abandoned(self) -> bool:
        """Started, and the process running it has ended (killed): the next run of the day resumes it."""
        return self.status == self.Status.STARTED and bool(self.runner) and is_gone(self.runner)


class ScoreFields(models.Model):
    profit_12m = models.FloatField(_("profit, last 12 months"), null=True)
    value_class = models.CharField(
        _("value class"), max_length=16, choices=ValueClass.choices, blank=True
    )
    value_gap = models.FloatField(_("growth gap"), null=True)
    frequency = models.FloatField(_("repeat purchases"), null=True)
    recency = models.FloatField(_("recency (weeks)"), null=True)
    tenure = models.FloatField(_("tenure (weeks)"), null=True)
    monetary = models.FloatField(_("mean repeat spend"), null=True)
    p_alive = models.FloatField(_("P(alive)"), null=True)
    expected_purchases = models.FloatField(_("expected purchases, next 90 days"), null=True)
    clv = models.FloatField(_("predicted lifetime value"), null=True)
    r_score = models.PositiveSmallIntegerField(_("R"), null=True)
    f_score = models.PositiveSmallIntegerField(_("F"), null=True)
    m_score = models.PositiveSmallIntegerField(_("M"), null=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=30, blank=True)
    trend = models.CharField(_("purchase trend"), max_length=16, blank=True)
    churn_risk = models.FloatField(_("churn risk"), null=True)
    churn_reasons = models.JSONField(_("churn reasons"), default=list)
    move_down_prob = models.FloatField(_("P(moving down)"), null=True)
    recommendations = models.JSONField(_("recommended products"), default=list)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=(Q(p_alive__isnull=True) | Q(p_alive__gte=0, p_alive__lte=1))
                & (Q(churn_risk__isnull=True) | Q(churn_risk__gte=0, churn_risk__lte=1))
                & (Q(move_down_prob__isnull=True) | Q(move_down_prob__gte=0, move_down_prob__lte=1)),
                name="%(class)s_probabilities_0_to_1",
            ),
            models.CheckConstraint(
                condition=(Q(r_score__isnull=True) | Q(r_score__gte=1, r_score__lte=5))
                & (Q(f_score__isnull=True) | Q(f_score__gte=1, f_score__lte=5))
                & (Q(m_score__isnull=True) | Q(m_score__gte=1, m_score__lte=5)),
                name="%(class)s_rfm_1_to_5",
            ),
        ]


class CustomerScore(ScoreFields):
    # No single-column indexes on the two keys: the unique (run, customer) serves a run's rows
    # (write-back chunks, cascades from a run) and the (customer, run) index a customer's history
    # (360° page, cascades from a customer). Each extra index slowed every run's write-back.
    run = models.ForeignKey(
        ScoringRun, on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="score_history", db_index=False
    )

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        constraints = [
            *ScoreFields.Meta.constraints,
            models.UniqueConstraint(fields=["run", "customer"], name="score_unique_run_customer"),
        ]
        indexes = [models.Index(fields=["customer", "run"])]

    def __str__(self) -> str:
        return f"{self.customer_id} @ run {self.run_id}"


class CurrentScore(ScoreFields):
    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    # No index on run: no page or list asks for a run's current scores, and every run's
    # write-back paid for it on each row. Deleting a run (rare) scans the table to clear it.
    run = models.ForeignKey(
        ScoringRun, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("current score")
        verbose_name_plural = _("current scores")
        constraints = [*ScoreFields.Meta.constraints]
        indexes = [
            models.Index(fields=["value_class"]),
            models.Index(fields=["clv"]),
            models.Index(fields=["churn_risk"]),
            models.Index(fields=["p_alive"]),
            models.Index(fields=["move_down_prob"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.value_class}"


class DashboardFigures(models.Model):
    """The dashboards' figures over every customer, computed once at the end of a scoring run.

    Pages read this one row instead of aggregating a million scores per request. Counts are
    kept in forms that add up (histogram counts over shared bin edges, cohort sizes and active
    customers), so the figures of a subset are the sum of its ``DashboardSlice`` rows.
    """

    run = models.OneToOneField(ScoringRun, on_delete=models.CASCADE, related_name="dashboard")
    figures = models.JSONField(_("figures"), default=dict)

    class Meta:
        verbose_name = _("dashboard figures")
        verbose_name_plural = _("dashboard figures")

    def __str__(self) -> str:
        return f"dashboard @ run {self.run_id}"


class DashboardSlice(models.Model):
    """The same figures for the customers sharing one (owner, branch, region) at the run.

    Visibility is a condition on exactly these three columns, so a manager's or rep's figures
    are the sum of the slices ``customers.selectors.customer_scope`` selects (same field names).
    """

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="dashboard_slices")
    owner_id = models.BigIntegerField(null=True)
    branch_id = models.BigIntegerField(null=True)
    region_id = models.BigIntegerField(null=True)
    figures = models.JSONField(_("figures"), default=dict)

    class Meta:
        verbose_name = _("dashboard slice")
        verbose_name_plural = _("dashboard slices")
        indexes = [
            models.Index(fields=["run", "owner_id"]),
            models.Index(fields=["run", "branch_id"]),
        ]

    def __str__(self) -> str:
        return f"slice {self.owner_id}/{self.branch_id}/{self.region_id} @ run {self.run_id}"
