from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from patron.generator.models import GeneratedDataset


@admin.register(GeneratedDataset)
class GeneratedDatasetAdmin(admin.ModelAdmin):
    list_display = ("id", "seed", "customers", "status", "started_at", "finished_at")
    readonly_fields = ("seed", "customers", "truth", "started_at", "finished_at")

    @admin.display(description=_("status"))
    def status(self, obj: GeneratedDataset) -> str:
        # "running" also marks a data set whose generation was interrupted.
        return str((obj.truth or {}).get("status", ""))
