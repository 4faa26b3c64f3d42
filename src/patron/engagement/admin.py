from django.contrib import admin

from patron.engagement.models import Interaction, Task


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("subject", "customer", "channel", "direction", "occurred_at", "handled_by")
    list_filter = ("channel", "direction")
    search_fields = ("subject", "external_id", "customer__name")
    raw_id_fields = ("customer", "contact", "handled_by")
    show_full_result_count = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "customer", "assignee", "status", "due_at")
    list_filter = ("status",)
    search_fields = ("title", "external_id", "customer__name")
    raw_id_fields = ("customer", "assignee")
    show_full_result_count = False
