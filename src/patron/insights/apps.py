from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "patron.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        # Here, not at the top: these import models, which exist only once the apps are loaded.
        from patron.commerce.signals import customers_changed
        from patron.core import scheduler
        from patron.insights.receivers import rescore_customers
        from patron.insights.tasks import nightly_scoring, nps_figures_refresh

        customers_changed.connect(rescore_customers, dispatch_uid="insights-rescore")
        scheduler.register(scheduler.PeriodicJob("nightly_scoring", nightly_scoring, scheduler.daily))
        scheduler.register(
            scheduler.PeriodicJob("nps_figures_refresh", nps_figures_refresh, scheduler.every(minutes=10))
        )
