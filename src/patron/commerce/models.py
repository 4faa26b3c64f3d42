"""Products, orders with lines on any channel, and cost-to-serve events."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from patron.core.choices import SalesChannel
from patron.core.models import Branch, CurrencyField, ExternalIdField, MoneyField, TimeStampedModel
from patron.customers.models import Customer


class Product(TimeStampedModel):
    external_id = ExternalIdField()
    sku = models.CharField(_("SKU"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    list_price = MoneyField(_("list price"))
    unit_cost = MoneyField(_("unit cost"))
    currency = CurrencyField(_("currency"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class Order(TimeStampedModel):
    external_id = ExternalIdField()
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders", verbose_name=_("customer"))
    channel = models.CharField(_("channel"), max_length=10, choices=SalesChannel.choices)
    branch = models.ForeignKey(
        Branch, null=True, blank=True, on_delete=models.PROTECT, related_name="orders", verbose_name=_("branch")
    )
    ordered_at = models.DateTimeField(_("ordered at"))
    currency = CurrencyField(_("currency"))
    # Sums of the lines, stored so lists and profit need no join.
    revenue = MoneyField(_("revenue"))
    cost_of_goods = MoneyField(_("cost of goods"))

    class Meta:
        ordering = ["-ordered_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["customer", "-ordered_at"]),
            models.Index(fields=["ordered_at"]),
            # The order list sorted by revenue (then id) stops after a page instead of sorting all.
            models.Index(fields=["revenue", "id"], name="commerce_order_revenue_id"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"#{self.pk}"

    @property
    def margin(self):
        return self.revenue - self.cost_of_goods


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    line_no = models.PositiveIntegerField(_("line"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("product"))
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = MoneyField(_("unit price"))
    unit_cost = MoneyField(_("unit cost"))
    amount = MoneyField(_("amount"))

    class Meta:
        ordering = ["order", "line_no"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [models.UniqueConstraint(fields=["order", "line_no"], name="orderline_unique_line_no")]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_no}"


class CostEvent(TimeStampedModel):
    class Kind(models.TextChoices):
        SUPPORT_TICKET = "ticket", _("Support ticket")
        RETURN = "return", _("Return")
        DELIVERY = "delivery", _("Delivery")
        CLAIM = "claim", _("Claim")
        VISIT = "visit", _("Visit")

    external_id = ExternalIdField()
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="cost_events", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = MoneyField(_("amount"))
    currency = CurrencyField(_("currency"))
    occurred_at = models.DateTimeField(_("occurred at"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("cost-to-serve event")
        verbose_name_plural = _("cost-to-serve events")
        indexes = [models.Index(fields=["customer", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"
