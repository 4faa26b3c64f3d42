from django.contrib import admin

from patron.commerce.models import CostEvent, Order, OrderLine, Product


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
    list_display = ("__str__", "customer", "channel", "ordered_at", "revenue", "cost_of_goods", "currency")
    list_filter = ("channel",)
    search_fields = ("external_id", "customer__name")
    raw_id_fields = ("customer", "branch")
    date_hierarchy = "ordered_at"
    inlines = [OrderLineInline]
    show_full_result_count = False


@admin.register(CostEvent)
class CostEventAdmin(admin.ModelAdmin):
    list_display = ("kind", "customer", "amount", "currency", "occurred_at")
    list_filter = ("kind",)
    search_fields = ("external_id", "customer__name")
    raw_id_fields = ("customer",)
    show_full_result_count = False
