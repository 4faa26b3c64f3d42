from django.contrib import admin

from patron.core.admin import AuditedAdmin
from patron.customers.models import Contact, Customer, Tag


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Customer)
class CustomerAdmin(AuditedAdmin):
    list_display = ("name", "kind", "owner", "branch", "stage", "is_key_account", "profit_total", "order_count")
    list_filter = ("kind", "stage", "is_key_account", "region", "branch")
    search_fields = ("name", "name_search", "email", "phone", "external_id")
    raw_id_fields = ("owner",)
    readonly_fields = (
        "revenue_total", "cogs_total", "cost_to_serve_total", "profit_total",
        "order_count", "first_order_at", "last_order_at",
    )
    filter_horizontal = ("tags",)
    inlines = [ContactInline]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(AuditedAdmin):
    list_display = ("name", "customer", "email", "phone", "is_primary")
    search_fields = ("name", "email", "phone", "external_id")
    raw_id_fields = ("customer",)
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)
