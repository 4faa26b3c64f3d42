from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IngestConfig(AppConfig):
    name = "patron.ingest"
    label = "ingest"
    verbose_name = _("Ingest")

    def ready(self) -> None:
        from patron.core import scheduler
        from patron.ingest import tasks

        scheduler.register(scheduler.PeriodicJob("webhooks_sweep", tasks.webhooks_sweep, scheduler.every(minutes=10)))
