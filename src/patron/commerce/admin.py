from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from patron.commerce.currency import RateInput, check_base_currency, check_rate, rates_save
from patron.commerce.models import CostEvent, ExchangeRate, Order, OrderLine, Product

# Base-currency amounts are computed from a rate, never typed in.
CONVERSION = ("exchange_rate", "base_revenue", "base_cost_of_goods")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "list_price", "unit_cost", "currency", "is_active")
    list_filter = ("category", "is_active")
    search_fields = ("sku", "name", "external_id")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ("product",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("__str__", "customer", "channel", "ordered_at", "revenue", "currency", "base_revenue", "exchange_rate")
    list_filter = ("channel", "currency")
    search_fields = ("external_id", "customer__name")
    raw_id_fields = ("customer", "branch")
    readonly_fields = CONVERSION
    date_hierarchy = "ordered_at"
    inlines = [OrderLineInline]
    show_full_result_count = False


@admin.register(CostEvent)
class CostEventAdmin(admin.ModelAdmin):
    list_display = ("kind", "customer", "amount", "currency", "base_amount", "occurred_at")
    list_filter = ("kind", "currency")
    search_fields = ("external_id", "customer__name")
    raw_id_fields = ("customer",)
    readonly_fields = ("exchange_rate", "base_amount")
    show_full_result_count = False


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ("currency", "date", "rate", "source")

    def clean(self):
        data = super().clean()
        if data and not self.errors:
            try:
                check_rate(RateInput(data["currency"], data["date"], data["rate"], data.get("source") or ""),
                           check_base_currency())
            except ValidationError as exc:
                raise forms.ValidationError(exc.messages) from None
        return data


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates to the base currency. Saving one converts the orders and cost events waiting for it."""

    form = ExchangeRateForm
    list_display = ("currency", "date", "rate", "source", "updated_at")
    list_filter = ("currency",)
    search_fields = ("currency", "source")
    date_hierarchy = "date"
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        if change and form.initial and (form.initial["currency"], form.initial["date"]) != (obj.currency, obj.date):
            ExchangeRate.objects.filter(pk=obj.pk).delete()  # moved to another day: saved anew below
        saved = rates_save(rates=[RateInput(obj.currency, obj.date, obj.rate, obj.source)])[0].rate
        obj.pk = saved.pk
