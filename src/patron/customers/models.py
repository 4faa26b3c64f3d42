"""Customers (people or companies), their contacts and tags.

A customer carries running totals (revenue, cost of goods, cost to serve, profit, orders)
that the commerce services update in the same transaction as each order or cost event, so
pages and lists show current figures without a batch job.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from patron.core.choices import SalesChannel
from patron.core.models import (
    Branch,
    CurrencyField,
    ExternalIdField,
    MoneyField,
    Region,
    TimeStampedModel,
)


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Customer(TimeStampedModel):
    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        COMPANY = "company", _("Company")

    class Stage(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        ACTIVE = "active", _("Active")
        AT_RISK = "at_risk", _("At risk")
        LAPSED = "lapsed", _("Lapsed")
        LOST = "lost", _("Lost")

    external_id = ExternalIdField()
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(_("name"), max_length=200)
    # Full pinyin and initials of a Chinese name ("zhang wei zw"), kept for search.
    name_search = models.CharField(_("search key"), max_length=400, blank=True, editable=False)
    email = models.EmailField(_("email"), blank=True)
    # In E.164 ("+8616613207659", customers/phones.py); its digits without the "+" beside it for
    # the search (from the start) and the duplicate check. db_default: bulk writers that omit it insert.
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    phone_digits = models.CharField(max_length=40, blank=True, editable=False, db_index=True, default="", db_default="")
    # The name as the duplicate check compares it (customers/duplicates.py: name_key).
    name_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True, default="", db_default="")
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        verbose_name=_("owner"),
    )
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="customers", verbose_name=_("branch")
    )
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="customers", verbose_name=_("region")
    )
    stage = models.CharField(_("lifecycle stage"), max_length=10, choices=Stage.choices, default=Stage.ACTIVE)
    acquired_on = models.DateField(_("acquisition date"), null=True, blank=True)
    acquisition_channel = models.CharField(
        _("acquisition channel"), max_length=10, choices=SalesChannel.choices, blank=True
    )
    acquisition_cost = MoneyField(_("acquisition cost"))
    is_key_account = models.BooleanField(_("key account"), default=False)
    consent_email = models.BooleanField(_("consents to email"), default=False)
    consent_survey = models.BooleanField(_("consents to surveys"), default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    currency = CurrencyField(_("currency"))
    # Set by ``patron privacy erase``: personal fields anonymised, never contacted again.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    # Running totals, maintained by commerce.services in the writing transaction.
    revenue_total = MoneyField(_("revenue to date"))
    cogs_total = MoneyField(_("cost of goods to date"))
    cost_to_serve_total = MoneyField(_("cost to serve to date"))
    profit_total = MoneyField(_("profit to date"))
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "name"]),
            models.Index(fields=["branch"]),
            models.Index(fields=["region"]),
            models.Index(fields=["profit_total"]),
            # Owner-scoped "below zero" and "by profit" blocks of the homes walk this, not the
            # whole profit index (a manager who owns few customers would scan most of it).
            models.Index(fields=["owner", "profit_total"], name="customers_owner_profit"),
            # The cohort filter behind the dashboards' retention heatmap.
            models.Index(fields=["first_order_at"], name="customers_first_order"),
            models.Index(fields=["last_order_at"]),
            models.Index(fields=["name_search"]),
            # The list's default order (name, then id) for roles that see every customer.
            models.Index(fields=["name", "id"], name="customers_name_id"),
            # The duplicate check finds a customer's twins by email, whatever its case.
            models.Index(Lower("email"), name="customers_email_lower"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(acquisition_cost__gte=0),
                name="customer_acquisition_cost_not_negative",
                violation_error_message=_("The acquisition cost cannot be negative."),
            ),
            # Sums of orders and cost events, none of which is negative (profit may be).
            models.CheckConstraint(
                condition=Q(revenue_total__gte=0, cogs_total__gte=0, cost_to_serve_total__gte=0),
                name="customer_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(first_order_at__isnull=True)
                | Q(last_order_at__isnull=True)
                | Q(first_order_at__lte=F("last_order_at")),
                name="customer_first_order_not_after_last",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customer-detail", args=[self.pk])


class Contact(TimeStampedModel):
    external_id = ExternalIdField()
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer"))
    name = models.CharField(_("name"), max_length=200)
    # Like Customer.name_search; db_default so bulk writers that omit it still insert.
    name_search = models.CharField(_("search key"), max_length=400, blank=True, editable=False, db_default="")
    title = models.CharField(_("job title"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)  # E.164, like Customer.phone
    phone_digits = models.CharField(max_length=40, blank=True, editable=False, db_index=True, default="", db_default="")
    is_primary = models.BooleanField(_("primary contact"), default=False)
    consent_email = models.BooleanField(_("consents to email"), default=False)
    consent_survey = models.BooleanField(_("consents to surveys"), default=False)

    class Meta:
        ordering = ["-is_primary", "name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name


class PossibleDuplicate(models.Model):
    """Two customers that share an email, a phone number or a normalised name.

    Stored once per pair with ``customer_id < other_id``; dismissing a pair keeps it from
    being flagged again. Flagged by every write of a customer (customers/duplicates.py); the
    table keeps the name it had in the imports app, where the pairs were first flagged.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DISMISSED = "dismissed", _("Not a duplicate")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    other = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("other customer"))
    reasons = models.JSONField(_("shared"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("flagged"), auto_now_add=True)

    class Meta:
        db_table = "imports_possibleduplicate"
        ordering = ["-created_at", "-id"]
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(fields=["customer", "other"], name="possibleduplicate_unique_pair"),
            models.CheckConstraint(condition=Q(customer__lt=F("other")), name="possibleduplicate_ordered_pair"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="imports_pos_status_ea0750_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} ~ {self.other_id}"
