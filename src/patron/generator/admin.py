from django.contrib import admin

from patron.generator.models import GeneratedDataset


@admin.register(GeneratedDataset)
class GeneratedDatasetAdmin(admin.ModelAdmin):
    list_display = ("seed", "customers", "started_at", "finished_at")
    readonly_fields = ("seed", "customers", "truth", "started_at", "finished_at")
