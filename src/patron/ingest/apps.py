from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IngestConfig(AppConfig):
    name = "patron.ingest"
    label = "ingest"
    verbose_name = _("Ingest")

    def ready(self) -> None:
        # Imported here, not at the top: models and tasks load only once the app registry is ready.
        from django.db.models.signals import post_delete, post_save

        # Patron's modules too: they import models.
        from patron.core import events, scheduler
        from patron.ingest import tasks, webhooks
        from patron.ingest.models import Webhook

        scheduler.register(scheduler.PeriodicJob("webhooks_sweep", tasks.webhooks_sweep, scheduler.every(minutes=10)))
        # Every write asks whether anyone listens; the answer is kept until a subscription changes.
        post_save.connect(webhooks.subscriptions_changed, sender=Webhook, dispatch_uid="ingest.webhook_saved")
        post_delete.connect(webhooks.subscriptions_changed, sender=Webhook, dispatch_uid="ingest.webhook_deleted")
        # The apps that write publish events without naming this one; each becomes a delivery per
        # subscribed webhook, recorded in the writer's transaction and sent after it commits.
        for event in webhooks.EVENTS:
            events.subscribe(event, webhooks.emit_many, listening=webhooks.listening)
