"""The sales cycle: leads (people or companies not yet customers), opportunities moving through the
stages of a pipeline, and the record of every stage change."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from patron.core.choices import SalesChannel
from patron.core.models import Branch, CurrencyField, ExternalIdField, Region, TimeStampedModel
from patron.customers.models import Customer

# The default pipeline's stages (the data migration 0002 creates them): key, outcome, the default
# probability of the naive stage-weighted forecast. Their names are translated from these labels
# unless a stage is given a name of its own.
DEFAULT_STAGE_NAMES = {
    "qualify": _("Qualify"),
    "meet": _("Meet"),
    "propose": _("Propose"),
    "negotiate": _("Negotiate"),
    "won": _("Closed won"),
    "lost": _("Closed lost"),
}
# (key, outcome, probability) of the default pipeline's stages, in order.
DEFAULT_STAGES = (
    ("qualify", "open", "0.10"),
    ("meet", "open", "0.25"),
    ("propose", "open", "0.50"),
    ("negotiate", "open", "0.75"),
    ("won", "won", "1.00"),
    ("lost", "lost", "0.00"),
)


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["-is_default", "name", "id"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="sales_one_default_pipeline"),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    class Outcome(models.TextChoices):
        OPEN = "open", _("In progress")
        WON = "won", _("Closed won")
        LOST = "lost", _("Closed lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline"))
    key = models.SlugField(_("key"), max_length=40)
    # Empty for the default stages: their translated default name is shown (``label``).
    name = models.CharField(_("name"), max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(_("position"))
    outcome = models.CharField(_("outcome"), max_length=4, choices=Outcome.choices, default=Outcome.OPEN)
    probability = models.DecimalField(
        _("default probability"), max_digits=3, decimal_places=2, default=0,
        help_text=_("The share of an opportunity's amount a naive stage-weighted forecast counts."),
    )

    class Meta:
        ordering = ["pipeline", "position", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "key"], name="sales_stage_key"),
            models.UniqueConstraint(fields=["pipeline", "position"], name="sales_stage_position"),
            models.CheckConstraint(condition=Q(probability__gte=0, probability__lte=1), name="sales_stage_probability"),
        ]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self) -> str:
        return self.name or str(DEFAULT_STAGE_NAMES.get(self.key, self.key))

    @property
    def is_closed(self) -> bool:
        return self.outcome != self.Outcome.OPEN


class Lead(TimeStampedModel):
    class Source(models.TextChoices):
        WEB = "web", _("Web")
        REFERRAL = "referral", _("Referral")
        EVENT = "event", _("Event")
        CAMPAIGN = "campaign", _("Campaign")
        COLD_CALL = "cold_call", _("Cold call")
        PARTNER = "partner", _("Partner")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("In progress")
        CONVERTED = "converted", _("Converted")
        DISQUALIFIED = "disqualified", _("Disqualified")

    external_id = ExternalIdField()
    name = models.CharField(_("name"), max_length=200)
    company = models.CharField(_("company"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    # In E.164 (customers/phones.py), its digits beside it for the search.
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    phone_digits = models.CharField(max_length=40, blank=True, editable=False, db_index=True, default="")
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.OTHER)
    channel = models.CharField(_("channel"), max_length=10, choices=SalesChannel.choices, blank=True)
    # Who sees the lead: the rule of customers (customers.selectors.customer_scope).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads",
        verbose_name=_("owner"),
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="leads", verbose_name=_("branch")
    )
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="leads", verbose_name=_("region")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    disqualify_reason = models.CharField(_("reason for disqualifying"), max_length=300, blank=True)
    converted_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="converted_leads",
        verbose_name=_("converted to customer"),
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["branch"]),
            models.Index(fields=["region"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name


class Opportunity(TimeStampedModel):
    external_id = ExternalIdField()
    # Exactly one of customer and lead: a deal with a customer, or with a lead not converted yet.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="opportunities",
        verbose_name=_("customer"),
    )
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="opportunities", verbose_name=_("lead")
    )
    name = models.CharField(_("name"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)
    currency = CurrencyField(_("currency"))
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities",
        verbose_name=_("owner"),
    )
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    won_reason = models.CharField(_("reason won"), max_length=300, blank=True)
    lost_reason = models.CharField(_("reason lost"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["expected_close", "id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.CheckConstraint(
                condition=(Q(customer__isnull=False) & Q(lead__isnull=True)) | (Q(customer__isnull=True) & Q(lead__isnull=False)),
                name="sales_opportunity_customer_or_lead",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_opportunity_amount"),
        ]
        indexes = [
            # The board: per stage, the cards in order of their expected close.
            models.Index(fields=["stage", "expected_close", "id"]),
            models.Index(fields=["owner", "stage"]),
            models.Index(fields=["expected_close"]),
        ]

    def __str__(self) -> str:
        return self.name


class StageChange(models.Model):
    """An opportunity's move from one stage to another (the first has no ``from_stage``)."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("opportunity")
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("from stage")
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("to stage"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["opportunity", "changed_at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [models.Index(fields=["opportunity", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage}"
