"""Products, orders with lines on any channel, cost-to-serve events and exchange rates.

Orders and cost events keep their original currency and amounts and, beside them, the amounts
in the base currency at the rate of their date (``commerce.currency``). Totals, lists, sorting,
the analytics extract and every chart read the base amounts only.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from patron.core.choices import SalesChannel
from patron.core.models import (
    Branch,
    CurrencyField,
    ExternalIdField,
    MoneyField,
    RateField,
    TimeStampedModel,
    currency_validator,
)
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
        constraints = [
            models.CheckConstraint(
                condition=Q(list_price__gte=0, unit_cost__gte=0),
                name="product_prices_not_negative",
                violation_error_message=_("Prices and costs cannot be negative."),
            ),
        ]

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
    # Sums of the lines in the order's own currency, stored so lists and profit need no join.
    revenue = MoneyField(_("revenue"))
    cost_of_goods = MoneyField(_("cost of goods"))
    # The rate used (base units per unit of ``currency``; 1 in the base currency) and the sums in
    # the base currency. No rate means not converted (an order in another currency that was in
    # the database before rates existed): its base amounts stay 0 and it counts in no total
    # until ``patron rates convert`` finds a rate.
    exchange_rate = RateField(_("exchange rate"), null=True, blank=True)
    base_revenue = MoneyField(_("revenue in the base currency"))
    base_cost_of_goods = MoneyField(_("cost of goods in the base currency"))

    class Meta:
        ordering = ["-ordered_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["customer", "-ordered_at"]),
            models.Index(fields=["ordered_at"]),
            # The order list sorted by revenue (then id) stops after a page instead of sorting all.
            models.Index(fields=["base_revenue", "id"], name="commerce_order_base_revenue_id"),
            # The few orders waiting for a rate, found without reading the others.
            models.Index(fields=["currency"], condition=Q(exchange_rate__isnull=True), name="commerce_order_unconverted"),
        ]
        constraints = [
            models.CheckConstraint(
                # Null-safe: a CHECK whose condition is NULL passes.
                condition=Q(exchange_rate__isnull=False, exchange_rate__gt=0)
                | Q(exchange_rate__isnull=True, base_revenue=0, base_cost_of_goods=0),
                name="order_base_amounts_converted",
            ),
            # Returns are cost-to-serve events, not negative orders (docs/security.md).
            models.CheckConstraint(
                condition=Q(revenue__gte=0, cost_of_goods__gte=0),
                name="order_money_not_negative",
                violation_error_message=_("An order's revenue and cost of goods cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return self.external_id or f"#{self.pk}"

    @property
    def converted(self) -> bool:
        return self.exchange_rate is not None

    @property
    def margin(self):
        """In the base currency."""
        return self.base_revenue - self.base_cost_of_goods


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
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_unique_line_no"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="orderline_quantity_positive",
                violation_error_message=_("The quantity must be positive."),
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0, unit_cost__gte=0, amount__gte=0),
                name="orderline_money_not_negative",
                violation_error_message=_("Prices and costs cannot be negative."),
            ),
        ]

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
    # As on Order: the rate used and the amount in the base currency; no rate = not converted.
    exchange_rate = RateField(_("exchange rate"), null=True, blank=True)
    base_amount = MoneyField(_("amount in the base currency"))
    occurred_at = models.DateTimeField(_("occurred at"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("cost-to-serve event")
        verbose_name_plural = _("cost-to-serve events")
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            models.Index(
                fields=["currency"], condition=Q(exchange_rate__isnull=True), name="commerce_costevent_unconverted"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(exchange_rate__isnull=False, exchange_rate__gt=0)
                | Q(exchange_rate__isnull=True, base_amount=0),
                name="costevent_base_amount_converted",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="costevent_amount_not_negative",
                violation_error_message=_("A cost-to-serve amount cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"

    @property
    def converted(self) -> bool:
        return self.exchange_rate is not None


class ExchangeRate(TimeStampedModel):
    """How many units of the base currency one unit of ``currency`` was worth on ``date``."""

    currency = models.CharField(_("currency"), max_length=3, validators=[currency_validator])
    date = models.DateField(_("date"))
    rate = RateField(_("rate"))
    source = models.CharField(_("source"), max_length=100, blank=True)

    class Meta:
        ordering = ["currency", "-date"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            # Also the index of the lookup "latest rate of this currency on or before a day".
            models.UniqueConstraint(fields=["currency", "date"], name="exchangerate_one_per_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.date:%Y-%m-%d} {self.rate}"


class Ledger(models.Model):
    """The base currency the stored base amounts are in (one row).

    Written when the database is created; if ``PATRON_BASE_CURRENCY`` later names another
    currency while orders, cost events or rates exist, writes of money are refused rather than
    adding amounts of two currencies (``commerce.currency.check_base_currency``).
    """

    base_currency = models.CharField(_("base currency"), max_length=3, validators=[currency_validator])

    class Meta:
        verbose_name = _("ledger")
        verbose_name_plural = _("ledger")

    def __str__(self) -> str:
        return self.base_currency
