from django.contrib import admin

from patron.insights.models import CurrentScore, ScoringRun


@admin.register(ScoringRun)
class ScoringRunAdmin(admin.ModelAdmin):
    list_display = ("as_of", "status", "n_customers", "purchase_model", "attempts", "started_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = ("as_of", "status", "n_customers", "attempts", "started_at", "finished_at", "purchase_model", "model_comparison", "params", "diagnostics", "error")
    exclude = ("churn_model",)


@admin.register(CurrentScore)
class CurrentScoreAdmin(admin.ModelAdmin):
    list_display = ("customer", "value_class", "clv", "p_alive", "churn_risk", "rfm_segment", "updated_at")
    list_filter = ("value_class", "rfm_segment", "trend")
    raw_id_fields = ("customer", "run")
    show_full_result_count = False
