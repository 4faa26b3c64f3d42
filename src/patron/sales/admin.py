from django.contrib import admin

from patron.sales.models import Lead, Opportunity, Pipeline, Stage


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default")
    inlines = [StageInline]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "source", "status", "owner", "created_at")
    list_filter = ("status", "source")
    search_fields = ("name", "company", "email", "external_id")
    raw_id_fields = ("owner", "converted_customer")
    show_full_result_count = False


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("name", "customer", "lead", "amount", "currency", "stage", "owner", "expected_close")
    list_filter = ("stage",)
    search_fields = ("name", "external_id", "customer__name", "lead__name")
    raw_id_fields = ("customer", "lead", "owner")
    # Stage moves go through the services (the board, the API), which record them.
    readonly_fields = ("pipeline", "stage", "closed_at")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
