from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "patron.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        # Receivers and tasks import models: only once the app registry is ready.
        from patron.commerce.signals import customers_changed
        from patron.insights.receivers import rescore_customers

        customers_changed.connect(rescore_customers, dispatch_uid="insights-rescore")

        # As above.
        from patron.core import scheduler
        from patron.insights.tasks import nightly_scoring

        scheduler.register(scheduler.PeriodicJob("nightly_scoring", nightly_scoring, scheduler.daily))
